"""`singan report RUN|FOLDER`: a self-contained HTML page of a run, or an index of a folder of runs."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from singan.api.report import write_report
from singan.cli.app import app, console, notify, reporting_errors
from singan.cli.options import QuietOption
from singan.events import ignore


@app.command()
@reporting_errors
def report(
    target: Annotated[str, typer.Argument(help="a run directory (any kind), a run name under Output/, or a folder "
                                          "of runs such as a batch's --out", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(help="the page to write (default: RUN/report.html or "
                                                "FOLDER/report.html); only a report page is ever replaced",
                                                show_default=False)] = None,
    device: Annotated[str, typer.Option(help="where the pages' images are computed: cpu, auto, cuda, cuda:N or "
                                        "mps")] = "cpu",
    quiet: QuietOption = False,
):
    """Write one HTML page of a run (no network needed to view it): a SinGAN run's scales with their real image,
    sample, reconstruction and losses, samples and eval figures; a GAN run's snapshots and losses; for a folder,
    an index of its runs (status, figures, a link to each run's own page, written too)."""
    path = write_report(target, out=out, device=device, on_event=ignore if quiet else notify)
    if not quiet:
        console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)
