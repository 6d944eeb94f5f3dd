"""Rich progress bars for training events, and plain progress lines where there is no terminal."""

import time
from datetime import datetime

from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from singan.cli.app import console, duration
from singan.events import (
    IterationFinished,
    Notice,
    ScaleFinished,
    ScaleStarted,
    TrainingFinished,
    TrainingStarted,
)

_LOSS_LABELS = {"critic": "D", "gradient_penalty": "GP", "adversarial": "G adv", "reconstruction": "rec"}


LOG_SECONDS = 30.0


class EventDisplay:
    """Renders events on a Rich progress display: each event type goes to the `_on_<EventName>` method.

    Rich draws the bars on a terminal and in notebooks. Elsewhere (output to a log file, `nohup`, a job
    scheduler) the bars never show, so every `log_seconds` one plain line says what they would: each bar's
    name, percentage, elapsed and remaining time and its detail (scale or kimg, iteration, losses).
    """

    def __init__(self, quiet: bool, description_width: int = 0, log_seconds: float = LOG_SECONDS):
        self.quiet = quiet
        self.progress = Progress(
            TextColumn(f"{{task.description:<{description_width}}}"), BarColumn(bar_width=30), TaskProgressColumn(),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), TextColumn("{task.fields[detail]}"),
            console=console, disable=quiet)
        self.plain = not (console.is_terminal or console.is_jupyter)
        self.log_seconds = log_seconds
        self.last_line = time.monotonic()

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
        if self.plain and time.monotonic() - self.last_line >= self.log_seconds:
            self.print_plain_line()

    def print_plain_line(self) -> None:
        """The bars' state as one line of text (the first one after log_seconds, not at once, so that short
        commands print only their own lines)."""
        tasks = [task for task in self.progress.tasks if task.total]
        if not tasks:
            return
        self.last_line = time.monotonic()
        parts = []
        for task in tasks:
            left = "-" if task.time_remaining is None else duration(task.time_remaining)
            detail = f" {task.fields['detail']}" if task.fields.get("detail") else ""
            parts.append(f"{task.description.strip()} {task.percentage:.0f}% elapsed {duration(task.elapsed or 0)} "
                         f"left {left}{detail}")
        self.progress.console.print(escape(f"{datetime.now():%H:%M:%S} " + " | ".join(parts)), highlight=False,
                                    soft_wrap=True)

    def _on_Notice(self, event: Notice) -> None:
        self.progress.console.print(f"[yellow]{escape(event.message)}[/]", highlight=False)


class TrainingDisplay(EventDisplay):
    """Renders training events as Rich progress bars: the whole run (weighted by arithmetic) and the scale."""

    def __init__(self, quiet: bool, log_seconds: float = LOG_SECONDS):
        super().__init__(quiet, description_width=11, log_seconds=log_seconds)
        self.overall = self.scale_task = None
        self.losses = ""
        self.weights: tuple[int, ...] = ()  # how far one iteration moves the whole-run bar, per scale

    def _on_TrainingStarted(self, event: TrainingStarted) -> None:
        # The whole-run bar moves by arithmetic done, so its time-left estimate holds across scales.
        self.weights = tuple(max(1, round(flops / 1e6)) for flops in event.iteration_flops)
        where = f"from scale {event.first_scale} " if event.first_scale else ""
        self.progress.console.print(
            f"Training {event.num_scales} scales {where}on {event.device}, seed {event.seed}", highlight=False)
        if event.estimated_seconds is not None:
            self.progress.console.print(f"Estimated training time: about {duration(event.estimated_seconds)}",
                                        highlight=False)
        total = sum(iterations * weight for iterations, weight in
                    zip(event.iterations[event.first_scale:], self.weights[event.first_scale:]))
        self.overall = self.progress.add_task("all scales", total=total, detail="")

    def _on_ScaleStarted(self, event: ScaleStarted) -> None:
        if self.scale_task is not None:
            self.progress.remove_task(self.scale_task)
        self.scale_task = self.progress.add_task(f"scale {event.scale}/{event.num_scales - 1}",
                                                 total=event.iterations, detail="")
        size = f"{event.size[1]}x{event.size[0]} px, {event.channels} channels"
        if self.overall is not None:  # None when a task trains a single scale
            self.progress.update(self.overall, detail=f"scale {event.scale} of 0-{event.num_scales - 1}: {size}")
        self.losses = ""

    def _on_IterationFinished(self, event: IterationFinished) -> None:
        if event.losses:
            self.losses = " ".join(f"{_LOSS_LABELS.get(key, key)} {value:.3g}" for key, value in event.losses.items())
        self.progress.update(self.scale_task, advance=1,
                             detail=f"{event.iteration}/{event.iterations}  {self.losses}")
        if self.overall is not None:
            self.progress.advance(self.overall, self.weights[event.scale])

    def _on_ScaleFinished(self, event: ScaleFinished) -> None:
        self.progress.console.print(
            f"scale {event.scale}/{event.num_scales - 1} done in {duration(event.seconds)}, "
            f"noise amplitude {event.noise_amplitude:.4g}", highlight=False)

    def _on_TrainingFinished(self, event: TrainingFinished) -> None:
        self.progress.console.print(f"Training finished in {duration(event.seconds)}", highlight=False)


