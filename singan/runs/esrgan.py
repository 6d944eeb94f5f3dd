"""The ESRGAN-family run format: run.json (the network's sizes and how it was made) and generator.safetensors
(its weights in our layout, the moving average for a trained run).

A run is made by `singan esrgan interpolate` (from two weight files or runs) or by `singan esrgan train`,
whose runs also hold `checkpoint.safetensors` (everything a resumed run needs, with its JSON state),
`log.jsonl` and `snapshots/`; generator.safetensors is rewritten with every checkpoint, so an unfinished
run upscales too. Every `singan esrgan` command that takes weights takes a run.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch

from singan.errors import RunError
from singan.files import atomic_write_bytes
from singan.images import encode_png
from singan.models.esrgan_layouts import ARCHITECTURES, Detected
from singan.runs.common import (  # noqa: F401 (save_checkpoint: part of this format's interface)
    CHECKPOINT_FILE, EVALUATION_FILE, LOG_FILE, RECORD_FILE, REPORT_FILE, RecordHeader, RunKind, check_record_format,
    check_run_tensors, read_run_tensors, save_checkpoint, write_record)
from singan.tensorfile import encode_tensors, split_state

GENERATOR_FILE = "generator.safetensors"
SNAPSHOTS_DIR = "snapshots"
RUN_FILES = tuple(re.escape(name) for name in (RECORD_FILE, GENERATOR_FILE, CHECKPOINT_FILE, LOG_FILE,
                                                EVALUATION_FILE, REPORT_FILE)) + (
    rf"{SNAPSHOTS_DIR}/snapshot_\d{{7,}}\.png",)
KIND = RunKind(format="singan-esrgan-run", version=1, family="esrgan", label="ESRGAN-family run",
               description="ESRGAN-family super-resolution run", commands="`singan esrgan upscale --weights RUN`",
               version_label="ESRGAN run format", files=RUN_FILES)
FORMAT, FORMAT_VERSION = KIND.format, KIND.version
# Bounds on what a run.json may claim before a network of that size is built.
LARGEST_FEATURES, LARGEST_BLOCKS = 1024, 256


@dataclass(kw_only=True)
class ESRGANRecord(RecordHeader):
    kind: ClassVar[RunKind] = KIND
    network: dict  # Detected's fields: architecture, layout, scale, image_channels, features, blocks, growth
    source: dict  # how the weights were made: {"made_by": "interpolate", "inputs": [...], "alpha": 0.8}
    # A trained run's: its config, data, the files it used, device, seed, how far it got, its validation.
    training: dict | None = None
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def detected(self) -> Detected:
        return Detected(**self.network)

    @property
    def iteration(self) -> int:
        return self.training["iteration"] if self.training else 0

    @property
    def complete(self) -> bool:
        return self.training is None or self.iteration >= self.training["config"]["iterations"]

    def derived(self) -> dict:
        return {"complete": self.complete}


def record_from_json(values: object, path: Path) -> ESRGANRecord:
    """A checked ESRGANRecord from run.json's values; any problem is a RunError naming the file."""
    check_record_format(values, path, KIND)
    values = {key: value for key, value in values.items() if key != "complete"}
    try:
        record = ESRGANRecord(**values)
        _check_network(record.detected)
        _check_training(record.training)
    except (TypeError, ValueError) as error:
        raise RunError(f"{path}: malformed run record ({error})") from None
    return record


def _check_network(detected: Detected) -> None:
    counts = (detected.scale, detected.image_channels, detected.features, detected.blocks, detected.growth)
    if not all(isinstance(count, int) and not isinstance(count, bool) for count in counts):
        raise ValueError("the network's sizes must be whole numbers")
    if detected.architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {detected.architecture!r} is none of {', '.join(ARCHITECTURES)}")
    if detected.image_channels not in (1, 3) or not 1 <= detected.features <= LARGEST_FEATURES \
            or not 1 <= detected.blocks <= LARGEST_BLOCKS or not 0 <= detected.growth <= LARGEST_FEATURES:
        raise ValueError(f"network sizes out of range: {asdict(detected)}")


def _check_training(training: object) -> None:
    if training is None:
        return
    if not isinstance(training, dict) or not isinstance(training.get("config"), dict):
        raise ValueError("training must be an object with the run's config")
    for name, value in (("iteration", training.get("iteration")),
                        ("config.iterations", training["config"].get("iterations"))):
        if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63):
            raise ValueError(f"training.{name} is {value!r}, expected a count")
    seconds = training.get("seconds", 0)
    if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < float("inf")):
        raise ValueError(f"training.seconds is {seconds!r}, expected a duration")


def save(run_dir: Path, record: ESRGANRecord, state: dict[str, torch.Tensor]) -> None:
    """The weights first, then run.json, which describes them."""
    atomic_write_bytes(Path(run_dir) / GENERATOR_FILE, encode_tensors(state))
    write_record(run_dir, record)


def load_state(run_dir: Path, record: ESRGANRecord, network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The run's weights, strictly checked against the network run.json describes."""
    path = Path(run_dir) / GENERATOR_FILE
    tensors = read_run_tensors(path)
    check_run_tensors(tensors, network.state_dict(), path)
    return tensors


def load_checkpoint(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """What `save_checkpoint` wrote; a missing or corrupt file is a RunError."""
    path = Path(run_dir) / CHECKPOINT_FILE
    tensors, state = split_state(read_run_tensors(path))
    iteration = state.get("iteration") if isinstance(state, dict) else None
    if not (isinstance(iteration, int) and not isinstance(iteration, bool) and 0 <= iteration < 2**63):
        raise RunError(f"{path}: corrupt checkpoint (its training state is missing or unreadable)")
    return tensors, state


def save_snapshot(run_dir: Path, grid: torch.Tensor, iteration: int) -> Path:
    """snapshots/snapshot_0001000.png: LR, output and HR of fixed crops after `iteration` iterations."""
    path = Path(run_dir) / SNAPSHOTS_DIR / f"snapshot_{iteration:07d}.png"
    atomic_write_bytes(path, encode_png(grid))
    return path
