"""What training reports while it runs; the CLI renders these, notebooks may print or ignore them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from singan.pyramid import Size


@dataclass(frozen=True)
class Notice:
    """Something the user should know, such as an input image being shrunk."""

    message: str


@dataclass(frozen=True)
class TrainingStarted:
    run_dir: str
    num_scales: int
    first_scale: int
    device: str
    seed: int
    iterations: tuple[int, ...]  # of each scale
    # Floating-point operations of one iteration at each scale: how the scales' times compare.
    iteration_flops: tuple[float, ...] = ()
    estimated_seconds: float | None = None


@dataclass(frozen=True)
class ScaleStarted:
    scale: int
    num_scales: int
    size: Size
    channels: int
    iterations: int


@dataclass(frozen=True)
class IterationFinished:
    scale: int
    iteration: int  # 1-based
    iterations: int
    losses: dict[str, float] = field(default_factory=dict)  # filled on logged iterations only


@dataclass(frozen=True)
class ScaleFinished:
    """A scale is trained and saved to disk."""

    scale: int
    num_scales: int
    seconds: float
    noise_amplitude: float


@dataclass(frozen=True)
class TrainingFinished:
    run_dir: str
    seconds: float


@dataclass(frozen=True)
class GANTrainingStarted:
    """Multi-image training starts (or resumes at `images_seen`)."""

    run_dir: str
    arch: str
    resolution: int
    images_seen: int
    total_images: int
    device: str
    processes: int
    data_images: int
    skipped_files: int


@dataclass(frozen=True)
class GANProgress:
    """A logged point of multi-image training: losses averaged since the previous one."""

    images_seen: int
    total_images: int
    resolution: int  # of the stage being trained (progressive growing)
    alpha: float  # fade-in of that stage's newest block
    losses: dict[str, float] = field(default_factory=dict)
    seconds_per_kimg: float | None = None


@dataclass(frozen=True)
class ESRGANTrainingStarted:
    """ESRGAN-family training starts (or resumes at `iteration`)."""

    run_dir: str
    arch: str
    stage: str
    recipe: str
    scale: int
    iteration: int
    total: int
    device: str
    data_images: int
    skipped_files: int
    parameters: int


@dataclass(frozen=True)
class ESRGANProgress:
    """A logged point of ESRGAN-family training: losses averaged since the previous one, and the validation
    figures when they were computed at this point."""

    iteration: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    seconds_per_iteration: float | None = None
    validation: dict | None = None


@dataclass(frozen=True)
class CheckpointSaved:
    images_seen: int  # the trainer's count: images for the GANs, iterations for ESRGAN
    path: str


Event = (Notice | TrainingStarted | ScaleStarted | IterationFinished | ScaleFinished | TrainingFinished
         | GANTrainingStarted | GANProgress | ESRGANTrainingStarted | ESRGANProgress | CheckpointSaved)
EventHandler = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default handler: report nothing."""


@dataclass(frozen=True)
class BatchImageStarted:
    """`singan batch` begins the index-th (from 1) of `count` images: trains, resumes or skips its run."""

    index: int
    count: int
    image: str
    run_dir: str
    action: str  # "train", "resume" or "skip"


@dataclass(frozen=True)
class BatchImageFinished:
    index: int
    count: int
    image: str
    run_dir: str
    status: str  # "trained", "resumed", "skipped" or "failed"
    minutes: float
    error: str | None = None


def duration_text(seconds: float) -> str:
    """How long something took, as the CLI's lines and the report's pages say it: 12.3 s, 4.5 min, 1.2 h."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
