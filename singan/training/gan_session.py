"""Running a GANTrainer to the end of its schedule: logging, sample grids and checkpoints on the way.

Only the main process writes (run.json, checkpoint.safetensors, log.jsonl, snapshots/); every process
steps. An interrupted run (Ctrl-C) saves a checkpoint before it stops; a non-finite loss stops the run
and leaves the last checkpoint as it was.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from singan import gan_checkpoint
from singan.device import make_generator, synchronize
from singan.errors import GANNonFiniteLossError
from singan.events import CheckpointSaved, EventHandler, GANProgress, ignore
from singan.files import atomic_write_bytes
from singan.gan_checkpoint import GANRecord
from singan.images import encode_png, image_grid
from singan.training.distributed import any_process
from singan.training.gan import GANTrainer

SNAPSHOT_IMAGES = 32


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
    """Steps a trainer to `record.total_images`, writing into `directory` at the configured intervals."""

    def __init__(self, trainer: GANTrainer, directory: Path, record: GANRecord, handle: EventHandler = ignore):
        self.trainer, self.directory, self.record, self.handle = trainer, Path(directory), record, handle
        self.config = trainer.config
        self.saved_images: int | None = record.images_seen if record.images_seen else None
        self.snapshot_latents = torch.randn(SNAPSHOT_IMAGES, self.config.z_dim, device=trainer.device,
                                            generator=make_generator(trainer.device, self.config.seed or 0))

    def run(self) -> None:
        """Train to the end; Ctrl-C finishes the current step, saves a checkpoint and raises KeyboardInterrupt."""
        trainer = self.trainer
        marks = {name: self._next_mark(name) for name in ("log", "snapshot", "checkpoint")}
        window, started = _Window(), time.perf_counter() - self.record.seconds
        with deferred_interrupts() as interrupted:
            while trainer.images_seen < self.record.total_images:
                losses = trainer.step()
                self._check_finite(losses)
                window.add(losses, self.config.batch)
                self.record.seconds = time.perf_counter() - started
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
        done = seen >= self.record.total_images
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
        """The next multiple of the interval (in images) after the images seen so far."""
        interval = max(1, round(getattr(self.config, f"{name}_kimg") * 1000))
        return (self.trainer.images_seen // interval + 1) * interval

    def _check_finite(self, losses: dict[str, float]) -> None:
        if not all(math.isfinite(value) for value in losses.values()):
            raise GANNonFiniteLossError(self.trainer.images_seen, losses, self.saved_images)

    def log(self, window: _Window) -> None:
        synchronize(self.trainer.device)
        seconds = time.perf_counter() - window.started
        stage = self.trainer.stage
        per_kimg = seconds / (window.images / 1000) if window.images else None
        event = GANProgress(self.trainer.images_seen, self.record.total_images, stage.resolution, stage.alpha,
                            window.means(), per_kimg)
        if self.trainer.world.main:
            self._append_log(event)
            self.handle(event)

    def _append_log(self, event: GANProgress) -> None:
        line = {"images_seen": event.images_seen, "kimg": event.images_seen / 1000, "resolution": event.resolution,
                "alpha": round(event.alpha, 6), "losses": event.losses, "seconds_per_kimg": event.seconds_per_kimg,
                "seconds": round(self.record.seconds, 3)}
        with open(self.directory / gan_checkpoint.LOG_FILE, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(line) + "\n")

    @torch.no_grad()
    def snapshot(self) -> Path | None:
        """A grid of the moving-average generator's images of fixed latents, at the current stage."""
        if not self.trainer.world.main:
            return None
        stage, generator = self.trainer.stage, self.trainer.generator_ema
        ws = generator.map(self.snapshot_latents)
        images = generator.synthesize(ws, resolution=stage.resolution if self.config.progressive else None,
                                      alpha=stage.alpha, generator=make_generator(self.trainer.device, 0))
        path = self.directory / gan_checkpoint.SNAPSHOTS_DIR / f"snapshot_{self.trainer.images_seen // 1000:06d}k.png"
        atomic_write_bytes(path, encode_png(image_grid(images.clamp(-1, 1).cpu())))
        return path

    def save(self) -> None:
        """Checkpoint, then run.json (main process only)."""
        if not self.trainer.world.main:
            return
        self.record.images_seen = self.trainer.images_seen
        path = gan_checkpoint.save_checkpoint(self.directory, self.trainer.state_tensors(),
                                              self.trainer.state_record())
        gan_checkpoint.write_record(self.directory, self.record)
        self.saved_images = self.trainer.images_seen
        self.handle(CheckpointSaved(self.trainer.images_seen, str(path)))
