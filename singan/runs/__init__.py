"""Run directories: one format per model family (singan.runs.singan, singan.runs.gan) on a shared base
(singan.runs.common), and `open_run`, which tells them apart by run.json's `format`.

To add a family's format: its module here, and one line in FORMATS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from singan.errors import RunError
from singan.runs import esrgan, gan, imported, singan
from singan.runs.common import RecordHeader, RunKind, read_record_json

# The run formats, one line per family: how to read each one's record.
FORMATS = {
    singan.KIND: singan.record_from_json,
    gan.KIND: gan.record_from_json,
    esrgan.KIND: esrgan.record_from_json,
    imported.KIND: imported.record_from_json,
}


@dataclass(frozen=True)
class Run:
    """A run directory and its checked record, before any weights are read."""

    directory: Path
    record: RecordHeader  # the family's record: singan.RunRecord or gan.GANRecord

    @property
    def kind(self) -> RunKind:
        return self.record.kind

    @property
    def family(self) -> str:
        return self.kind.family


def open_run(directory: str | Path, family: str | None = None) -> Run:
    """The run in `directory`, of any family, or of `family` ("singan", "gan"): a run of another family is a
    RunError that says what it is and which commands use it."""
    values, path = read_record_json(directory)
    named = values.get("format") if isinstance(values, dict) else None
    kind = next((kind for kind in FORMATS if kind.format == named), None)
    if family is not None and (kind is None or kind.family != family):
        if kind is not None:
            raise RunError(f"{directory} is a {kind.description}; use {kind.commands} on it")
        wanted = next(kind for kind in FORMATS if kind.family == family)
        raise RunError(f"{path}: not a {wanted.label} record")
    if kind is None:
        raise RunError(f"{path}: not a singan run record")
    return Run(Path(directory), FORMATS[kind](values, path))
