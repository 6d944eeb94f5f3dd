"""Published StyleGAN and StyleGAN2 networks from other projects' files: `singan gan import FILE`, and the same
conversion in memory wherever a `singan gan` task is given a file instead of a run.

The file is read by the one restricted reader (`singan.unpickler`: no code from it ever runs), converted to
our layout (`singan.models.pretrained`) and, for `import`, written as a run directory: run.json (the
network's options, the file's name, size, sha256 and format) and generator.safetensors.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from singan.device import resolve_device
from singan.errors import ForeignFileError, one_line
from singan.models.pretrained import select
from singan.models.pretrained_layouts import ConvertedNetwork
from singan.runs import common
from singan.runs import imported as runs
from singan.runs.directory import create_run, run_path
from singan.runs.gan import GANRun
from singan.runs.imported import ImportedRecord, check_network
from singan.unpickler import read_foreign

# Suffixes a published file's name ends with, left out of the default run name.
SUFFIXES = (".pkl.xz", ".pkl.gz", ".pkl.bz2", ".pkl", ".pt", ".pth", ".xz", ".gz")
HASH_CHUNK = 1 << 24


def network_name(path: str | Path) -> str:
    """`ffhq` for ffhq.pkl, ffhq.pkl.xz or ffhq.pt."""
    name = Path(path).name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


def read_network(path: str | Path) -> tuple[ConvertedNetwork, dict]:
    """The network of a foreign file in our layout, and where it came from (file name, size, sha256, format).
    Every problem is one ForeignFileError or RunError line naming the file."""
    path = Path(path)
    try:
        # Only the generator is kept: the rest of the file (D, the training copy) is freed before converting.
        converted = select(read_foreign(path)).converted()
        check_network(converted.arch, converted.options)
    except ForeignFileError as error:
        raise ForeignFileError(f"{path}: {error}") from None
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, RuntimeError) as error:
        # The file's values in places where a network has others (a list for a tensor, a matrix for a vector).
        raise ForeignFileError(f"{path}: not a network the converters understand ({one_line(error)})") from None
    source = {"file": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path),
              "format": converted.source_format}
    return converted, source


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record_of(converted: ConvertedNetwork, source: dict) -> ImportedRecord:
    return ImportedRecord(arch=converted.arch, network=converted.options, source=source, notes=converted.notes)


def import_network(path: str | Path, *, out: str | Path | None = None, name: str | None = None,
                   force: bool = False) -> Path:
    """Convert a foreign file into a run directory <out>/<name> (the name defaulting to the file's); returns it."""
    if not Path(path).is_file():
        raise ForeignFileError(f"{path}: {'no such file' if not Path(path).exists() else 'not a file'}")
    directory = run_path(out, name) if name is not None else run_path(out, network_name(path),
                                                                      origin="the file's name")
    converted, source = read_network(path)
    record = record_of(converted, source)

    def write(folder: Path) -> None:
        runs.save(folder, converted.tensors)
        common.write_record(folder, record)

    create_run(directory, force, runs.KIND, write)
    return directory


def open_foreign(path: str | Path, device: str = "auto") -> GANRun:
    """A foreign file converted in memory, as a run without a directory (nothing is written beside the file)."""
    converted, source = read_network(path)
    generator = converted.build().to(resolve_device(device))
    return GANRun(None, record_of(converted, source), generator, source_file=Path(path))


def load_imported(directory: Path, record: ImportedRecord, device: str = "auto") -> GANRun:
    return GANRun(directory, record, runs.load_generator(directory, record, resolve_device(device)))


def summary(directory: str | Path | None, record: ImportedRecord) -> dict:
    """What `singan info` and `singan gan info` show of an imported network."""
    network = record.network
    return {"directory": None if directory is None else str(directory), "family": "gan", "imported": True,
            "arch": record.arch, "resolution": network["resolution"], "source": record.source,
            "network": network, "seed_compat": record.seed_compat, "notes": record.notes, "created": record.created,
            "versions": {"format": record.format_version, "singan": record.package_version,
                         "torch": record.torch_version}}

