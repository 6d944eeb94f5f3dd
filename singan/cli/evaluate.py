"""`singan eval`: quality figures of a trained run, as a table and RUN/eval.json."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from singan import api
from singan.cli.app import app, console, notify, reporting_errors
from singan.cli.options import (DeviceOption, InceptionWeightsOption, LayoutScaleOption, MaxPixelsOption, QuietOption,
                                RunArgument)
from singan.errors import ConfigError, RunError
from singan.events import ignore
from singan.images import DEFAULT_MAX_PIXELS
from tasks.singan.evaluate import NUM_SAMPLES

# The paper's figure for samples from the coarsest scale on Places images.
PAPER_DIVERSITY = 0.5


def evaluate(
    run: RunArgument,
    num: Annotated[Optional[int], typer.Option(
        "--num", "-n", help="samples to draw (seeds SEED .. SEED+N-1; default: 50, or for a GAN run as many as "
        "its data folder holds, at most 10000)", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="first sample seed; also seeds the random patch draws")] = 0,
    start_scale: LayoutScaleOption = 0,
    inception_weights: InceptionWeightsOption = None,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
):
    """Measure a run: patch SWD against the training image (with its noise floor), diversity, and SIFID; a GAN
    run as `singan gan eval` does, against the folder it was trained on."""
    directory = api.find_run(run)
    if api.open_run(directory).family == "gan":
        return _evaluate_gan(directory, num, seed, start_scale, inception_weights, device, quiet, max_pixels)
    loaded = api.load_run(directory, device=device)
    evaluation, path = api.evaluate_run(loaded, NUM_SAMPLES if num is None else num, seed, start_scale,
                                        inception_weights, on_event=ignore if quiet else notify)
    if not quiet:
        console.print(singan_evaluation_table(evaluation))
        console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)


def _evaluate_gan(directory: Path, num, seed: int, start_scale: int, inception_weights, device: str,
                  quiet: bool, max_pixels: int) -> None:
    if start_scale:
        raise ConfigError("--start-scale is for SinGAN runs; a GAN run has no scales")
    loaded = api.gan.load_gan_run(directory, device=device)
    if not hasattr(loaded.record, "data"):
        raise RunError(f"{directory} is an imported network with no training folder; evaluate it against a folder "
                       f"of images with: singan gan eval {directory} FOLDER")
    data = Path(loaded.record.data["path"])
    if not data.is_dir():
        raise RunError(f"{directory} was trained on {data}, which is not there; evaluate it against a folder of "
                       f"images with: singan gan eval {directory} FOLDER")
    evaluation, path = api.gan.evaluate_run(loaded, data, num=num, seed=seed, inception_weights=inception_weights,
                                            max_pixels=max_pixels)
    if not quiet:
        console.print(gan_evaluation_table(evaluation))
        console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)


def singan_evaluation_table(evaluation) -> Table:
    table = Table("metric", "value", "floor / note", title=f"{evaluation.num} samples from scale "
                  f"{evaluation.start_scale}, seeds {evaluation.seed}..{evaluation.seed + evaluation.num - 1}")
    swd = evaluation.swd
    for index, (value, floor, size) in enumerate(zip(swd.levels, swd.floor_levels, swd.level_sizes)):
        table.add_row(f"SWD level {index} ({size[1]}x{size[0]})", f"{value:.1f}", _versus_floor(value, floor))
    table.add_row("SWD average (x1000)", f"{swd.average:.1f}", _versus_floor(swd.average, swd.floor))
    reconstruction = evaluation.reconstruction_swd
    table.add_row("SWD of the reconstruction", f"{reconstruction.average:.1f}",
                  _versus_floor(reconstruction.average, reconstruction.floor))
    table.add_row("diversity", f"{evaluation.diversity:.3f}",
                  f"0 for copies; the paper: about {PAPER_DIVERSITY} from scale 0")
    if evaluation.sifid is None:
        table.add_row("SIFID", "skipped", "needs --inception-weights PATH")
    else:
        table.add_row("SIFID", f"{evaluation.sifid:.4g}", f"mean over {evaluation.num} samples")
    return table


def gan_evaluation_table(evaluation) -> Table:
    swd = evaluation.swd
    table = Table("metric", "value", "real-vs-real floor", title=f"{evaluation.num_generated} generated against "
                  f"{evaluation.num_real} real images (SWD: {evaluation.swd_images} a side)")
    for index, (value, floor, size) in enumerate(zip(swd.levels, swd.floor_levels, swd.level_sizes)):
        table.add_row(f"SWD level {index} ({size[1]} px)", f"{value:.1f}", f"{floor:.1f}")
    table.add_row("SWD average (x1000)", f"{swd.average:.1f}", f"{swd.floor:.1f} ({swd.ratio:.2f}x)")
    table.add_row("FID", "-" if evaluation.fid is None else f"{evaluation.fid:.2f}",
                  "" if evaluation.fid is not None else "needs --inception-weights")
    return table


def _versus_floor(value: float, floor: float) -> str:
    if floor > 0:
        return f"floor {floor:.1f} ({value / floor:.2f} x floor)"
    return "floor 0 (a flat image)"


# The command is `eval`; the function is not named so, as it would shadow the builtin.
app.command("eval")(reporting_errors(evaluate))
