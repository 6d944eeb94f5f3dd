"""`singan eval`: quality figures of a trained run, as a table and RUN/eval.json."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from singan import api
from singan.cli.app import app, console, notify, reporting_errors
from singan.cli.options import DeviceOption, LayoutScaleOption, QuietOption, RunArgument
from singan.events import ignore

# The paper's figure for samples from the coarsest scale on Places images.
PAPER_DIVERSITY = 0.5


def evaluate(
    run: RunArgument,
    num: Annotated[int, typer.Option("--num", "-n", help="samples to draw (seeds SEED .. SEED+N-1)")] = 50,
    seed: Annotated[int, typer.Option(help="first sample seed; also seeds the random patch draws")] = 0,
    start_scale: LayoutScaleOption = 0,
    inception_weights: Annotated[Optional[Path], typer.Option(
        help="the FID Inception-v3 weights file (pt_inception-2015-12-05-6726825d.pth or .safetensors) for "
        "SIFID; never downloaded", show_default=False)] = None,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
):
    """Measure a run: patch SWD against the training image (with its noise floor), diversity, and SIFID."""
    loaded = api.load_run(api.find_run(run), device=device)
    evaluation, path = api.evaluate_run(loaded, num, seed, start_scale, inception_weights,
                                        on_event=ignore if quiet else notify)
    if not quiet:
        console.print(_table(evaluation))
        console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)


def _table(evaluation) -> Table:
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


def _versus_floor(value: float, floor: float) -> str:
    if floor > 0:
        return f"floor {floor:.1f} ({value / floor:.2f} x floor)"
    return "floor 0 (a flat image)"


# The command is `eval`; the function is not named so, as it would shadow the builtin.
app.command("eval")(reporting_errors(evaluate))
