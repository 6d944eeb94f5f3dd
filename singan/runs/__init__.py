"""Run directories: one format per model family (singan.runs.singan, singan.runs.gan) on a shared base
(singan.runs.common), and `open_run`, which tells them apart by run.json's `format`.

To add a family's format: its module here, and its KIND in KINDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from singan.errors import RunError
from singan.runs import gan, singan
from singan.runs.common import RunKind, read_record_json

KINDS = {kind.format: (kind, reader) for kind, reader in (
    (singan.KIND, singan.record_from_json),
    (gan.KIND, gan.record_from_json),
)}


@dataclass(frozen=True)
class Run:
    """A run directory and its checked record, before any weights are read."""

    directory: Path
    record: object  # the family's record: singan.RunRecord or gan.GANRecord
    kind: RunKind

    @property
    def family(self) -> str:
        return self.kind.family


def open_run(directory: str | Path, family: str | None = None) -> Run:
    """The run in `directory`, of any family, or of `family` ("singan", "gan"): a run of another family is a
    RunError that says what it is and which commands use it."""
    values, path = read_record_json(directory)
    found = KINDS.get(values.get("format")) if isinstance(values, dict) else None
    if family is not None:
        wanted = next(kind for kind, _ in KINDS.values() if kind.family == family)
        if found is not None and found[0].family != family:
            raise RunError(f"{directory} is a {found[0].description}; use {found[0].commands} on it")
        if found is None:
            raise RunError(f"{path}: not a {wanted.label} record")
    if found is None:
        raise RunError(f"{path}: not a singan run record")
    kind, reader = found
    return Run(Path(directory), reader(values, path), kind)
