"""The `singan` command: thin Typer commands over singan.api; the only module that uses Typer or Rich."""

import dataclasses
import functools
import inspect
import json
import re
import typing
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from singan import api
from singan.config import PRESET_DESCRIPTIONS, PRESETS, TrainConfig, flag, preset as preset_config
from singan.errors import ConfigError, SinGANError
from singan.events import (
    IterationFinished,
    Notice,
    ScaleFinished,
    ScaleStarted,
    TrainingFinished,
    TrainingStarted,
)

DEFAULT_PRESET = "paper"

app = typer.Typer(
    help="SinGAN: learn a generative model from a single image, then sample from it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def main() -> None:
    app(prog_name="singan")


def _reporting_errors(command):
    """Bad input becomes one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SinGANError as error:
            errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _with_config_options(command):
    """One --option per TrainConfig field, generated from the dataclass so they never drift apart.

    They reach `command` as keyword arguments, None where the user gave nothing.
    """
    hints = typing.get_type_hints(TrainConfig)
    own = typing.get_type_hints(command, include_extras=True)
    parameters = [parameter.replace(annotation=own[parameter.name])
                  for parameter in inspect.signature(command).parameters.values()
                  if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
    for item in dataclasses.fields(TrainConfig):
        kind = float if hints[item.name] is float else int
        option = typer.Option(flag(item.name), help=f"{item.metadata['help']} ({_preset_values(item.name)})",
                              rich_help_panel="Training settings (override the preset)", show_default=False)
        parameters.append(inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Annotated[Optional[kind], option]))

    @functools.wraps(command)
    def wrapper(**kwargs):
        return command(**kwargs)

    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return wrapper


def _preset_values(name: str) -> str:
    values = {preset: getattr(config, name) for preset, config in PRESETS.items()}
    if len(set(values.values())) == 1:
        return f"default: {next(iter(values.values()))}"
    return ", ".join(f"{preset}: {value}" for preset, value in values.items())


@app.command()
@_reporting_errors
@_with_config_options
def train(
    image: Annotated[Path, typer.Argument(help="the training image (PNG, JPEG, BMP, TIFF, WebP)", show_default=False)],
    preset: Annotated[Optional[str], typer.Option(
        help="settings to start from: " + "; ".join(f"{name}: {text}" for name, text in PRESET_DESCRIPTIONS.items())
        + f" (default: {DEFAULT_PRESET})", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(help="folder that holds runs (default: Output)",
                                                show_default=False)] = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: the image's file name without extension)",
                                                show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps")] = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="continue an interrupted run from its first unfinished scale")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace an existing run of the same name")] = False,
    estimate: Annotated[Optional[bool], typer.Option(
        "--estimate/--no-estimate", help="print a time estimate first (default: on a CPU, for long runs)",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or messages")] = False,
    **settings,
):
    """Train a SinGAN on one image; the run is saved to Output/<image name>/ after every scale."""
    given = {key: value for key, value in settings.items() if value is not None}
    if resume and (given or preset is not None):
        options = [flag(key) for key in given] + (["--preset"] if preset is not None else [])
        raise ConfigError(f"--resume continues with the settings saved in run.json; leave out {', '.join(options)}")
    config = None if resume else preset_config(preset or DEFAULT_PRESET).replace(**given)
    display = TrainingDisplay(quiet)
    try:
        with display:
            directory = api.train_run(image, config, out=out, name=name, device=device, resume=resume,
                                      force=force, estimate=estimate, on_event=display)
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


_LOSS_LABELS = {"critic": "D", "gradient_penalty": "GP", "adversarial": "G adv", "reconstruction": "rec"}


class TrainingDisplay:
    """Renders training events as Rich progress bars: the whole run (weighted by arithmetic) and the scale."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("{task.description:<11}"), BarColumn(bar_width=30), TaskProgressColumn(), TimeElapsedColumn(),
            TextColumn("left"), TimeRemainingColumn(), TextColumn("{task.fields[detail]}"), console=console,
            disable=quiet)
        self.overall = self.scale_task = None
        self.losses = ""
        self.weights: tuple[int, ...] = ()  # how far one iteration moves the whole-run bar, per scale

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exception):
        self.progress.stop()

    def __call__(self, event) -> None:
        if self.quiet:
            return
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    def _on_Notice(self, event: Notice) -> None:
        self.progress.console.print(f"[yellow]{escape(event.message)}[/]", highlight=False)

    def _on_TrainingStarted(self, event: TrainingStarted) -> None:
        # The whole-run bar moves by arithmetic done, so its time-left estimate holds across scales.
        self.weights = tuple(max(1, round(flops / 1e6)) for flops in event.iteration_flops)
        where = f"from scale {event.first_scale} " if event.first_scale else ""
        self.progress.console.print(
            f"Training {event.num_scales} scales {where}on {event.device}, seed {event.seed}", highlight=False)
        if event.estimated_seconds is not None:
            self.progress.console.print(f"Estimated training time: about {_duration(event.estimated_seconds)}",
                                        highlight=False)
        total = event.iterations * sum(self.weights[event.first_scale:])
        self.overall = self.progress.add_task("all scales", total=total, detail="")

    def _on_ScaleStarted(self, event: ScaleStarted) -> None:
        if self.scale_task is not None:
            self.progress.remove_task(self.scale_task)
        self.scale_task = self.progress.add_task(f"scale {event.scale}/{event.num_scales - 1}",
                                                 total=event.iterations, detail="")
        size = f"{event.size[1]}x{event.size[0]} px, {event.channels} channels"
        self.progress.update(self.overall, detail=f"scale {event.scale} of 0-{event.num_scales - 1}: {size}")
        self.losses = ""

    def _on_IterationFinished(self, event: IterationFinished) -> None:
        if event.losses:
            self.losses = " ".join(f"{_LOSS_LABELS.get(key, key)} {value:.3g}" for key, value in event.losses.items())
        self.progress.update(self.scale_task, advance=1,
                             detail=f"{event.iteration}/{event.iterations}  {self.losses}")
        self.progress.advance(self.overall, self.weights[event.scale])

    def _on_ScaleFinished(self, event: ScaleFinished) -> None:
        self.progress.console.print(
            f"scale {event.scale}/{event.num_scales - 1} done in {_duration(event.seconds)}, "
            f"noise amplitude {event.noise_amplitude:.4g}", highlight=False)

    def _on_TrainingFinished(self, event: TrainingFinished) -> None:
        self.progress.console.print(f"Training finished in {_duration(event.seconds)}", highlight=False)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@app.command()
@_reporting_errors
def sample(
    run: Annotated[str, typer.Argument(help="a run directory, or a run name under Output/", show_default=False)],
    num: Annotated[Optional[int], typer.Option("--num", "-n", help="samples with seeds 0 .. N-1 (default: 10)",
                                               show_default=False)] = None,
    seeds: Annotated[Optional[str], typer.Option(help="seeds such as 0-9,12 (instead of --num)",
                                                 show_default=False)] = None,
    start_scale: Annotated[int, typer.Option(help="scales below this one keep the training image's layout")] = 0,
    scale_h: Annotated[float, typer.Option(help="width factor: stretch every scale's noise horizontally")] = 1.0,
    scale_v: Annotated[float, typer.Option(help="height factor: stretch every scale's noise vertically")] = 1.0,
    out: Annotated[Optional[Path], typer.Option(help="folder for the PNGs (default: RUN/samples/start<k>...)",
                                                show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps")] = "auto",
    batch: Annotated[Optional[int], typer.Option(help="samples generated at once (default: by image size)",
                                                 show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print nothing on success")] = False,
):
    """Random samples from a trained run: one PNG per seed (seed0007.png)."""
    chosen = _choose_seeds(num, seeds)
    loaded = api.load_run(api.find_run(run), device=device)
    paths = api.sample_run(loaded, chosen, start_scale=start_scale, scale_h=scale_h, scale_v=scale_v, out=out,
                           batch_size=batch)
    if not quiet:
        console.print(f"Wrote {len(paths)} sample(s) to [bold]{escape(str(paths[0].parent))}[/]", highlight=False)


def _choose_seeds(num: int | None, seeds: str | None) -> list[int]:
    if num is not None and seeds is not None:
        raise ConfigError("give --num or --seeds, not both")
    if seeds is not None:
        return parse_seeds(seeds)
    count = 10 if num is None else num
    if count < 1:
        raise ConfigError(f"--num must be a positive integer (got {count})")
    return list(range(count))


_SEED_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str) -> list[int]:
    """'0-9,12' -> [0, 1, ..., 9, 12]; duplicates are dropped, order kept."""
    seeds: list[int] = []
    for part in text.split(","):
        match = _SEED_PART.match(part)
        if match is None:
            raise ConfigError(f"--seeds {text!r}: expected non-negative seeds and ranges such as 0-9,12")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last >= 2**63:
            raise ConfigError(f"--seeds {text!r}: seeds must be below 2**63")
        if last < first or last - first > 100_000:
            raise ConfigError(f"--seeds {text!r}: the range {part.strip()} is reversed or too long")
        seeds.extend(seed for seed in range(first, last + 1) if seed not in seeds)
    return seeds


@app.command()
@_reporting_errors
def info(
    run: Annotated[str, typer.Argument(help="a run directory, or a run name under Output/", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
):
    """Describe a run: status, scales, sizes, widths, noise amplitudes, training time, device."""
    summary = api.run_summary(api.find_run(run))
    if as_json:
        console.print_json(json.dumps(summary))
        return
    status = "complete" if summary["complete"] else f"incomplete: {summary['trained_scales']} of {summary['num_scales']} scales"
    height, width = summary["image_size"]
    console.print(f"[bold]{escape(summary['directory'])}[/] ({status})", highlight=False)
    console.print(f"image     {escape(summary['image'])} ({width}x{height} px, "
                  f"{'grayscale' if summary['channels'] == 1 else 'RGB'})", highlight=False)
    console.print(f"trained   {_duration(summary['seconds'])} on {summary['device']}, seed {summary['seed']}, "
                  f"{summary['created']}", highlight=False)
    console.print(f"pyramid   {summary['num_scales']} scales, factor {summary['scale_factor']:.4f}", highlight=False)
    versions = summary["versions"]
    console.print(f"versions  run format {versions['format']}, singan {versions['singan']}, torch {versions['torch']}",
                  highlight=False)
    table = Table("scale", "size (H x W)", "channels", "noise amp", "seconds")
    for scale in summary["scales"]:
        table.add_row(str(scale["scale"]), f"{scale['size'][0]} x {scale['size'][1]}", str(scale["channels"]),
                      "-" if scale["noise_amp"] is None else f"{scale['noise_amp']:.4g}",
                      "-" if scale["seconds"] is None else f"{scale['seconds']:.1f}")
    console.print(table)
