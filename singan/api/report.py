"""`singan report RUN|FOLDER`: one self-contained HTML page per run (RUN/report.html), and for a folder of runs
(a batch's run root, with or without its batch.json) an index page with one row per run, linking to theirs.

Here: where the pages go, the folder's index and the batch manifest it reads. What a run's page shows is
gathered by singan.api.report_runs (one function per run format); the markup is singan.api.report_html's. Pages
are written atomically, and no file but a report page is ever replaced: `--out` must name an .html file that does
not exist or that an earlier report wrote.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from singan.api import report_html as markup
from singan.api.batch import FORMAT as BATCH_FORMAT
from singan.api.batch import MANIFEST_FILE
from singan.api.report_runs import RunPage, eval_headline, read_optional_json, run_page
from singan.device import resolve_device
from singan.errors import ConfigError, RunError, SinGANError
from singan.events import EventHandler, Notice, ignore
from singan.files import atomic_write_bytes, check_folder, describe_os_error
from singan.runs.common import REPORT_FILE, find_run
from singan.runs.directory import RECORD_FILE

REPORT_SUFFIXES = (".html", ".htm")
# How much of an existing --out file is read to see whether a report wrote it.
MARK_BYTES = 4096
_STATUS_TONES = {"trained": "good", "resumed": "good", "skipped": "good", "complete": "good", "failed": "bad",
                 "incomplete": "warn", "running": "warn", "pending": "warn", "unreadable": "bad"}


def write_report(target: str | Path, *, out: str | Path | None = None, device: str = "cpu",
                 on_event: EventHandler = ignore) -> Path:
    """Write the report of `target` and return its path: for a run (any family), RUN/report.html; for a folder
    of runs, FOLDER/report.html, an index of them, after each run's own page. `out` puts the (index) page
    elsewhere. `target` may be a run name under Output/. The pages' images are computed on `device` (the
    noise always on the CPU, from fixed seeds), so the same run gives the same page. `on_event` hears a Notice
    for each run of a folder that could not be reported (its row says why)."""
    directory = find_run(target)
    if not directory.exists():
        raise RunError(f"{target}: no such run or folder")
    if not directory.is_dir():
        raise RunError(f"{target}: a file, not a run or a folder of runs")
    destination = report_path(directory, out)
    resolve_device(device)  # a device that is not there is one error, not one per run of a folder
    if (directory / RECORD_FILE).exists():
        page = run_page(directory, device)
        return _write(destination, _run_document(page))
    return _write_folder(directory, destination, device, on_event)


def report_path(directory: Path, out: str | Path | None) -> Path:
    """Where the page goes: DIRECTORY/report.html, or `out`, which must be an .html file that is not there yet
    or is an earlier report (nothing else is ever replaced); checked before any work."""
    if out is None:
        return directory / REPORT_FILE
    out = Path(out)
    if out.suffix.lower() not in REPORT_SUFFIXES:
        raise ConfigError(f"--out {out}: a report is an HTML page; give a file name ending in .html")
    if out.is_dir():
        raise ConfigError(f"--out {out}: a folder; give a file name such as {out / REPORT_FILE}")
    if out.exists() and not _is_report(out):
        raise ConfigError(f"--out {out}: the file exists and is not a singan report, so it is not replaced; "
                          f"choose another name")
    check_folder(out.parent)
    return out


def _is_report(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return markup.GENERATOR_MARK.encode("utf-8") in stream.read(MARK_BYTES)
    except OSError:
        return False


def _write(path: Path, document: str) -> Path:
    atomic_write_bytes(path, document.encode("utf-8"))
    return path


def _run_document(page: RunPage) -> str:
    return markup.page(page.title, page.kind, _status_badges(page), page.body)


def _status_badges(page: RunPage) -> str:
    text = markup.badge(page.status, _STATUS_TONES.get(page.status, "dim"))
    return text + (f'<span class="note">{markup.esc(page.detail)}</span>' if page.detail else "")


# ---- a folder of runs ----------------------------------------------------------------------------------------

@dataclass
class IndexRow:
    """One row of a folder's index: a run (its page, when one could be made) or a batch image without one."""

    name: str
    status: str
    page: RunPage | None = None
    report: Path | None = None
    minutes: float | None = None
    error: str | None = None
    image: str | None = None


def _write_folder(folder: Path, destination: Path, device: str, on_event: EventHandler) -> Path:
    manifest, problem = read_manifest(folder)
    runs = {entry.name: entry for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
            if not entry.name.startswith(".") and entry.is_dir() and (entry / RECORD_FILE).exists()}
    if not runs and manifest is None:
        raise RunError(f"{folder}: no runs in it (a run is a folder holding {RECORD_FILE}); give a run or a folder "
                       f"of runs")
    rows = []
    for item in manifest or []:
        name = Path(str(item.get("run", ""))).name
        rows.append(_row(runs.pop(name, None), name, item, device, on_event))
    rows += [_row(directory, name, None, device, on_event) for name, directory in runs.items()]
    body = _index_body(folder, rows, manifest, problem, destination.parent)
    counts = Counter(row.status for row in rows)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    status = markup.badge(f"{len(rows)} run{'s' if len(rows) != 1 else ''}", "dim") + \
        f'<span class="note">{markup.esc(summary)}</span>'
    title = folder.resolve().name or str(folder)
    return _write(destination, markup.page(title, "folder of runs" if manifest is None else "batch", status, body))


def read_manifest(folder: Path) -> tuple[list[dict] | None, str | None]:
    """The images of FOLDER/batch.json (`singan batch`'s manifest), or None when there is none; a manifest that
    cannot be read is None and a note saying why (the index is then made from the runs alone)."""
    values, problem = read_optional_json(folder / MANIFEST_FILE)
    if problem:
        return None, f"{problem}; the runs are listed without it"
    if values is None:
        return None, None
    images = values.get("images") if isinstance(values, dict) else None
    if not isinstance(values, dict) or values.get("format") != BATCH_FORMAT or not isinstance(images, list):
        return None, f"{MANIFEST_FILE} is not a singan batch manifest; the runs are listed without it"
    return [item for item in images if isinstance(item, dict)], None


def _row(directory: Path | None, name: str, item: dict | None, device: str, on_event: EventHandler) -> IndexRow:
    """A run's row, after writing its page; a run that cannot be read is a row with the error."""
    item = item or {}
    row = IndexRow(name=name, status=str(item.get("status") or ""), minutes=_minutes(item.get("minutes")),
                   error=item.get("error") if isinstance(item.get("error"), str) else None,
                   image=item.get("image") if isinstance(item.get("image"), str) else None)
    if directory is None:
        row.status = row.status or "missing"
        return row
    try:
        row.page = run_page(directory, device)
        row.report = _write(directory / REPORT_FILE, _run_document(row.page))
    except SinGANError as error:
        row.error, row.page = str(error), None
    except OSError as error:
        row.error = describe_os_error(error)
    if row.report is None:
        on_event(Notice(f"{directory}: no report ({row.error})"))
    row.status = row.status or (row.page.status if row.page is not None else "unreadable")
    if row.minutes is None and row.page is not None:
        row.minutes = row.page.minutes
    if row.page is not None and not row.page.figures and isinstance(item.get("eval"), dict):
        row.page.figures = eval_headline(item["eval"])  # the manifest's, where the run has no eval.json
    return row


def _minutes(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _index_body(folder: Path, rows: list[IndexRow], manifest: list[dict] | None, problem: str | None,
                base: Path) -> str:
    cells, classes = [], []
    for row in rows:
        page = row.page
        thumbnail = markup.picture(page.thumbnail, row.name, "thumb") if page and page.thumbnail else ""
        name = markup.esc(row.name)
        if row.report is not None:
            href = quote(Path(os.path.relpath(row.report, base)).as_posix())
            name = f'<a href="{markup.esc(href)}">{name}</a>'
        if row.image:
            name += f'<br><span class="note">{markup.esc(row.image)}</span>'
        status = markup.badge(row.status, _STATUS_TONES.get(row.status, "dim"))
        if page is not None and page.status != row.status and page.status == "incomplete":
            status += markup.badge(page.status, "warn")
        cells.append([thumbnail, name, markup.esc(page.kind if page else "-"), status,
                      markup.esc(page.progress if page else "-"), markup.esc(markup.number(row.minutes, 3)),
                      markup.esc(page.figures if page and page.figures else "-"), markup.esc(row.error or "")])
        classes.append(f"run {row.status}")
    table = markup.table(["", "run", "kind", "status", "progress", "minutes", "evaluation", "error"], cells,
                         css_class="data index", row_classes=classes)
    parts = [markup.facts([("folder", folder), ("manifest", "batch.json" if manifest is not None else "none")])]
    if problem:
        parts.append(markup.note(problem, "warn"))
    parts.append(markup.section("Runs", table))
    return "\n".join(parts)


