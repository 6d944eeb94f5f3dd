"""Rich progress bars for training events."""

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


class EventDisplay:
    """Renders events on a Rich progress display: each event type goes to the `_on_<EventName>` method."""

    def __init__(self, quiet: bool, description_width: int = 0):
        self.quiet = quiet
        self.progress = Progress(
            TextColumn(f"{{task.description:<{description_width}}}"), BarColumn(bar_width=30), TaskProgressColumn(),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), TextColumn("{task.fields[detail]}"),
            console=console, disable=quiet)

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


class TrainingDisplay(EventDisplay):
    """Renders training events as Rich progress bars: the whole run (weighted by arithmetic) and the scale."""

    def __init__(self, quiet: bool):
        super().__init__(quiet, description_width=11)
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


