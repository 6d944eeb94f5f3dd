"""Where runs live and how a directory becomes one: the one directory policy of every run format.

- A run's name is one folder name (no separators, no `..`, not absolute, not too long), so a run always
  lives inside the run root (--out, or Output/); a run folder that is a symbolic link is never written.
- A folder is a run of a format only if its run.json names that format.
- A new run's first files are written into a hidden folder beside the run (`.<name>.new-XXXX`) and moved
  into place with one rename, so a process killed during its first write leaves no half-made run.
- `--force` replaces a run the same way: the old run is renamed aside (`.<name>.old-XXXX`), the new one
  renamed in, then the user's own files (anything the format does not name, and every symbolic link) are
  moved into the new run and only the format's files of the old one are deleted. A failure before the
  swap leaves the old run as it was; an interrupted swap is finished (or undone) on the next write.
- The project's leftover temporary files (`.<file>.XXXXXXXX.tmp` of an interrupted atomic write) are
  deleted on the next write to the run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from singan.errors import ConfigError, RunError
from singan.files import make_folder, make_temporary_folder

DEFAULT_ROOT = Path("Output")
RECORD_FILE = "run.json"
# A run.json holds a few kB (a 1000-scale record would be under 1 MB); anything larger is not one.
RECORD_LIMIT_BYTES = 16 * 10**6
# Room for the ".<name>.new-XXXXXXXX" folder beside the run within the usual 255-byte file-name limit.
NAME_LIMIT_BYTES = 200
# The temporary files singan.files.atomic_write_bytes makes: ".<target name>.<8 random characters>.tmp".
TEMPORARY_FILE = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")
_STAGING, _RETIRED = "new", "old"


def run_root(out: str | Path | None) -> Path:
    """Where runs live: --out, or Output/."""
    return Path(out if out is not None else DEFAULT_ROOT)


def check_run_name(name: str, origin: str = "--name") -> str:
    """`name` if it is one folder name; a ConfigError that says why not. `origin` says where it came from."""
    problem = _name_problem(name)
    if problem:
        advice = "" if origin == "--name" else "; give one with --name"
        raise ConfigError(f"run name {name!r} ({origin}): {problem}{advice}")
    return name


def _name_problem(name: str) -> str | None:
    if not name or not name.strip():
        return "a run name cannot be empty"
    if name in (".", ".."):
        return "a run name must be a folder name, not . or .."
    if "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        return "a run name is one folder name, without / or \\ (--out sets the folder that holds runs)"
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        return "a run name cannot hold control characters (a newline, a tab, NUL)"
    length = len(os.fsencode(name))
    if length > NAME_LIMIT_BYTES:
        return f"{length} bytes long; run names are limited to {NAME_LIMIT_BYTES}"
    return None


def check_resume_or_force(resume: bool, force: bool) -> None:
    """--resume keeps a run and --force replaces it: asking for both is a mistake, not a choice to guess."""
    if resume and force:
        raise ConfigError("--resume continues a run and --force replaces it: give one of them, not both")


def run_path(out: str | Path | None, name: str, origin: str = "--name") -> Path:
    """<out>/<name>, once the name is checked and --out is not a file."""
    root = run_root(out)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out {root}: a file, not a folder; runs need a folder to live in")
    return root / check_run_name(name, origin)


def read_record_values(path: Path) -> object:
    """The parsed JSON of a run.json; a ValueError for one far larger than any record (a run record is a few
    kB), RecursionError for one nested too deep."""
    size = Path(path).stat().st_size
    if size > RECORD_LIMIT_BYTES:
        raise ValueError(f"{size / 1e6:.0f} MB, far more than a run record holds")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def record_format(path: str | Path) -> str | None:
    """The `format` that a folder's run.json names; None when there is none or it is not a run record."""
    try:
        values = read_record_values(Path(path) / RECORD_FILE)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    named = values.get("format") if isinstance(values, dict) else None
    return named if isinstance(named, str) else None


def holds_run(path: str | Path, kind) -> bool:
    """A folder is a run of `kind` (a RunKind) only if its run.json names kind's format."""
    return Path(path).is_dir() and record_format(path) == kind.format


def owns(kind, relative: str) -> bool:
    """Whether `relative` (a POSIX path inside a run) is a file that `kind`'s format writes, or one of our
    temporary files."""
    return (any(re.fullmatch(pattern, relative) for pattern in kind.files)
            or TEMPORARY_FILE.fullmatch(relative.rsplit("/", 1)[-1]) is not None)


def create_run(run_dir: Path, force: bool, kind, write) -> None:
    """Make a new run of `kind` at `run_dir`: `write(folder)` writes its first files (run.json last) into a
    folder beside it, which then takes the run's place in one rename (see the module docstring)."""
    run_dir = Path(run_dir)
    finish_interrupted_replacements(run_dir, kind)
    replacing = _check_replaceable(run_dir, kind, force)
    make_folder(run_dir.parent)
    staging = make_temporary_folder(run_dir.parent, prefix=f".{run_dir.name}.{_STAGING}-")
    try:
        write(staging)
    except BaseException:
        _delete_owned(staging, kind)
        raise
    if replacing:
        retired = run_dir.parent / f".{run_dir.name}.{_RETIRED}-{secrets.token_hex(4)}"
        os.rename(run_dir, retired)
        os.rename(staging, run_dir)
        _retire(retired, run_dir, kind)
    else:
        if run_dir.is_dir():
            _delete_owned(run_dir, kind)  # an empty folder, or one holding only our leftovers
        os.rename(staging, run_dir)


def _check_replaceable(run_dir: Path, kind, force: bool) -> bool:
    """Whether a run is to be replaced (False: the place is free); a RunError when it may not be touched."""
    if run_dir.is_symlink():
        raise RunError(f"{run_dir} is a symbolic link; runs are never written through one: choose another "
                       f"--name or --out")
    if not run_dir.exists():
        return False
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} exists and is not a folder; choose another --name or --out")
    clean_temporary_files(run_dir)
    if not any(run_dir.iterdir()):
        return False
    if not (run_dir / RECORD_FILE).exists():
        raise RunError(f"{run_dir} exists, is not empty and is not a singan run; choose another --name or --out")
    if record_format(run_dir) != kind.format:
        raise RunError(f"{run_dir}: its {RECORD_FILE} is not a {kind.label} record, so --force does not touch "
                       f"it; choose another --name or --out")
    if not force:
        raise RunError(f"{run_dir} already holds a run; use --resume to continue it or --force to replace it")
    return True


def prepare_for_writing(run_dir: Path, kind) -> None:
    """Before an existing run is written to again (a resume): finish an interrupted replacement, refuse a
    symbolic link, and delete our leftover temporary files."""
    finish_interrupted_replacements(run_dir, kind)
    if Path(run_dir).is_symlink():
        raise RunError(f"{run_dir} is a symbolic link; runs are never written through one")
    clean_temporary_files(run_dir)


def finish_interrupted_replacements(run_dir: Path, kind) -> None:
    """A replacement killed half way leaves `.<name>.old-*` (and `.<name>.new-*`) beside the run: put the
    old run back if the new one never arrived, or finish retiring it; delete an unfinished new run."""
    parent = Path(run_dir).parent
    if not parent.is_dir():
        return
    for entry in sorted(parent.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        if entry.name.startswith(f".{run_dir.name}.{_RETIRED}-"):
            if os.path.lexists(run_dir):
                _retire(entry, run_dir, kind)
            else:
                os.rename(entry, run_dir)
        elif entry.name.startswith(f".{run_dir.name}.{_STAGING}-"):
            _delete_owned(entry, kind)


def clean_temporary_files(folder: Path) -> None:
    """Delete the temporary files interrupted atomic writes left anywhere in `folder` (links not followed)."""
    for directory, _, files in os.walk(folder):
        for name in files:
            path = Path(directory) / name
            if TEMPORARY_FILE.fullmatch(name) and not path.is_symlink():
                path.unlink(missing_ok=True)


def _retire(retired: Path, run_dir: Path, kind) -> None:
    """Move the user's files of a replaced run into the new one, then delete the old run's own files.

    A symbolic link where the format writes (`weights`, `samples/start0`, `run.json`) is removed, the link
    only: moved into the new run, it would have training write through it into the folder it points to."""
    for relative in _user_entries(retired, kind):
        source, target = retired / relative, run_dir / relative
        if source.is_symlink() and _format_writes_at(kind, relative):
            source.unlink()
            continue
        if os.path.lexists(target):
            continue  # never overwrite: it stays in the retired folder, which is then kept
        make_folder(target.parent)
        os.rename(source, target)
    _delete_owned(retired, kind)


def _format_writes_at(kind, relative: str) -> bool:
    """Whether `relative` is a file the format writes, or lies in one of the folders it writes into."""
    first = relative.split("/", 1)[0]
    folders = [pattern.split("/", 1)[0] for pattern in kind.files if "/" in pattern]
    return owns(kind, relative) or any(re.fullmatch(folder, first) for folder in folders)


def _user_entries(folder: Path, kind) -> list[str]:
    """The entries of a run folder that its format does not name: files, and every symbolic link (never
    followed), as POSIX paths relative to the folder."""
    found = []
    for directory, folders, files in os.walk(folder):
        base = Path(directory).relative_to(folder)
        for name in list(folders):
            if (Path(directory) / name).is_symlink():
                found.append((base / name).as_posix())
        for name in files:
            relative = (base / name).as_posix()
            if (Path(directory) / name).is_symlink() or not owns(kind, relative):
                found.append(relative)
    return found


def _delete_owned(folder: Path, kind) -> None:
    """Delete the files of `folder` that `kind`'s format names and the folders left empty; anything else
    (a user's file, a symbolic link) stays, and so does the folder holding it."""
    for directory, folders, files in os.walk(folder, topdown=False):
        base = Path(directory).relative_to(folder)
        for name in files:
            path = Path(directory) / name
            if not path.is_symlink() and owns(kind, (base / name).as_posix()):
                path.unlink(missing_ok=True)
        try:
            os.rmdir(directory)
        except OSError:
            pass  # not empty: it holds something that is not ours
