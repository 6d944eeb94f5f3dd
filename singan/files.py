"""File writes: atomic ones (a reader, or a killed process, never sees a half-written file), and JSON-lines logs."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path

from singan.errors import OutputError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    make_folder(path.parent)
    with _naming(path):
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            # mkstemp makes owner-only files; give the file the permissions a plain open() would.
            os.chmod(temporary, 0o666 & ~_umask())
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    _sync_directory(path.parent)


@contextlib.contextmanager
def _naming(path: Path):
    """An OSError that names no file (a full disk during write()) is made to name `path`, for the message."""
    try:
        yield
    except OSError as error:
        if error.filename is None and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise


# What to do about the operating system's refusals that a user can fix.
_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space",
    errno.EDQUOT: "the disk quota is used up; free some space",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.ENOTDIR: "a file is where a folder is needed",
    errno.EEXIST: "a file of that name is in the way",
    errno.EISDIR: "a folder is where a file is needed",
    errno.EIO: "input/output error (a failing disk or a lost network drive)",
}


def describe_os_error(error: OSError) -> str:
    """An OSError as one line for the user: the path it concerns and what to do."""
    reason = _ADVICE.get(error.errno) or error.strerror or type(error).__name__
    where = error.filename if error.filename is not None else None
    return f"{where}: {reason}" if where is not None else f"cannot write: {reason}"


def check_folder(folder: str | Path) -> Path:
    """`folder` if it is, or can become, a folder: a file in the way is an OutputError that names it (checked
    before a task's work, so that nothing is computed for nothing)."""
    folder = Path(folder)
    blocking = next((path for path in (folder, *folder.parents) if path.exists() and not path.is_dir()), None)
    if blocking is not None:
        where = "" if blocking == folder else f" to write into {folder}"
        raise OutputError(f"{blocking}: a file, where a folder is needed{where}")
    return folder


def make_folder(folder: Path) -> None:
    """Create `folder` and its parents; a file in the way is an OutputError that names it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        check_folder(folder)
        raise


def make_temporary_folder(parent: Path, prefix: str) -> Path:
    """A new, uniquely named folder in `parent`, with the permissions a plain mkdir would give it."""
    make_folder(parent)
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    os.chmod(folder, 0o777 & ~_umask())  # mkdtemp makes owner-only folders
    return folder


def atomic_write_json(path: Path, value: object) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode("utf-8"))


def json_line(entry: dict) -> str:
    """An entry of a JSON-lines log, with its newline."""
    return json.dumps(entry) + "\n"


def append_json_line(path: Path, entry: dict) -> None:
    """One JSON line at the end of a log (log.jsonl): a killed process leaves at most its last line cut."""
    with _naming(Path(path)), open(path, "a", encoding="utf-8") as stream:
        stream.write(json_line(entry))


def read_json_lines(path: Path) -> list[dict]:
    """The entries of a JSON-lines log, skipping a line cut short by a killed process; [] when there is none."""
    if not Path(path).exists():
        return []
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError):
            continue
    return entries


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _sync_directory(directory: Path) -> None:
    # The rename is only durable once the directory entry itself reaches the disk.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
