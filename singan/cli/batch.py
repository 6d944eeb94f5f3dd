"""`singan batch`: SinGAN on many images, one run each, with a summary table at the end."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from singan.api import batch as batch_api
from singan.cli.app import app, console, duration, errors, reporting_errors
from singan.cli.display import LOG_SECONDS, TrainingDisplay
from singan.cli.options import DeviceOption, LogSecondsOption, MaxPixelsOption, RunsOutOption
from singan.cli.train import with_config_options
from singan.config.singan import DEFAULT_PRESET, PRESET_DESCRIPTIONS
from singan.config.singan import preset as preset_config
from singan.images import DEFAULT_MAX_PIXELS

_STATUS_STYLES = {"trained": "green", "resumed": "green", "skipped": "dim", "failed": "red"}


@app.command()
@reporting_errors
@with_config_options
def batch(
    inputs: Annotated[list[str], typer.Argument(help="images, folders (searched recursively) or glob patterns "
                                                "such as 'photos/**/*.jpg'", show_default=False)],
    preset: Annotated[Optional[str], typer.Option(
        help="settings to start from: " + "; ".join(f"{name}: {text}" for name, text in PRESET_DESCRIPTIONS.items())
        + f" (default: {DEFAULT_PRESET})", show_default=False)] = None,
    then: Annotated[Optional[str], typer.Option(
        help=f"tasks on each finished run, comma-separated: {', '.join(batch_api.THEN_TASKS)}",
        show_default=False)] = None,
    out: RunsOutOption = None,
    device: DeviceOption = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars; the summary table only")] = False,
    jobs_per_device: Annotated[int, typer.Option(
        help="images trained at once on each device, each by its own process (a single SinGAN leaves a large GPU "
             "mostly idle at its coarse scales); progress is then one line per image", min=1)] = 1,
    log_seconds: LogSecondsOption = LOG_SECONDS,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    **settings,
):
    """Train a SinGAN on each image into Output/<name>/: complete runs are skipped, incomplete ones resumed, a
    failing image is reported and the batch goes on. Output/batch.json records every image's state.

    Several processes (GPUs, machines): torchrun --nproc_per_node N -m singan batch INPUTS ... (each takes its
    share of the images, on the GPU of its local rank); --jobs-per-device K trains K images at once on each."""
    given = {key: value for key, value in settings.items() if value is not None}
    config = preset_config(preset or DEFAULT_PRESET).replace(**given)
    tasks = [task.strip() for task in (then or "").split(",") if task.strip()]
    display = BatchDisplay(quiet, log_seconds)
    try:
        with display:
            result = batch_api.run_batch(inputs, config, out=out, device=device, then=tasks, on_event=display,
                                         max_pixels=max_pixels, jobs_per_device=jobs_per_device)
    except KeyboardInterrupt:
        errors.print("interrupted: finished images are saved, and the current one up to its last scale; run the "
                     "same command again to go on", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    if result.main:
        console.print(summary_table(result))
        console.print(f"Manifest: [bold]{escape(str(result.manifest))}[/]", highlight=False, soft_wrap=True)
        if result.report is not None:
            console.print(f"Report: [bold]{escape(str(result.report))}[/]", highlight=False, soft_wrap=True)
    if result.failed:
        raise typer.Exit(1)


def summary_table(result: batch_api.BatchResult) -> Table:
    table = Table("image", "run", "status", "scales", "time", "error")
    for item in result.items:
        style = _STATUS_STYLES.get(item.status, "")
        scales = "-" if item.scales is None else f"{item.scales[0]}/{item.scales[1]}"
        minutes = "-" if item.minutes is None else duration(item.minutes * 60)
        table.add_row(escape(Path(item.image).name), escape(item.run), f"[{style}]{item.status}[/]" if style else
                      item.status, scales, minutes, escape(item.error or ""))
    return table


class BatchDisplay(TrainingDisplay):
    """The training bars of each image in turn, under a line per image."""

    def _on_BatchImageStarted(self, event) -> None:
        for task in list(self.progress.task_ids):
            self.progress.remove_task(task)
        self.overall = self.scale_task = None
        verb = {"train": "training", "resume": "resuming", "skip": "complete, skipping"}[event.action]
        self.progress.console.print(f"[bold][{event.index}/{event.count}][/] {escape(event.image)} -> "
                                    f"{escape(event.run_dir)}: {verb}", highlight=False)

    def _on_BatchImageFinished(self, event) -> None:
        if event.status == "failed":
            self.progress.console.print(f"[red][{event.index}/{event.count}] {escape(event.image)} failed:[/] "
                                        f"{escape(event.error or '')}", highlight=False)
        else:
            self.progress.console.print(f"[dim][{event.index}/{event.count}] {escape(event.image)}: {event.status} "
                                        f"in {duration(event.minutes * 60)}[/]", highlight=False)
