"""A trained run as tasks use it: found by name or path, loaded with its record and model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from singan import checkpoint
from singan.checkpoint import RunRecord
from singan.device import resolve_device
from singan.errors import RunError
from singan.models.singan import SinGAN

DEFAULT_ROOT = Path("Output")


@dataclass
class Run:
    """A loaded run: its directory, its record (run.json) and its trained scales."""

    directory: Path
    record: RunRecord
    model: SinGAN

    @property
    def device(self) -> torch.device:
        return self.model.reconstruction_noise.device


def load_run(directory: str | Path, device: str = "auto", require_complete: bool = True) -> Run:
    """Load a run for use; by default an unfinished run is an error that says how to finish it."""
    directory = Path(directory)
    record = checkpoint.read_record(directory)
    if require_complete and not record.complete:
        raise RunError(f"{directory} is incomplete ({len(record.scales)} of {record.num_scales} scales trained); "
                       f"finish it with: {resume_command(directory, record.input.path)}")
    model = checkpoint.load_model(directory, record, resolve_device(device))
    return Run(directory, record, model)


def resume_command(directory: Path, image: str | Path) -> str:
    return f"singan train {image} --resume --out {directory.parent} --name {directory.name}"


def find_run(name_or_path: str | Path, out: str | Path | None = None) -> Path:
    """A run given as a directory, or as a name under the run root (Output/ by default)."""
    path = Path(name_or_path)
    under_root = Path(out if out is not None else DEFAULT_ROOT) / path
    return under_root if not path.is_dir() and under_root.is_dir() else path


