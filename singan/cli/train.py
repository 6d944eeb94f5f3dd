"""`singan train` and `singan sr`: the commands that train, with one option per training setting."""

import dataclasses
import functools
import inspect
import typing
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from singan import api
from singan.cli.app import app, console, errors, reporting_errors
from singan.cli.display import LOG_SECONDS, TrainingDisplay
from singan.cli.options import DeviceOption, ForceOption, LogSecondsOption, MaxPixelsOption, RunsOutOption
from singan.config.settings import flag
from singan.config.singan import DEFAULT_PRESET, PRESET_DESCRIPTIONS, PRESETS, TrainConfig
from singan.config.singan import preset as preset_config
from singan.errors import ConfigError, SinGANError
from singan.images import DEFAULT_MAX_PIXELS

# Super-resolution is the paper's algorithm on a pyramid of its own; the fast recipe is not tuned for it.
SUPER_RESOLUTION_PRESET = "paper"


def config_options(config_class, describe_default, skip: tuple[str, ...] = (), panel: str = "Training settings"):
    """A decorator adding one --option per field of the `config_class` dataclass, generated from it so they never
    drift apart. They reach the command as keyword arguments, None where the user gave nothing.
    `describe_default(name)` says what the default is, for the help text."""

    def decorate(command):
        hints = typing.get_type_hints(config_class)
        own = typing.get_type_hints(command, include_extras=True)
        parameters = [parameter.replace(annotation=own[parameter.name])
                      for parameter in inspect.signature(command).parameters.values()
                      if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
        for item in dataclasses.fields(config_class):
            if item.name not in skip:
                parameters.append(_option_parameter(item, hints[item.name], describe_default, panel))

        @functools.wraps(command)
        def wrapper(**kwargs):
            return command(**kwargs)

        wrapper.__signature__ = inspect.Signature(parameters)
        wrapper.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        return wrapper

    return decorate


def _option_parameter(item, hint, describe_default, panel: str) -> inspect.Parameter:
    kind = next((kind for kind in (bool, float, str) if hint is kind or hint == kind | None), int)
    names = [f"{flag(item.name)}/--no-{flag(item.name)[2:]}"] if kind is bool else [flag(item.name)]
    default = describe_default(item.name)
    option = typer.Option(*names, help=item.metadata["help"] + (f" ({default})" if default else ""),
                          rich_help_panel=panel, show_default=False)
    return inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[kind], option])


def _preset_values(name: str) -> str:
    values = {preset: getattr(config, name) for preset, config in PRESETS.items()}
    if len(set(values.values())) == 1:
        return f"default: {next(iter(values.values()))}"
    return ", ".join(f"{preset}: {value}" for preset, value in values.items())


with_config_options = config_options(TrainConfig, _preset_values, panel="Training settings (override the preset)")


@app.command()
@reporting_errors
@with_config_options
def train(
    image: Annotated[Path, typer.Argument(help="the training image (PNG, JPEG, BMP, TIFF, WebP)", show_default=False)],
    preset: Annotated[Optional[str], typer.Option(
        help="settings to start from: " + "; ".join(f"{name}: {text}" for name, text in PRESET_DESCRIPTIONS.items())
        + f" (default: {DEFAULT_PRESET})", show_default=False)] = None,
    out: RunsOutOption = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: the image's file name without extension)",
                                                show_default=False)] = None,
    device: DeviceOption = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="continue an interrupted run from its first unfinished scale")] = False,
    force: ForceOption = False,
    estimate: Annotated[Optional[bool], typer.Option(
        "--estimate/--no-estimate", help="print a time estimate first (default: on a CPU, for long runs)",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or messages")] = False,
    log_seconds: LogSecondsOption = LOG_SECONDS,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    **settings,
):
    """Train a SinGAN on one image; the run is saved to Output/<image name>/ after every scale."""
    given = {key: value for key, value in settings.items() if value is not None}
    api.check_resume_or_force(resume, force)
    # With nothing to resume, --resume starts the run, with the settings given.
    if resume and (given or preset is not None) and api.has_run(api.run_directory(image, out, name)):
        options = [flag(key) for key in given] + (["--preset"] if preset is not None else [])
        raise ConfigError(f"--resume continues with the settings saved in run.json; leave out {', '.join(options)}")
    config = preset_config(preset or DEFAULT_PRESET).replace(**given)
    display = TrainingDisplay(quiet, log_seconds)
    try:
        with display:
            directory = api.train_run(image, config, out=out, name=name, device=device, resume=resume,
                                      force=force, estimate=estimate, on_event=display, max_pixels=max_pixels)
    except KeyboardInterrupt:
        _report_interruption(api.run_directory(image, out, name), image)
        raise typer.Exit(130) from None
    if not quiet:
        console.print(f"Saved to [bold]{escape(str(directory))}[/]. Try: singan sample {escape(str(directory))}",
                      highlight=False)


def _report_interruption(directory: Path, image: Path) -> None:
    try:
        summary = api.run_summary(directory)
        saved = f"{summary['trained_scales']} of {summary['num_scales']} scales are saved in {directory}"
    except SinGANError:
        saved = "nothing was saved"
    errors.print(escape(f"interrupted: {saved}; continue with: {api.resume_command(directory, image)}"),
                 highlight=False, soft_wrap=True)




@app.command()
@reporting_errors
@with_config_options
def sr(
    source: Annotated[Path, typer.Argument(help="a low-resolution image (a run is trained for it, or reused), or a "
                                           "trained run (a directory, or a name under Output/)", show_default=False)],
    factor: Annotated[float, typer.Option(help="upscaling factor, from 1 to 16 (2, 4 and 8 as the paper)")] = 4.0,
    preset: Annotated[Optional[str], typer.Option(
        help=f"settings the super-resolution ones go on top of (default: {SUPER_RESOLUTION_PRESET})",
        show_default=False)] = None,
    out: RunsOutOption = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: the image's name + _sr)",
                                                show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(help="folder for the upscaled images (default: RUN/sr)",
                                                   show_default=False)] = None,
    noise_seed: Annotated[int, typer.Option(help="random seed of the upscaling's noise")] = 0,
    back_projection: Annotated[int, typer.Option(
        help="rounds of back-projection after every step, 0 to 10 (0: none, as the paper; 1 or more keeps the "
             "result consistent with the input: higher PSNR, no drift)")] = 0,
    device: DeviceOption = "auto",
    force: Annotated[bool, typer.Option("--force", help="retrain the super-resolution run of the same name")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or messages")] = False,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    **settings,
):
    """Super-resolution: upscale step by step (x1.26 each) with the finest generator of a run trained for it
    (reconstruction weight 100); writes the result and a bicubic upscale beside it."""
    given = {key: value for key, value in settings.items() if value is not None}
    display = TrainingDisplay(quiet)
    with display:
        paths = api.super_resolve_run(api.find_run(source), factor, preset_config(preset or SUPER_RESOLUTION_PRESET),
                                      settings=given, out=out, name=name, device=device, force=force,
                                      seed=noise_seed, output=output, back_projection=back_projection,
                                      on_event=display, max_pixels=max_pixels)
    if not quiet:
        for path in paths:
            console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False)
