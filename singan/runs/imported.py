"""The format of a network imported from another project's file (`singan gan import`): run.json (the network's
options, where it came from) and generator.safetensors (its weights in our layout). Every `singan gan` task
takes it as it takes a trained run; there is nothing to resume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from singan.config.gan import LARGEST_RESOLUTION, LARGEST_SIZES, SMALLEST_RESOLUTION
from singan.errors import RunError
from singan.files import atomic_write_bytes
from singan.models.pretrained_layouts import GENERATORS
from singan.runs.common import (EVALUATION_FILE, RECORD_FILE, REPORT_FILE, RecordHeader, RunKind, check_record_format,
                                check_run_layout, check_run_tensors, read_run_tensors)
from singan.runs.gan import RUN_FILES as GAN_FILES
from singan.tensorfile import encode_tensors

GENERATOR_FILE = "generator.safetensors"
# The tasks' outputs are those of a trained GAN run.
RUN_FILES = tuple(re.escape(name) for name in (RECORD_FILE, GENERATOR_FILE, EVALUATION_FILE, REPORT_FILE)) + tuple(
    pattern for pattern in GAN_FILES if "/" in pattern and not pattern.startswith("snapshots"))
KIND = RunKind(format="singan-gan-import", version=1, family="gan", label="imported GAN network",
               description="GAN network imported from another project's file",
               commands="`singan gan generate` and the other `singan gan` commands",
               version_label="imported network format", files=RUN_FILES)
FORMAT, FORMAT_VERSION = KIND.format, KIND.version
SEED_COMPATS = ("singan", "nvlabs")
# The options each architecture's generator takes, and their types, as run.json may give them.
INTEGER_OPTIONS = ("resolution", "image_channels", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max")
OPTIONS = {
    "stylegan": {"mapping_lr_mul": float, "fused_from": (int, type(None)), "constant_noise": bool},
    "stylegan2": {"mapping_lr_mul": float, "conv_clamp": (float, type(None)), "constant_noise": bool,
                  "label_count": int},
}
LARGEST_LABELS = 100_000


@dataclass(kw_only=True)
class ImportedRecord(RecordHeader):
    kind: ClassVar[RunKind] = KIND
    arch: str  # "stylegan" or "stylegan2"
    network: dict  # the generator's constructor options
    source: dict  # {"file": name, "sha256": hex, "bytes": size, "format": "stylegan2-ada-pytorch", ...}
    seed_compat: str = "nvlabs"  # how seeds draw z by default for this network (singan.seeds)
    notes: list = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION


def record_from_json(values: object, path: Path) -> ImportedRecord:
    """A checked ImportedRecord from run.json's values; any problem is a RunError naming the file."""
    check_record_format(values, path, KIND)
    try:
        record = ImportedRecord(**values)
        check_network(record.arch, record.network)
        if record.seed_compat not in SEED_COMPATS:
            raise ValueError(f"seed_compat is {record.seed_compat!r}, expected one of {', '.join(SEED_COMPATS)}")
        if not isinstance(record.source, dict) or not isinstance(record.notes, list):
            raise ValueError("source must be an object and notes a list")
    except (TypeError, ValueError) as error:
        raise RunError(f"{path}: malformed run record ({error})") from None
    return record


def check_network(arch: object, network: object) -> None:
    """The options must be ones the architecture's generator takes, of their types and within the sizes a
    real network has, so that no run.json builds a network no file could fill."""
    if arch not in OPTIONS:
        raise ValueError(f"arch is {arch!r}, expected stylegan or stylegan2")
    if not isinstance(network, dict):
        raise ValueError("network must be an object")
    allowed = OPTIONS[arch] | {name: int for name in INTEGER_OPTIONS}
    unknown = sorted(set(network) - set(allowed))
    missing = sorted(set(allowed) - set(network))
    if unknown or missing:
        raise ValueError(f"network options {'unknown: ' + ', '.join(unknown) if unknown else ''}"
                         f"{'missing: ' + ', '.join(missing) if missing else ''}")
    for name, kind in allowed.items():
        value = network[name]
        wrong_type = isinstance(value, bool) and kind is not bool or not isinstance(value, kind)
        if wrong_type and not (kind in (float, (float, type(None))) and isinstance(value, int)
                               and not isinstance(value, bool)):
            raise ValueError(f"network.{name} is {value!r}")
    _check_sizes(network)


def _check_sizes(network: dict) -> None:
    resolution = network["resolution"]
    if not SMALLEST_RESOLUTION <= resolution <= LARGEST_RESOLUTION or resolution & (resolution - 1):
        raise ValueError(f"network.resolution is {resolution}, expected a power of two from {SMALLEST_RESOLUTION} "
                         f"to {LARGEST_RESOLUTION}")
    bounds = LARGEST_SIZES | {"image_channels": 4, "label_count": LARGEST_LABELS}
    for name in INTEGER_OPTIONS[1:] + ("label_count",):
        least = 0 if name == "label_count" else 1
        if name in network and not least <= network[name] <= bounds[name]:
            raise ValueError(f"network.{name} is {network[name]}, expected {least} to {bounds[name]}")
    if not 0 < float(network["mapping_lr_mul"]) <= 1:
        raise ValueError(f"network.mapping_lr_mul is {network['mapping_lr_mul']}, expected in (0, 1]")


def save(directory: Path, tensors: dict[str, torch.Tensor]) -> None:
    """generator.safetensors, atomically (run.json is written after it)."""
    atomic_write_bytes(Path(directory) / GENERATOR_FILE, encode_tensors(tensors))


def build_generator(record: ImportedRecord) -> nn.Module:
    return GENERATORS[record.arch](**record.network)


def load_generator(directory: Path, record: ImportedRecord, device: torch.device) -> nn.Module:
    """The imported generator on `device`, its file checked against run.json before a network is built."""
    path = Path(directory) / GENERATOR_FILE
    with torch.device("meta"):
        expected = build_generator(record).state_dict()
    check_run_layout(path, expected)
    tensors = read_run_tensors(path)
    check_run_tensors(tensors, expected, path)
    generator = build_generator(record)
    generator.load_state_dict(tensors)
    return generator.requires_grad_(False).eval().to(device)
