"""Running a GANTrainer to the end of its schedule: logging, sample grids and checkpoints on the way.

Every process steps; what is written, and where, is the `writer`'s business (the main process's; the
others have none). An interrupted run (Ctrl-C) saves a checkpoint before it stops; a non-finite loss
stops the run and leaves the last checkpoint as it was.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import torch

from singan.device import synchronize
from singan.errors import GANNonFiniteLossError
from singan.events import CheckpointSaved, EventHandler, GANProgress, ignore
from singan.images import image_grid
from singan.seeds import make_generator
from singan.training.distributed import any_process
from singan.training.gan import GANTrainer

SNAPSHOT_IMAGES = 32
# The first checkpoint is written early (the default interval is 10k images) so that a run killed in its
# first minutes resumes instead of starting again.
FIRST_CHECKPOINT_IMAGES = 1000


class RunWriter(Protocol):
    """Where a session's output goes: the run directory of the main process."""

    def log(self, entry: dict) -> None: ...

    def snapshot(self, grid: torch.Tensor, images_seen: int) -> None: ...

    def checkpoint(self, tensors: dict[str, torch.Tensor], state: dict, images_seen: int, seconds: float) -> str:
        """Save, and return where the checkpoint went."""


@contextlib.contextmanager
def deferred_interrupts():
    """Within the block, Ctrl-C (SIGINT) sets the yielded event instead of raising, so that a training step
    is never cut in half and the checkpoint saved on the way out is consistent; a second Ctrl-C raises at
    once. Outside the main thread (where signals cannot be handled) nothing changes."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def handle(signal_number, frame):
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Window:
    """Losses summed since the last log line, and when that was."""

    started: float = field(default_factory=time.perf_counter)
    images: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # the lazy regularisers report on some steps only

    def add(self, losses: dict[str, float], images: int) -> None:
        self.images += images
        for name, value in losses.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + 1

    def means(self) -> dict[str, float]:
        return {name: total / self.counts[name] for name, total in self.sums.items()}


class TrainingSession:
    """Steps a trainer to `total_images`, reporting to `handle` and writing through `writer` at the configured
    intervals. `seconds` is the training time of earlier sessions of the run; `writer` None writes nothing."""

    def __init__(self, trainer: GANTrainer, total_images: int, writer: RunWriter | None, *, seconds: float = 0.0,
                 handle: EventHandler = ignore):
        self.trainer, self.total_images, self.writer, self.handle = trainer, total_images, writer, handle
        self.config = trainer.config
        self.seconds = seconds
        self.saved_images: int | None = trainer.images_seen if trainer.images_seen else None
        self.snapshot_latents = torch.randn(SNAPSHOT_IMAGES, self.config.z_dim, device=trainer.device,
                                            generator=make_generator(trainer.device, self.config.seed or 0))

    def run(self) -> None:
        """Train to the end; Ctrl-C finishes the current step, saves a checkpoint and raises KeyboardInterrupt."""
        trainer = self.trainer
        marks = {name: self._next_mark(name) for name in ("log", "snapshot", "checkpoint")}
        window, started = _Window(), time.perf_counter() - self.seconds
        with deferred_interrupts() as interrupted:
            while trainer.images_seen < self.total_images:
                losses = trainer.step()
                self._check_finite(losses)
                window.add(losses, self.config.batch)
                self.seconds = time.perf_counter() - started
                try:
                    marks, window = self._periodic(marks, window)
                except KeyboardInterrupt:  # from an event handler, between two steps: the state is whole
                    self.save()
                    raise
                if any_process(interrupted.is_set(), trainer.world, trainer.device):
                    self.save()
                    raise KeyboardInterrupt
        self.snapshot()
        self.save()

    def _periodic(self, marks: dict[str, int], window: _Window) -> tuple[dict[str, int], _Window]:
        seen = self.trainer.images_seen
        done = seen >= self.total_images
        if seen >= marks["log"] or done:
            self.log(window)
            window, marks["log"] = _Window(), self._next_mark("log")
        if seen >= marks["snapshot"] and not done:
            self.snapshot()
            marks["snapshot"] = self._next_mark("snapshot")
        if seen >= marks["checkpoint"] and not done:
            self.save()
            marks["checkpoint"] = self._next_mark("checkpoint")
        return marks, window

    def _next_mark(self, name: str) -> int:
        """The next multiple of the interval (in images) after the images seen so far; the first checkpoint
        comes after FIRST_CHECKPOINT_IMAGES at the latest, so that a short run can be resumed."""
        interval = max(1, round(getattr(self.config, f"{name}_kimg") * 1000))
        mark = (self.trainer.images_seen // interval + 1) * interval
        if name == "checkpoint" and self.trainer.images_seen < FIRST_CHECKPOINT_IMAGES:
            return min(mark, FIRST_CHECKPOINT_IMAGES)
        return mark

    def _check_finite(self, losses: dict[str, float]) -> None:
        if not all(math.isfinite(value) for value in losses.values()):
            raise GANNonFiniteLossError(self.trainer.images_seen, losses, self.saved_images)

    def log(self, window: _Window) -> None:
        synchronize(self.trainer.device)
        seconds = time.perf_counter() - window.started
        stage = self.trainer.stage
        per_kimg = seconds / (window.images / 1000) if window.images else None
        event = GANProgress(self.trainer.images_seen, self.total_images, stage.resolution, stage.alpha,
                            window.means(), per_kimg)
        if self.writer is not None:
            self.writer.log({"images_seen": event.images_seen, "kimg": event.images_seen / 1000,
                             "resolution": event.resolution, "alpha": round(event.alpha, 6), "losses": event.losses,
                             "seconds_per_kimg": event.seconds_per_kimg, "seconds": round(self.seconds, 3)})
            self.handle(event)

    @torch.no_grad()
    def snapshot(self) -> None:
        """A grid of the moving-average generator's images of fixed latents, at the current stage."""
        if self.writer is None:
            return
        stage, generator = self.trainer.stage, self.trainer.generator_ema
        ws = generator.map(self.snapshot_latents)
        resolution = stage.resolution if self.trainer.objective.progressive else None
        images = generator.synthesize(ws, resolution=resolution, alpha=stage.alpha,
                                      generator=make_generator(self.trainer.device, 0))
        self.writer.snapshot(image_grid(images.clamp(-1, 1).cpu()), self.trainer.images_seen)

    def save(self) -> None:
        """A resumable checkpoint of the trainer (main process only)."""
        if self.writer is None:
            return
        path = self.writer.checkpoint(self.trainer.state_tensors(), self.trainer.state_record(),
                                      self.trainer.images_seen, self.seconds)
        self.saved_images = self.trainer.images_seen
        self.handle(CheckpointSaved(self.trainer.images_seen, str(path)))
