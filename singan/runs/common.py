"""What every run format shares: the record header, reading and checking run.json, the tensor files' errors
as RunErrors, and eval.json. Where runs live and how a directory becomes one: singan.runs.directory.

A run is a directory: run.json (what was trained, how, on what; written atomically, last) beside its
tensor files. Each model family's format is one module here (singan, gan); `singan.runs.open_run`
tells them apart by run.json's `format`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import torch

import singan
from singan.errors import RunError, one_line
from singan.files import append_json_line, atomic_write_bytes, atomic_write_json
from singan.runs.directory import (DEFAULT_ROOT, RECORD_FILE, read_record_values,  # noqa: F401 (names the formats use)
                                   run_root)
from singan.tensorfile import TensorFileError, compare_tensors, encode_tensors, read_tensor_layout, read_tensors

LOG_FILE = "log.jsonl"
EVALUATION_FILE = "eval.json"
# `singan report`'s page of a run, which every format lists among its files (so --force replaces it).
REPORT_FILE = "report.html"
# A trained multi-image run's resumable state (GAN and ESRGAN families): every tensor and, as JSON, the counters.
CHECKPOINT_FILE = "checkpoint.safetensors"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunKind:
    """A run format: the `format` run.json names, the newest version this code reads and writes, and how to
    talk about it."""

    format: str
    version: int
    family: str  # the package's name for the model family: "singan", "gan"
    label: str  # "singan run": "not a singan run record"
    description: str  # "single-image SinGAN run": "X is a single-image SinGAN run"
    commands: str  # what to use it with
    version_label: str  # "run format"
    # The files a run directory of this format holds, as regular expressions of POSIX paths inside it:
    # --force deletes these and nothing else (singan.runs.directory).
    files: tuple[str, ...]


@dataclass(kw_only=True)
class RecordHeader:
    """The fields every run.json starts with: its format and version, and what wrote it when. A family's
    record sets `kind`, its format."""

    kind: ClassVar[RunKind]
    format: str
    format_version: int
    package_version: str = field(default_factory=lambda: singan.__version__)
    torch_version: str = field(default_factory=lambda: torch.__version__)
    created: str = field(default_factory=_now)

    def to_json(self) -> dict:
        """The record as run.json holds it: the format first, then the family's fields, what wrote it, and
        last the `derived` values (which a reader recomputes and ignores)."""
        values = asdict(self)
        first = {key: values.pop(key) for key in ("format", "format_version")}
        writer = {key: values.pop(key) for key in ("package_version", "torch_version", "created")}
        return {**first, **values, **writer, **self.derived()}

    def derived(self) -> dict:
        return {}


def read_record_json(run_dir: str | Path) -> tuple[object, Path]:
    """The parsed run.json of a run directory (of any kind) and its path; a RunError if there is none."""
    path = Path(run_dir) / RECORD_FILE
    if not Path(run_dir).exists():
        raise RunError(f"{run_dir}: no such run directory")
    if not Path(run_dir).is_dir():
        raise RunError(f"{run_dir}: not a run directory (a file)")
    if not path.is_file():
        raise RunError(f"{run_dir}: not a singan run (no {RECORD_FILE})")
    try:
        return read_record_values(path), path
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise RunError(f"{path}: unreadable ({one_line(error)})") from None


def check_record_format(values: object, path: Path, kind: RunKind) -> dict:
    """run.json must name `kind`'s format, in a version this code reads (at most kind.version)."""
    if not isinstance(values, dict) or values.get("format") != kind.format:
        raise RunError(f"{path}: not a {kind.label} record")
    version = values.get("format_version")
    if not isinstance(version, int):
        raise RunError(f"{path}: malformed run record (no format_version)")
    if version > kind.version:
        raise RunError(f"{path}: written by a newer singan ({kind.version_label} {version}; this version "
                       f"{singan.__version__} reads up to {kind.version}); upgrade singan to use it")
    return values


def write_record(run_dir: Path, record: RecordHeader) -> None:
    """run.json, atomically, in this version's format (a resumed older run is rewritten in it)."""
    record.format_version = record.kind.version
    atomic_write_json(Path(run_dir) / RECORD_FILE, record.to_json())


def find_run(name_or_path: str | Path, out: str | Path | None = None) -> Path:
    """A run given as a directory, or as a name under the run root (Output/ by default)."""
    path = Path(name_or_path)
    under_root = run_root(out) / path
    return under_root if not path.is_dir() and under_root.is_dir() else path


def read_run_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A run's tensor file; a missing or corrupt one is a RunError naming it."""
    try:
        return read_tensors(path)
    except TensorFileError as error:
        if error.kind == "missing":
            raise RunError(f"{path}: weights file missing") from None
        raise RunError(f"{path}: corrupt weights file ({error.detail})") from None


def check_run_tensors(found: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path) -> None:
    """The file's tensors must be exactly the ones run.json implies, with their shapes, dtypes, finite values."""
    mismatch = compare_tensors(found, expected)
    if mismatch:
        raise RunError(f"{path}: tensors do not match run.json ({mismatch.describe()})")


def check_run_layout(path: Path, expected: dict[str, torch.Tensor]) -> None:
    """The names, shapes and dtypes of a run's tensor file, from its header, must be the ones run.json implies:
    checked before networks of the sizes run.json claims are built (`expected` may be meta tensors)."""
    try:
        layout = read_tensor_layout(path)
    except TensorFileError as error:
        if error.kind == "missing":
            raise RunError(f"{path}: weights file missing") from None
        raise RunError(f"{path}: corrupt weights file ({error.detail})") from None
    check_run_tensors(layout, expected, path)


def append_log(run_dir: Path, entry: dict) -> None:
    """One entry at the end of the run's log.jsonl."""
    append_json_line(Path(run_dir) / LOG_FILE, entry)


def write_evaluation(run_dir: str | Path, figures: dict) -> Path:
    """RUN/eval.json (replacing an earlier one), atomically; returns its path."""
    path = Path(run_dir) / EVALUATION_FILE
    atomic_write_json(path, figures)
    return path


def save_checkpoint(run_dir: Path, tensors: dict[str, torch.Tensor], state: dict) -> Path:
    """Write a trainer's tensors and its JSON state into one file, atomically."""
    path = Path(run_dir) / CHECKPOINT_FILE
    atomic_write_bytes(path, encode_tensors(tensors, state))
    return path


def restore_from_checkpoint(restore, tensors: dict[str, torch.Tensor], state: dict, path: Path) -> None:
    """`restore(tensors, state)` of a trainer; tensors or counters that do not fit the run's networks are a
    RunError naming the checkpoint."""
    try:
        restore(tensors, state)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as error:
        raise RunError(f"{path}: corrupt checkpoint (it does not fit the run's networks: {one_line(error, 300)})"
                       ) from None
