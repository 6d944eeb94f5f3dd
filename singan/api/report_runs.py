"""What `singan report` shows of one run, per run format: its record, the images computed from it or written
by its training, its log as charts and its eval.json; `run_page` tells the formats apart.

Images computed here come from fixed seeds with the noise drawn on the CPU (the tasks' seed policy), so the
same run gives the same page. Reading a run's files happens here; the markup is singan.api.report_html's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from singan.api import gan as gan_api
from singan.api.report_html import Picture, Series, badge, esc, facts, line_chart, note, number, picture, section, table
from singan.errors import InputImageError, SinGANError, one_line
from singan.events import duration_text
from singan.files import read_json_lines
from singan.images import encode_png, image_grid, load_image
from singan.pyramid import PyramidPlan, build_pyramid, resize
from singan.runs import Run, open_run
from singan.runs import esrgan as esrgan_format
from singan.runs import gan as gan_format
from singan.runs import imported as imported_format
from singan.runs import singan as singan_format
from singan.runs.common import EVALUATION_FILE, LOG_FILE
from singan.runs.directory import read_record_values
from tasks.gan.generate import generated_images
from tasks.singan.sample import sample_images

# The sample of each scale's card, and the strip of samples at the finest scale (`singan sample --seeds 0-7`).
SAMPLE_SEED = 0
STRIP_SEEDS = list(range(8))
# A network's generated grid (imported networks, and trained runs without snapshots).
GRID_SEEDS = list(range(8))
# A page shows at most this many snapshots of a training, spread over it (the first and the last included).
MOST_SNAPSHOTS = 12
# Longest sides, in pixels, of the pictures a page embeds (larger ones are shrunk, so that pages stay small).
SNAPSHOT_SIDE = 768
GENERATED_SIDE = 192
# Small grids are shown enlarged (whole times) to at least this width.
GRID_WIDTH = 480
THUMBNAIL_SIDE = 160
_SINGAN_LOSSES = {"critic": "critic", "gradient_penalty": "gradient penalty", "adversarial": "generator (adversarial)",
                  "reconstruction": "reconstruction"}
_MAIN_LOSSES = ("critic", "generator")


@dataclass
class RunPage:
    """One run's page, and what a folder's index shows of it."""

    title: str
    kind: str  # "SinGAN run"
    status: str  # "complete" or "incomplete"
    detail: str  # "3 of 4 scales trained"
    body: str  # markup
    progress: str = ""  # "4/4 scales", "32/32 kimg"
    minutes: float | None = None  # training time
    figures: str = ""  # the eval figures in a line
    thumbnail: Picture | None = None


def run_page(directory: Path, device: str = "cpu") -> RunPage:
    """The page of the run in `directory`, of any format; a missing, unreadable or corrupt run is a RunError."""
    run = open_run(directory)
    return _PAGES[run.kind.format](run, device)


# ---- SinGAN ---------------------------------------------------------------------------------------------------

def _singan_page(run: Run, device: str) -> RunPage:
    record = run.record
    model = singan_format.load(run.directory, record, device, require_complete=False).model
    with torch.no_grad():
        real = singan_format.load_real(run.directory, record).to(model.device)
        plan = PyramidPlan(tuple(record.input.size), tuple(record.planned_sizes), record.pyramid["scale_factor"])
        logged = _singan_log(run.directory)
        cards = [_scale_card(model, record, scale, real_at_scale, logged.get(scale, {}))
                 for scale, real_at_scale in enumerate(build_pyramid(real, plan))]
        strip = [image for _, image in sample_images(model, STRIP_SEEDS)] if model.num_scales else []
    trained, planned = len(record.scales), record.num_scales
    seconds = sum(entry.seconds for entry in record.scales)
    evaluation, eval_note = _evaluation(run.directory)
    parts = [_singan_facts(run, seconds)]
    if strip:
        parts.append(_strip_section(strip, model.sizes[-1]))
    parts.append(_evaluation_section(evaluation, eval_note, _singan_eval_rows, "singan eval RUN"))
    parts.append(section("Scales", '<div class="scales">' + "".join(cards) + "</div>"))
    return RunPage(title=run.directory.name, kind="SinGAN run", status=_completeness(record.complete),
                   detail=f"{trained} of {planned} scales trained", body="\n".join(parts),
                   progress=f"{trained}/{planned} scales", minutes=seconds / 60, figures=eval_headline(evaluation),
                   thumbnail=_thumbnail(strip[0] if strip else real))


def _singan_facts(run: Run, seconds: float) -> str:
    record = run.record
    trained, planned = len(record.scales), record.num_scales
    warning = "" if record.complete else note(
        f"Incomplete: {trained} of {planned} scales are trained; this page shows those. Finish the run with: "
        f"{singan_format.resume_command(run.directory, record.input.path)}", "warn")
    return warning + section("Run", facts([
        ("image", record.input.path), ("image size", _size(record.input.size)),
        ("finest scale", _size(record.planned_sizes[-1])), ("scales", f"{trained} of {planned} trained"),
        ("scale factor", number(record.pyramid["scale_factor"])), ("seed", record.seed), ("device", record.device),
        ("training time", duration_text(seconds)), ("iterations per scale", record.config.get("iterations")),
        ("created", record.created), ("versions", f"singan {record.package_version}, torch {record.torch_version}")]))


def _strip_section(strip: list[torch.Tensor], size) -> str:
    seeds = f"{STRIP_SEEDS[0]}-{STRIP_SEEDS[-1]}"
    pictures = "".join(picture(_picture(image), f"sample, seed {seed}", caption=f"seed {seed}")
                       for seed, image in zip(STRIP_SEEDS, strip))
    return section(f"Random samples at the finest trained scale ({_size(size)})",
                   note(f"seeds {seeds}, as singan sample RUN --seeds {seeds} draws them")
                   + f'<div class="strip">{pictures}</div>', "samples")


def _scale_card(model, record, scale: int, real: torch.Tensor, logged: dict[str, list]) -> str:
    """A scale's card: its size, width, noise amplitude and time; the real image, a sample and the
    reconstruction at that scale; its losses."""
    size = record.planned_sizes[scale]
    channels = record.train_config.width(scale)
    real_picture = picture(_picture(real), f"real image, scale {scale}", caption="real")
    if scale >= len(record.scales):
        return (f'<section class="scale untrained" data-scale="{scale}" data-size="{size[1]}x{size[0]}">'
                f'<h3>Scale {scale}: {_size(size)}</h3><p class="line">{badge("not trained", "warn")}'
                f'{channels} channels</p><div class="triple">{real_picture}</div></section>')
    entry = record.scales[scale]
    (_, sample), = sample_images(model.coarsest(scale + 1), [SAMPLE_SEED])
    reconstruction = model.reconstruct(scale)
    line = (f"{entry.channels} channels &middot; noise amplitude {esc(number(entry.noise_amp))} &middot; "
            f"{entry.iterations} iterations &middot; {esc(duration_text(entry.seconds))}")
    chart = line_chart([Series(_SINGAN_LOSSES.get(name, name), points) for name, points in logged.items()],
                       title=f"scale {scale} losses", x_label="iteration", y_label="loss")
    return (f'<section class="scale trained" data-scale="{scale}" data-size="{size[1]}x{size[0]}">'
            f'<h3>Scale {scale}: {_size(size)}</h3><p class="line">{line}</p><div class="triple">{real_picture}'
            f'{picture(_picture(sample), f"sample, scale {scale}", caption=f"sample (seed {SAMPLE_SEED})")}'
            f'{picture(_picture(reconstruction), f"reconstruction, scale {scale}", caption="reconstruction")}'
            f'</div>{chart}</section>')


def _singan_log(directory: Path) -> dict[int, dict[str, list]]:
    """scale -> loss name -> [(iteration, value)] from log.jsonl."""
    found: dict[int, dict[str, list]] = {}
    for entry in read_json_lines(directory / LOG_FILE):
        if not isinstance(entry, dict) or not _is_count(entry.get("scale")) or not _is_number(entry.get("iteration")):
            continue
        losses = found.setdefault(entry["scale"], {})
        for name, value in entry.items():
            if name not in ("scale", "iteration") and _is_number(value):
                losses.setdefault(name, []).append((entry["iteration"], value))
    return found


def _singan_eval_rows(values: dict) -> list[list[str]]:
    swd, rows = values["swd"], []
    for index, (value, floor, size) in enumerate(zip(swd["levels"], swd["floor_levels"], swd["level_sizes"])):
        rows.append([f"SWD level {index} ({size[1]}x{size[0]})", number(value), _versus_floor(value, floor)])
    rows.append(["SWD average (x1000)", number(swd["average"]), _versus_floor(swd["average"], swd["floor"])])
    reconstruction = values.get("reconstruction_swd")
    if isinstance(reconstruction, dict):
        rows.append(["SWD of the reconstruction", number(reconstruction["average"]),
                     _versus_floor(reconstruction["average"], reconstruction["floor"])])
    rows.append(["diversity", number(values["diversity"]), "0 for copies; the paper: about 0.5 from scale 0"])
    sifid = values.get("sifid")
    rows.append(["SIFID", number(sifid) if sifid is not None else "skipped",
                 "lower is better" if sifid is not None else "needs --inception-weights"])
    rows.append(["samples", str(values.get("num")), f"from scale {values.get('start_scale')}, seeds from "
                 f"{values.get('seed')}"])
    return rows


# ---- multi-image GANs ----------------------------------------------------------------------------------------

def _gan_page(run: Run, device: str) -> RunPage:
    record, config = run.record, run.record.gan_config
    snapshots = _snapshots(run.directory / gan_format.SNAPSHOTS_DIR, r"snapshot_(\d{6,})k\.png")
    log = [entry for entry in read_json_lines(run.directory / LOG_FILE)
           if isinstance(entry, dict) and _is_number(entry.get("kimg"))]
    evaluation, eval_note = _evaluation(run.directory)
    stage = record.derived()["stage"]
    speeds = [entry["seconds_per_kimg"] for entry in log if _is_number(entry.get("seconds_per_kimg"))]
    parts = []
    if not record.complete:
        parts.append(note(f"Incomplete: {record.images_seen / 1000:g} of {config.kimg:g} kimg trained; continue "
                          f"with: singan gan train {record.data.get('path')} --resume --out {run.directory.parent} "
                          f"--name {run.directory.name}", "warn"))
    parts.append(section("Run", facts([
        ("architecture", config.arch), ("resolution", f"{config.resolution} px"),
        ("trained", f"{record.images_seen / 1000:g} of {config.kimg:g} kimg"),
        ("stage", f"{stage['resolution']} px, alpha {number(stage['alpha'], 3)}"),
        ("data", f"{record.data.get('path')} ({record.data.get('images')} images)"), ("batch", config.batch),
        ("seed", record.seed), ("device", f"{record.device}, {record.processes} process(es)"),
        ("training time", duration_text(record.seconds)),
        ("s/kimg", f"{number(speeds[-1], 3)} (last), {number(sorted(speeds)[len(speeds) // 2], 3)} (median)"
         if speeds else None), ("created", record.created),
        ("versions", f"singan {record.package_version}, torch {record.torch_version}")])))
    shown, thumbnail = _snapshot_section(snapshots, "kimg", lambda count: f"{count} kimg")
    parts.append(shown)
    if not snapshots and record.images_seen:
        grid, thumbnail = _generated_section(run, device, "Generated images (no snapshots in the run)")
        parts.append(grid)
    parts.append(_evaluation_section(evaluation, eval_note, _gan_eval_rows, "singan gan eval RUN FOLDER"))
    parts.append(section("Training log", _gan_charts(log)))
    seen = f"{record.images_seen / 1000:g}/{config.kimg:g} kimg"
    return RunPage(title=run.directory.name, kind=f"GAN run ({config.arch}, {config.resolution} px)",
                   status=_completeness(record.complete), detail=f"{seen} trained", body="\n".join(parts),
                   progress=seen, minutes=record.seconds / 60, figures=eval_headline(evaluation),
                   thumbnail=thumbnail)


def _gan_charts(log: list[dict]) -> str:
    names = list(dict.fromkeys(name for entry in log if isinstance(entry.get("losses"), dict)
                               for name in entry["losses"]))

    def series(chosen):
        return [Series(name.replace("_", " "), [(entry["kimg"], entry["losses"].get(name)) for entry in log
                                                if isinstance(entry.get("losses"), dict)]) for name in chosen]

    main = [name for name in names if name in _MAIN_LOSSES]
    other = [name for name in names if name not in _MAIN_LOSSES]
    charts = [line_chart(series(main), title="critic and generator losses", x_label="kimg", y_label="loss")]
    if other:
        charts.append(line_chart(series(other), title="the other terms", x_label="kimg", y_label="value"))
    charts.append(line_chart([Series("s/kimg", [(entry["kimg"], entry.get("seconds_per_kimg")) for entry in log])],
                             title="training speed", x_label="kimg", y_label="seconds per kimg"))
    return '<div class="charts">' + "".join(charts) + "</div>"


def _gan_eval_rows(values: dict) -> list[list[str]]:
    swd, rows = values["swd"], []
    for index, (value, floor, size) in enumerate(zip(swd["levels"], swd["floor_levels"], swd["level_sizes"])):
        rows.append([f"SWD level {index} ({size[1]} px)", number(value), f"real-vs-real floor {number(floor)}"])
    rows.append(["SWD average (x1000)", number(swd["average"]), _versus_floor(swd["average"], swd["floor"])])
    fid = values.get("fid")
    rows.append(["FID", number(fid) if fid is not None else "skipped",
                 "lower is better" if fid is not None else "needs --inception-weights"])
    rows.append(["images", f"{values.get('num_generated')} generated", f"against {values.get('num_real')} real"])
    return rows


def _imported_page(run: Run, device: str) -> RunPage:
    record = run.record
    network = record.network
    source = record.source if isinstance(record.source, dict) else {}
    evaluation, eval_note = _evaluation(run.directory)
    parts = [section("Network", facts([
        ("architecture", record.arch), ("resolution", f"{network['resolution']} px"),
        ("source file", source.get("file")), ("source format", source.get("format")),
        ("sha256", source.get("sha256")), ("bytes", source.get("bytes")), ("seed compatibility", record.seed_compat),
        ("options", ", ".join(f"{key} {value}" for key, value in sorted(network.items()))),
        ("notes", "; ".join(map(str, record.notes)) or None), ("imported", record.created),
        ("versions", f"singan {record.package_version}, torch {record.torch_version}")]))]
    grid, thumbnail = _generated_section(run, device, "Generated images")
    parts += [grid, _evaluation_section(evaluation, eval_note, _gan_eval_rows, "singan gan eval RUN FOLDER")]
    return RunPage(title=run.directory.name, kind=f"imported network ({record.arch}, {network['resolution']} px)",
                   status="imported", detail=f"from {source.get('file')}", body="\n".join(parts), progress="-",
                   figures=eval_headline(evaluation), thumbnail=thumbnail)


def _generated_section(run: Run, device: str, title: str) -> tuple[str, Picture | None]:
    """A grid of the network's images of GRID_SEEDS (their default draws, as `singan gan generate`)."""
    try:
        loaded = gan_api.load_gan_run(run.directory, device=device)
        draws = gan_api.draws_for(loaded)
        count = getattr(loaded.generator, "label_count", 0)
        images = []
        with torch.no_grad():
            for seed in GRID_SEEDS:
                chosen = replace(draws, label=seed % count) if count else draws
                images += [_shrunk(image.cpu(), GENERATED_SIDE)
                           for _, image in generated_images(loaded.generator, [seed], draws=chosen)]
    except SinGANError as error:
        return section(title, note(f"no images: {error}", "bad")), None
    caption = f"seeds {GRID_SEEDS[0]}-{GRID_SEEDS[-1]}" + (", one class each" if count else "")
    grid = image_grid(torch.cat(images), columns=len(GRID_SEEDS) // 2)
    shown = picture(_picture(grid), title, least_width=GRID_WIDTH)
    return section(title, note(caption) + f'<div class="wide">{shown}</div>'), _thumbnail(grid)


# ---- ESRGAN family -------------------------------------------------------------------------------------------

def _esrgan_page(run: Run, device: str) -> RunPage:
    record = run.record
    network, training = record.network, record.training
    snapshots = _snapshots(run.directory / esrgan_format.SNAPSHOTS_DIR, r"snapshot_(\d{7,})\.png")
    log = [entry for entry in read_json_lines(run.directory / LOG_FILE)
           if isinstance(entry, dict) and _is_number(entry.get("iteration"))]
    evaluation, eval_note = _evaluation(run.directory)
    source = record.source if isinstance(record.source, dict) else {}
    config = training["config"] if training else {}
    parts = [section("Network", facts([
        ("architecture", network.get("architecture")), ("layout", network.get("layout")),
        ("scale", f"x{network.get('scale')}"), ("features", network.get("features")), ("blocks", network.get("blocks")),
        ("made by", source.get("made_by")),
        ("inputs", ", ".join(map(str, source["inputs"])) if isinstance(source.get("inputs"), list) else None),
        ("alpha", source.get("alpha")), ("last validation", _validation_text(training)),
        ("trained", f"{record.iteration} of {config.get('iterations')} iterations" if training else None),
        ("stage", config.get("stage")), ("training time", duration_text(training.get("seconds", 0)) if training else None),
        ("created", record.created), ("versions", f"singan {record.package_version}, torch {record.torch_version}")]))]
    shown, thumbnail = _snapshot_section(snapshots, "iteration", lambda count: f"iteration {count}",
                                         "LR input, output and HR target of fixed crops")
    parts.append(shown)
    if log:
        parts.append(section("Training log", _esrgan_charts(log)))
    parts.append(_evaluation_section(evaluation, eval_note, None, None))
    progress = f"{record.iteration}/{config.get('iterations')} iterations" if training else "-"
    return RunPage(title=run.directory.name, kind=f"ESRGAN-family run ({network.get('architecture')} "
                   f"x{network.get('scale')})", status=_completeness(record.complete),
                   detail=progress if training else f"made by {source.get('made_by')}", body="\n".join(parts),
                   progress=progress, minutes=training.get("seconds", 0) / 60 if training else None,
                   figures=eval_headline(evaluation), thumbnail=thumbnail)


def _validation_text(training: dict | None) -> str | None:
    validation = training.get("validation") if training else None
    if not isinstance(validation, dict):
        return None
    return f"Y-PSNR {number(validation.get('psnr_y'))} dB, Y-SSIM {number(validation.get('ssim_y'))}"


def _esrgan_charts(log: list[dict]) -> str:
    names = list(dict.fromkeys(name for entry in log if isinstance(entry.get("losses"), dict)
                               for name in entry["losses"]))
    charts = [line_chart([Series(name.replace("_", " "), [(entry["iteration"], entry["losses"].get(name))
                                                          for entry in log if isinstance(entry.get("losses"), dict)])
                          for name in names], title="losses", x_label="iteration", y_label="loss")]
    validated = [entry for entry in log if isinstance(entry.get("validation"), dict)]
    for key, label in (("psnr_y", "Y-PSNR (dB)"), ("ssim_y", "Y-SSIM")):
        points = [(entry["iteration"], entry["validation"].get(key)) for entry in validated]
        if points:
            charts.append(line_chart([Series(label, points)], title=f"validation {label}", x_label="iteration",
                                     y_label=label))
    return '<div class="charts">' + "".join(charts) + "</div>"


# ---- what the formats share ----------------------------------------------------------------------------------

def _snapshots(folder: Path, pattern: str) -> list[tuple[int, Path]]:
    """The snapshot PNGs of a training, as (count, path) in training order."""
    if not folder.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in folder.iterdir()
             if (match := re.fullmatch(pattern, path.name)) and path.is_file()]
    return sorted(found)


def _snapshot_section(snapshots: list[tuple[int, Path]], unit: str, caption, description: str = "") \
        -> tuple[str, Picture | None]:
    """Up to MOST_SNAPSHOTS of them, spread evenly over the training; the last one is the thumbnail."""
    if not snapshots:
        return section("Snapshots", note("no snapshots in the run")), None
    chosen = _spread(snapshots, MOST_SNAPSHOTS)
    figures, problems, last = [], [], None
    for count, path in chosen:
        try:
            image = load_image(path)
        except InputImageError as error:
            problems.append(one_line(error))
            continue
        last = image
        figures.append(picture(_picture(_shrunk(image, SNAPSHOT_SIDE)), f"snapshot at {caption(count)}",
                               caption=caption(count)))
    told = f"{len(chosen)} of {len(snapshots)} snapshots, by {unit}" if len(chosen) < len(snapshots) else \
        f"{len(snapshots)} snapshot{'s' if len(snapshots) != 1 else ''}, by {unit}"
    body = note(f"{told}{'; ' + description if description else ''}") + \
        "".join(note(problem, "bad") for problem in problems) + f'<div class="snapshots">{"".join(figures)}</div>'
    return section("Snapshots over training", body), _thumbnail(last) if last is not None else None


def _spread(items: list, most: int) -> list:
    if len(items) <= most:
        return items
    return [items[round(index * (len(items) - 1) / (most - 1))] for index in range(most)]


def read_optional_json(path: Path) -> tuple[object, str | None]:
    """A JSON file's values; none (None, None) when it does not exist, and None with the reason when it cannot
    be read (a page then says so instead of failing)."""
    if not path.exists():
        return None, None
    try:
        return read_record_values(path), None  # JSON, refused when far larger than any record
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        return None, f"{path.name} is unreadable ({one_line(error)})"


def _evaluation(directory: Path) -> tuple[dict | None, str | None]:
    """RUN/eval.json's figures, or None; an unreadable one is None and a note."""
    values, problem = read_optional_json(directory / EVALUATION_FILE)
    if values is not None and not isinstance(values, dict):
        return None, f"{EVALUATION_FILE} holds no figures"
    return values, problem


def _evaluation_section(values: dict | None, problem: str | None, rows_of, command: str | None) -> str:
    """The figures of eval.json in a table (the family's rows; any other layout as its keys and values); without
    one, a note naming the `command` that writes it (none: no section)."""
    if values is None:
        if problem is None and command is None:
            return ""
        text = problem or f"no eval.json: {command} writes one"
        return section("Evaluation", note(text, "bad" if problem else "dim"), "evaluation")
    try:
        rows = rows_of(values) if rows_of is not None else None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        rows = None
    if rows is None:
        rows = [[key, value, ""] for key, value in _flattened(values)]
    cells = [[esc(cell) for cell in row] for row in rows]
    return section("Evaluation (eval.json)", table(["figure", "value", "note"], cells), "evaluation")


def eval_headline(values: dict | None) -> str:
    """The eval figures of a run in one line, for a folder's index: SWD (x floor), diversity, SIFID or FID."""
    if not isinstance(values, dict):
        return ""
    found = []
    swd = values.get("swd") if isinstance(values.get("swd"), dict) else {}
    if _is_number(swd.get("average")):
        ratio = swd.get("ratio")
        floor = f" ({number(ratio, 3)}x floor)" if _is_number(ratio) else ""
        found.append(f"SWD {number(swd['average'], 3)}{floor}")
    for key, label in (("diversity", "diversity"), ("sifid", "SIFID"), ("fid", "FID")):
        if _is_number(values.get(key)):
            found.append(f"{label} {number(values[key], 3)}")
    return ", ".join(found)


def _flattened(values: object, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(values, dict):
        return [pair for key, value in values.items() for pair in _flattened(value, f"{prefix}{key}.")]
    if isinstance(values, list) and all(not isinstance(value, (dict, list)) for value in values):
        return [(prefix[:-1], ", ".join(number(value) for value in values))]
    if isinstance(values, list):
        return [pair for index, value in enumerate(values) for pair in _flattened(value, f"{prefix}{index}.")]
    return [(prefix[:-1], number(values))]


def _versus_floor(value: float, floor: float) -> str:
    return f"floor {number(floor)} ({value / floor:.2f}x floor)" if floor > 0 else "floor 0 (a flat image)"


def _picture(image: torch.Tensor) -> Picture:
    """A [1, C, H, W] image in [-1, 1] as a PNG (singan.images writes it)."""
    image = image.detach().cpu()
    return Picture(encode_png(image), width=image.shape[-1], height=image.shape[-2])


def _shrunk(image: torch.Tensor, side: int) -> torch.Tensor:
    """The image with its longer side at most `side` pixels."""
    height, width = image.shape[-2:]
    factor = side / max(height, width)
    if factor >= 1:
        return image
    return resize(image, (max(1, round(height * factor)), max(1, round(width * factor)))).clamp(-1, 1)


def _thumbnail(image: torch.Tensor) -> Picture:
    return _picture(_shrunk(image.detach().cpu(), THUMBNAIL_SIDE))


def _size(size) -> str:
    return f"{size[1]}x{size[0]} px"




def _completeness(complete: bool) -> str:
    return "complete" if complete else "incomplete"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_PAGES = {singan_format.KIND.format: _singan_page, gan_format.KIND.format: _gan_page,
          imported_format.KIND.format: _imported_page, esrgan_format.KIND.format: _esrgan_page}
