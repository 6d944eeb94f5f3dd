"""The multi-image GAN run format: run.json (what, how, how far) and one resumable checkpoint.

`checkpoint.safetensors` holds the generator, its moving average and the discriminator, both
optimisers' states, the random streams, the objective's own state and (as JSON) the counters and data
order, so the file is complete on its own: run.json is rewritten after it and only describes it. Both
are written atomically, so a run killed at any moment resumes from its last checkpoint.

Format versions: 1 (0.1.0) stored StyleGAN2's path-length mean in every architecture's checkpoint;
2 (0.2.0) stores only what the architecture's objective uses. Both are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from singan.config.gan import GANConfig
from singan.device import resolve_device
from singan.errors import ConfigError, RunError
from singan.files import atomic_write_bytes
from singan.images import encode_png
from singan.models.latent import StagedGenerator
from singan.runs.common import (  # noqa: F401 (save_checkpoint: part of this format's interface)
    CHECKPOINT_FILE, EVALUATION_FILE, LOG_FILE, RECORD_FILE, REPORT_FILE, RecordHeader, RunKind, check_record_format,
    check_run_tensors, read_run_tensors, save_checkpoint)
from singan.runs.directory import run_path
from singan.tensorfile import prefixed, split_state, unprefixed
from singan.training.architectures import build_generator, checked, objective_of

SNAPSHOTS_DIR = "snapshots"
# The files a run directory holds (regular expressions of paths inside it): the training's, then the files
# the tasks write into their default folders. --force deletes these and nothing else.
RUN_FILES = tuple(re.escape(name) for name in (RECORD_FILE, CHECKPOINT_FILE, LOG_FILE, EVALUATION_FILE,
                                                REPORT_FILE)) + (
    rf"{SNAPSHOTS_DIR}/snapshot_\d{{6,}}k\.png",
    r"generated/(seed\d{4,}|grid)\.png",
    r"interpolate/interpolate\.(gif|mp4)",
    r"mix/mix\.(png|json)",
)
KIND = RunKind(format="singan-gan-run", version=2, family="gan", label="multi-image GAN run",
               description="multi-image GAN run", commands="`singan gan generate` and the other `singan gan` "
               "commands", version_label="GAN run format", files=RUN_FILES)
FORMAT, FORMAT_VERSION = KIND.format, KIND.version
EMA_PREFIX = "generator_ema."


@dataclass(kw_only=True)
class GANRecord(RecordHeader):
    kind: ClassVar[RunKind] = KIND
    config: dict
    data: dict  # {"path": folder, "images": used, "skipped": unreadable files, "channels": 1 or 3}
    device: str
    processes: int
    seed: int
    images_seen: int = 0
    seconds: float = 0.0
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def gan_config(self) -> GANConfig:
        return GANConfig.from_dict(self.config)

    @property
    def total_images(self) -> int:
        return round(self.gan_config.kimg * 1000)

    @property
    def complete(self) -> bool:
        return self.images_seen >= self.total_images

    def derived(self) -> dict:
        stage = objective_of(self.gan_config).stage(self.images_seen)
        return {"complete": self.complete, "stage": {"resolution": stage.resolution, "alpha": stage.alpha}}


@dataclass
class GANRun:
    """A multi-image network as tasks use it: a trained run, an imported one (singan.runs.imported), or a
    foreign file converted in memory (no directory; `source_file` is the file)."""

    directory: Path | None
    record: RecordHeader  # GANRecord, or ImportedRecord
    generator: nn.Module  # the moving average, at the stage training reached
    source_file: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device


def run_directory(data: str | Path, config: GANConfig, out: str | Path | None = None,
                  name: str | None = None) -> Path:
    """<out>/<name>, the name defaulting to <data folder name>-<arch>-<resolution>; the name must be one
    folder name (singan.runs.directory)."""
    if name is not None:
        return run_path(out, name)
    return run_path(out, f"{Path(data).resolve().name}-{config.arch}-{config.resolution}",
                    origin="the data folder's name")


def record_from_json(values: object, path: Path) -> GANRecord:
    """A checked GANRecord from run.json's values; any problem is a RunError naming the file."""
    check_record_format(values, path, KIND)
    values = {key: value for key, value in values.items() if key not in ("complete", "stage")}
    try:
        record = GANRecord(**values)
        checked(record.gan_config)
        _check_counts(record)
    except (TypeError, ValueError, ConfigError) as error:
        raise RunError(f"{path}: malformed run record ({error})") from None
    return record


def _check_counts(record: GANRecord) -> None:
    """The record's own numbers, which progress, resuming and `info` compute with."""
    data = record.data if isinstance(record.data, dict) else {}
    for name, value, least in (("images_seen", record.images_seen, 0), ("processes", record.processes, 1),
                               ("seed", record.seed, 0), ("data.images", data.get("images"), 1)):
        if not _is_count(value, least):
            raise ValueError(f"{name} is {value!r}, expected a whole number from {least}")
    if data.get("channels") != record.gan_config.image_channels:
        raise ValueError(f"data.channels is {data.get('channels')!r}; the config has "
                         f"{record.gan_config.image_channels}")
    if not (isinstance(record.seconds, (int, float)) and not isinstance(record.seconds, bool)
            and 0 <= record.seconds < float("inf")):
        raise ValueError(f"seconds is {record.seconds!r}, expected a duration")


# The counters of a checkpoint's training state, and of its data order (singan.data.sampler).
STATE_COUNTS = ("images_seen", "critic_steps", "generator_steps", "optimizer_resolution")
SAMPLER_COUNTS = ("count", "seed", "epoch", "position")
# Counts are whole numbers below 2**63, as torch's integers; a larger one is not a count that training wrote.
COUNT_LIMIT = 2**63


def _is_count(value: object, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value < COUNT_LIMIT


def _state_problem(state: object) -> str | None:
    """What is wrong with a checkpoint's JSON training state, or None. Resuming and loading use its values
    as they are (a string where a count belongs was a traceback), so each must be a count, and the data
    order's position must lie within its images."""
    if not isinstance(state, dict):
        return f"its training state is {type(state).__name__}, expected an object"
    sampler = state.get("sampler")
    if not isinstance(sampler, dict):
        return f"sampler is {sampler!r}, expected the data order"
    named = [(key, state.get(key)) for key in STATE_COUNTS] + [(f"sampler.{key}", sampler.get(key))
                                                               for key in SAMPLER_COUNTS]
    for name, value in named:
        if value is None:
            return f"{name} is missing"
        if not _is_count(value):
            return f"{name} is {value!r}, expected a count"
    if not 0 <= sampler["position"] < sampler["count"]:
        return f"sampler.position is {sampler['position']}, expected below sampler.count ({sampler['count']})"
    return None


def load(directory: Path, record: GANRecord, device: str = "auto") -> GANRun:
    """The run for tasks: its moving-average generator on `device`."""
    return GANRun(directory, record, load_generator(directory, record, resolve_device(device)))


def load_checkpoint(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and the JSON state `save_checkpoint` wrote; a missing or corrupt file is a RunError."""
    path = Path(run_dir) / CHECKPOINT_FILE
    tensors, state = split_state(read_run_tensors(path))
    if state is None:
        raise RunError(f"{path}: corrupt checkpoint (its training state is missing or unreadable)")
    problem = _state_problem(state)
    if problem:
        raise RunError(f"{path}: corrupt checkpoint ({problem})")
    return tensors, state


def load_generator(run_dir: str | Path, record: GANRecord, device: torch.device) -> nn.Module:
    """The run's moving-average generator, for tasks, held at the stage training reached."""
    config = record.gan_config
    tensors, state = load_checkpoint(Path(run_dir))
    found = {key: value for key, value in tensors.items() if key.startswith(EMA_PREFIX)}
    # Compared with a generator on the meta device first: one of the size run.json claims is built only
    # for a checkpoint that holds its weights.
    with torch.device("meta"):
        expected = prefixed(EMA_PREFIX, build_generator(config))
    check_run_tensors(found, expected, Path(run_dir) / CHECKPOINT_FILE)
    generator = build_generator(config)
    generator.load_state_dict(unprefixed(EMA_PREFIX, found))
    generator.requires_grad_(False).eval()
    stage = objective_of(config).stage(state["images_seen"])
    if stage.resolution < config.resolution or stage.alpha < 1:
        generator = StagedGenerator(generator, stage.resolution, stage.alpha)
    return generator.to(device)


def save_snapshot(run_dir: Path, grid: torch.Tensor, images_seen: int) -> Path:
    """snapshots/snapshot_000012k.png: a grid of samples after `images_seen` images."""
    path = Path(run_dir) / SNAPSHOTS_DIR / f"snapshot_{images_seen // 1000:06d}k.png"
    atomic_write_bytes(path, encode_png(grid))
    return path
