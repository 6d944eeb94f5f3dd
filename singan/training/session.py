"""Running a trainer to the end of its schedule: logging, sample grids and checkpoints on the way. The
multi-image GANs' trainer (singan.training.gan) and the ESRGAN family's (singan.training.esrgan) both run
here; each counts its progress in its own unit (images shown for the GANs, iterations for ESRGAN) and says
what a log line, a snapshot and a non-finite loss are (`SessionTrainer`).

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
from singan.errors import SinGANError
from singan.events import CheckpointSaved, Event, EventHandler, ignore
from singan.training.distributed import World, any_process


class SessionTrainer(Protocol):
    """What a session needs of a trainer. `count` is its progress (images shown, or iterations);
    intervals are in the same unit."""

    count: int
    world: World
    device: torch.device
    first_checkpoint: int  # the first checkpoint comes at this count at the latest, so a short run resumes

    def step(self) -> dict[str, float]: ...

    def interval(self, name: str) -> int:
        """How often to "log", "snapshot" and "checkpoint", in counts."""

    def progress(self, total: int, losses: dict[str, float], seconds: float, counted: int) -> tuple[Event, dict]:
        """The event and log.jsonl entry of a log point: `losses` averaged over the `counted` units of the
        last `seconds`."""

    def snapshot_grid(self) -> torch.Tensor:
        """An image grid of what the networks make now."""

    def nonfinite_error(self, losses: dict[str, float], saved: int | None) -> SinGANError: ...

    def state_tensors(self) -> dict[str, torch.Tensor]: ...

    def state_record(self) -> dict: ...


class RunWriter(Protocol):
    """Where a session's output goes: the run directory of the main process."""

    def log(self, entry: dict) -> None: ...

    def snapshot(self, grid: torch.Tensor, count: int) -> None: ...

    def checkpoint(self, tensors: dict[str, torch.Tensor], state: dict, count: int, seconds: float) -> str:
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
    counted: int = 0  # images or iterations
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # the lazy regularisers report on some steps only

    def add(self, losses: dict[str, float], counted: int) -> None:
        self.counted += counted
        for name, value in losses.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + 1

    def means(self) -> dict[str, float]:
        return {name: total / self.counts[name] for name, total in self.sums.items()}


class TrainingSession:
    """Steps a trainer to `total` (in its unit), reporting to `handle` and writing through `writer` at the
    trainer's intervals. `seconds` is the training time of earlier sessions of the run; `writer` None writes
    nothing."""

    def __init__(self, trainer: SessionTrainer, total: int, writer: RunWriter | None, *, seconds: float = 0.0,
                 handle: EventHandler = ignore):
        self.trainer, self.total, self.writer, self.handle = trainer, total, writer, handle
        self.seconds = seconds
        self.saved: int | None = trainer.count if trainer.count else None

    def run(self) -> None:
        """Train to the end; Ctrl-C finishes the current step, saves a checkpoint and raises KeyboardInterrupt."""
        trainer = self.trainer
        marks = {name: self._next_mark(name) for name in ("log", "snapshot", "checkpoint")}
        window, started = _Window(), time.perf_counter() - self.seconds
        with deferred_interrupts() as interrupted:
            while trainer.count < self.total:
                before = trainer.count
                losses = trainer.step()
                self._check_finite(losses)
                window.add(losses, trainer.count - before)
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
        count = self.trainer.count
        done = count >= self.total
        if count >= marks["log"] or done:
            self.log(window)
            window, marks["log"] = _Window(), self._next_mark("log")
        if count >= marks["snapshot"] and not done:
            self.snapshot()
            marks["snapshot"] = self._next_mark("snapshot")
        if count >= marks["checkpoint"] and not done:
            self.save()
            marks["checkpoint"] = self._next_mark("checkpoint")
        return marks, window

    def _next_mark(self, name: str) -> int:
        """The next multiple of the interval after the count so far; the first checkpoint comes at the
        trainer's `first_checkpoint` at the latest, so that a short run can be resumed."""
        interval = max(1, self.trainer.interval(name))
        mark = (self.trainer.count // interval + 1) * interval
        if name == "checkpoint" and self.trainer.count < self.trainer.first_checkpoint:
            return min(mark, self.trainer.first_checkpoint)
        return mark

    def _check_finite(self, losses: dict[str, float]) -> None:
        if not all(math.isfinite(value) for value in losses.values()):
            raise self.trainer.nonfinite_error(losses, self.saved)

    def log(self, window: _Window) -> None:
        synchronize(self.trainer.device)
        seconds = time.perf_counter() - window.started
        event, entry = self.trainer.progress(self.total, window.means(), seconds, window.counted)
        if self.writer is not None:
            self.writer.log({**entry, "seconds": round(self.seconds, 3)})
            self.handle(event)

    def snapshot(self) -> None:
        if self.writer is not None:
            self.writer.snapshot(self.trainer.snapshot_grid(), self.trainer.count)

    def save(self) -> None:
        """A resumable checkpoint of the trainer (main process only)."""
        if self.writer is None:
            return
        path = self.writer.checkpoint(self.trainer.state_tensors(), self.trainer.state_record(),
                                      self.trainer.count, self.seconds)
        self.saved = self.trainer.count
        self.handle(CheckpointSaved(self.trainer.count, str(path)))
