"""`singan gan ...`: multi-image GANs (PGGAN, StyleGAN, StyleGAN2) trained on a folder of images."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from singan import api
from singan.api import gan as gan_api
from singan.api import gan_import as import_api
from singan.cli.app import app, console, report_interruption, reporting_errors
from singan.cli.display import LOG_SECONDS, EventDisplay
from singan.cli.evaluate import gan_evaluation_table
from singan.cli.runs import print_summary
from singan.cli.options import (DeviceOption, ForceOption, InceptionWeightsOption, LogSecondsOption, MaxPixelsOption,
                                QuietOption, RunsOutOption, StrictOption)
from singan.cli.train import config_options
from singan.config.gan import GANConfig
from singan.errors import RunError
from singan.images import DEFAULT_MAX_PIXELS
from singan.ranges import parse_seeds
from singan.runs.gan import run_directory
from singan.training.architectures import paper_sizes
from tasks.gan.draws import check_choices

gan_app = typer.Typer(help="Multi-image GANs (PGGAN, StyleGAN, StyleGAN2): train on a folder of images, or import "
                           "a published network, then generate, interpolate, mix styles and evaluate.",
                      no_args_is_help=True)
app.add_typer(gan_app, name="gan")

GANRunArgument = Annotated[str, typer.Argument(
    help="a GAN run directory or run name under Output/, or a StyleGAN / StyleGAN2 file of another project "
    "(NVlabs .pkl / .pkl.xz / .pkl.gz, stylegan2-ada-pytorch .pkl, rosinality .pt), converted in memory",
    show_default=False)]
_DEFAULTS = GANConfig()
_LOSS_LABELS = {"critic": "D", "generator": "G", "gradient_penalty": "GP", "r1": "R1", "path_length": "PL"}


def _default_text(name: str) -> str:
    """"default: X", or nothing where the help text already says what None means."""
    value = getattr(_DEFAULTS, name)
    return "" if value is None else f"default: {value}"


@gan_app.command("train")
@reporting_errors
@config_options(GANConfig, _default_text, skip=("image_channels",))
def train(
    data: Annotated[Path, typer.Argument(help="a folder of images (searched recursively; any size, PNG, JPEG, BMP, "
                                         "TIFF, WebP; RGB, grayscale or RGBA)", show_default=False)],
    out: RunsOutOption = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: FOLDER-ARCH-RESOLUTION)",
                                                show_default=False)] = None,
    paper_sizes_: Annotated[bool, typer.Option("--paper-sizes", help="the papers' network sizes (z and w 512, up "
                                               "to 512 channels) instead of the small CPU defaults")] = False,
    strict: StrictOption = False,
    device: DeviceOption = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="continue the run from its last checkpoint "
                                         "(--kimg may be raised)")] = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
    log_seconds: LogSecondsOption = LOG_SECONDS,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    **settings,
):
    """Train a GAN on a folder of images; checkpoints, sample grids and log.jsonl go to the run directory.

    Several processes: torchrun --nproc_per_node N -m singan gan train DATA ... (the batch is split)."""
    given = {key: value for key, value in settings.items() if value is not None}
    config = GANConfig().replace(**given)
    if paper_sizes_:
        config = config.replace(**{**paper_sizes(config.arch), **given})
    display = GANTrainingDisplay(quiet, log_seconds)
    try:
        with display:
            directory = gan_api.train_gan(data, config, out=out, name=name, device=device, resume=resume,
                                          force=force, strict=strict, changes=given, on_event=display,
                                          max_pixels=max_pixels)
    except KeyboardInterrupt:
        _report_interruption(run_directory(data, config, out, name))
        raise typer.Exit(130) from None
    if not quiet:
        console.print(f"Saved to [bold]{escape(str(directory))}[/]. Try: singan gan generate "
                      f"{escape(str(directory))} --seeds 0-15 --grid", highlight=False)


def _report_interruption(directory: Path) -> None:
    report_interruption(directory, "gan", lambda record: f"a checkpoint at {record.images_seen} images")


TruncationOption = Annotated[float, typer.Option("--trunc", help="truncation psi: 1 = none, 0.7 as the papers' "
                                                 "figures (stylegan, stylegan2)")]
OutOption = Annotated[Optional[Path], typer.Option(help="folder for the outputs (default: a folder in the run; "
                                                   "for a file, Output/NAME-TASK)", show_default=False)]
NoiseOption = Annotated[Optional[str], typer.Option(
    "--noise", help="noise inputs: const (the network's stored noise; for networks trained here one fixed draw), "
    "random (new per seed) or none (default: const for imported networks, random for trained ones)",
    show_default=False)]
SeedCompatOption = Annotated[Optional[str], typer.Option(
    "--seed-compat", help="how a seed draws z: nvlabs (numpy RandomState(seed).randn, as NVlabs' scripts: seed N "
    "gives their image N) or singan (default: nvlabs for imported networks, singan for trained ones)",
    show_default=False)]
ClassOption = Annotated[Optional[int], typer.Option("--class", help="the class of a conditional network",
                                                    show_default=False)]


def _load(run: str, device: str, seed_compat: str | None, noise: str | None, label: int | None):
    """The network of a task and its draws (the options checked first: reading a network takes seconds)."""
    check_choices(seed_compat, noise)
    loaded = gan_api.load_gan_run(api.find_run(run), device=device)
    return loaded, gan_api.draws_for(loaded, seed_compat, noise, label)


@gan_app.command()
@reporting_errors
def generate(
    run: GANRunArgument,
    seeds: Annotated[str, typer.Option(help="seeds such as 0-15 or 3,7,11: one image per seed")] = "0-15",
    trunc: TruncationOption = 1.0,
    grid: Annotated[bool, typer.Option("--grid", help="also write grid.png of all the images")] = False,
    noise: NoiseOption = None,
    seed_compat: SeedCompatOption = None,
    label: ClassOption = None,
    out: OutOption = None,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
):
    """Images from a GAN: RUN/generated/seed0007.png per seed (a trained run's moving-average generator, an
    imported network, or another project's file)."""
    seed_list = parse_seeds(seeds)
    loaded, draws = _load(run, device, seed_compat, noise, label)
    paths = gan_api.generate_run(loaded, seed_list, truncation=trunc, grid=grid, out=out, draws=draws)
    _report(paths, quiet)


@gan_app.command()
@reporting_errors
def interpolate(
    run: GANRunArgument,
    seeds: Annotated[str, typer.Option(help="the latents to pass through, in order, such as 3,7,11")] = "0-3",
    frames: Annotated[int, typer.Option(help="frames of the whole loop")] = 60,
    fps: Annotated[float, typer.Option(help="frames per second")] = 30.0,
    space: Annotated[Optional[str], typer.Option(help="z (spherical interpolation) or w (linear; default where the "
                                                 "architecture has w)", show_default=False)] = None,
    trunc: TruncationOption = 1.0,
    mp4: Annotated[Optional[bool], typer.Option("--mp4/--no-mp4", help="also write an MP4 (default: when "
                                                "imageio-ffmpeg is installed)", show_default=False)] = None,
    noise: NoiseOption = None,
    seed_compat: SeedCompatOption = None,
    label: ClassOption = None,
    out: OutOption = None,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
):
    """A looping interpolation video through the seeds' latents: RUN/interpolate/interpolate.gif (and .mp4)."""
    seed_list = parse_seeds(seeds)
    loaded, draws = _load(run, device, seed_compat, noise, label)
    paths = gan_api.interpolate_run(loaded, seed_list, frames=frames, fps=fps, space=space,
                                    truncation=trunc, mp4=mp4, out=out, draws=draws)
    _report(paths, quiet)


@gan_app.command()
@reporting_errors
def mix(
    run: GANRunArgument,
    rows: Annotated[str, typer.Option(help="seeds of the rows (source A: the layers not chosen)")] = "1,2,3",
    cols: Annotated[str, typer.Option(help="seeds of the columns (source B: the chosen layers)")] = "4,5",
    layers: Annotated[str, typer.Option(help="style layers taken from the columns: a range such as 0-3, or coarse "
                                        "(4-8 px), middle (16-32 px), fine (64 px and up)")] = "coarse",
    trunc: TruncationOption = 1.0,
    noise: NoiseOption = None,
    seed_compat: SeedCompatOption = None,
    label: ClassOption = None,
    out: OutOption = None,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
):
    """The style-mixing grid (stylegan, stylegan2): RUN/mix/mix.png."""
    row_seeds, column_seeds = parse_seeds(rows, "--rows"), parse_seeds(cols, "--cols")
    loaded, draws = _load(run, device, seed_compat, noise, label)
    path = gan_api.mix_run(loaded, row_seeds, column_seeds, layers, truncation=trunc, out=out, draws=draws)
    _report([path], quiet)


@gan_app.command("eval")
@reporting_errors
def evaluate(
    run: GANRunArgument,
    data: Annotated[Path, typer.Argument(help="the folder of real images to compare with", show_default=False)],
    num: Annotated[Optional[int], typer.Option("--num", "-n", help="images to generate (default: as many as the "
                                               "folder holds, at most 10000)", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="first seed of the generated images; also seeds the patch draws")] = 0,
    trunc: TruncationOption = 1.0,
    inception_weights: InceptionWeightsOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="stop at the first unreadable image")] = False,
    noise: NoiseOption = None,
    seed_compat: SeedCompatOption = None,
    label: ClassOption = None,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
):
    """Sliced Wasserstein distance (PGGAN's recipe) against the data, beside the real-vs-real floor; FID with
    --inception-weights. Writes RUN/eval.json (for a file, Output/NAME-eval/eval.json)."""
    loaded, draws = _load(run, device, seed_compat, noise, label)
    evaluation, path = gan_api.evaluate_run(loaded, data, num=num, seed=seed, truncation=trunc,
                                            inception_weights=inception_weights, strict=strict,
                                            max_pixels=max_pixels, draws=draws)
    if not quiet:
        console.print(gan_evaluation_table(evaluation))
        console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)


@gan_app.command("import")
@reporting_errors
def import_(
    file: Annotated[Path, typer.Argument(help="a StyleGAN / StyleGAN2 file: NVlabs TF .pkl (.pkl.xz, .pkl.gz), "
                                         "stylegan2-ada-pytorch .pkl or rosinality .pt", show_default=False)],
    out: RunsOutOption = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: the file's name without its suffix)",
                                                show_default=False)] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
):
    """Convert a published network into a run directory (run.json + safetensors) that every `singan gan`
    command takes. No code from the file runs: it is read by singan's restricted reader."""
    directory = import_api.import_network(file, out=out, name=name, force=force)
    if not quiet:
        console.print(f"Imported [bold]{escape(str(file))}[/] to [bold]{escape(str(directory))}[/]. Try: singan gan "
                      f"generate {escape(str(directory))} --seeds 0-7 --trunc 0.7 --grid", highlight=False)


@gan_app.command()
@reporting_errors
def info(
    run: GANRunArgument,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
):
    """Describe a GAN run, an imported network, or another project's file (converted in memory)."""
    family, summary = api.describe_run(api.find_run(run))
    if family != "gan":
        raise RunError(f"{run} is not a GAN run; use singan info on it")
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        print_summary(summary)


def _report(paths: list[Path], quiet: bool) -> None:
    if not quiet:
        console.print(f"Wrote {len(paths)} file(s) to [bold]{escape(str(paths[0].parent))}[/]", highlight=False)


class GANTrainingDisplay(EventDisplay):
    """A Rich progress bar over the images to show, with the stage, losses and speed."""

    def __init__(self, quiet: bool, log_seconds: float = LOG_SECONDS):
        super().__init__(quiet, log_seconds=log_seconds)
        self.task = None

    def _on_GANTrainingStarted(self, event) -> None:
        where = f" from {event.images_seen / 1000:g} kimg" if event.images_seen else ""
        processes = f" x {event.processes} processes" if event.processes > 1 else ""
        skipped = f" ({event.skipped_files} unreadable skipped)" if event.skipped_files else ""
        self.progress.console.print(
            f"Training {event.arch} at {event.resolution} px on {event.data_images} images{skipped}, "
            f"{event.total_images / 1000:g} kimg{where}, on {event.device}{processes}", highlight=False)
        self.task = self.progress.add_task("kimg", total=event.total_images / 1000,
                                           completed=event.images_seen / 1000, detail="")

    def _on_GANProgress(self, event) -> None:
        losses = " ".join(f"{_LOSS_LABELS[name]} {value:.3g}" for name, value in event.losses.items()
                          if name in _LOSS_LABELS)
        stage = f"{event.resolution} px" + (f" fading {event.alpha:.2f}" if event.alpha < 1 else "")
        speed = f"{event.seconds_per_kimg:.1f} s/kimg" if event.seconds_per_kimg else ""
        self.progress.update(self.task, completed=event.images_seen / 1000, detail=f"{stage}  {speed}  {losses}")
