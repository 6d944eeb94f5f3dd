"""`singan batch`: SinGAN on many images, one run each (Output/<stem>/), and tasks on each finished run.

Each run is trained, resumed or skipped as its directory says (a complete run is skipped, an incomplete one
resumed), so a killed batch started again goes on where it stopped. A failure (an unreadable image, a
non-finite loss, a folder in the way) is recorded for its image and the batch goes on. `batch.json` in the run
root (the manifest: per image its run, status, scales, minutes, error and eval figures) is rewritten
atomically after every image.
"""

from __future__ import annotations

import glob
import hashlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from singan.api import batch_jobs
from singan.api import singan as singan_api
from singan.api import singan_tasks
from singan.config.singan import TrainConfig
from singan.device import peak_memory_mb, reset_peak_memory, resolve_device
from singan.data.imagefolder import IMAGE_EXTENSIONS, find_image_files
from singan.errors import ConfigError, InputImageError, RunError, SinGANError, one_line
from singan.events import BatchImageFinished, BatchImageStarted, EventHandler, Notice, ignore
from singan.files import atomic_write_json, describe_os_error
from singan.images import DEFAULT_MAX_PIXELS, file_sha256
from singan.runs import open_run
from singan.runs.directory import run_path, run_root
from singan.training import distributed

MANIFEST_FILE = "batch.json"
PARTS_DIR = ".batch"
FORMAT, FORMAT_VERSION = "singan-batch", 1
# The tasks `--then` may run on each finished run, in this order; `report` writes the pages of every run and
# the batch's index once all images are done (the index needs them all).
THEN_TASKS = ("sample", "animate", "eval", "report")
RUN_TASKS = THEN_TASKS[:-1]
SAMPLE_SEEDS = [0, 1, 2, 3]
GLOB_CHARACTERS = "*?["


@dataclass
class BatchItem:
    """One image of a batch, as the manifest records it."""

    image: str
    run: str
    status: str = "pending"  # pending, running, trained, resumed, skipped, failed
    scales: list[int] | None = None  # [trained, planned]
    minutes: float | None = None
    error: str | None = None
    outputs: dict = field(default_factory=dict)  # task -> what it wrote
    eval: dict | None = None
    peak_gpu_mb: float | None = None  # the most GPU memory the image's training and tasks held (CUDA only)


@dataclass
class BatchResult:
    items: list[BatchItem]
    manifest: Path
    main: bool = True  # False in the other processes of a torchrun batch, which report nothing
    report: Path | None = None  # the batch's index page (--then report)

    @property
    def failed(self) -> list[BatchItem]:
        return [item for item in self.items if item.status == "failed"]


def collect_images(inputs: list[str | Path]) -> list[Path]:
    """The image files that inputs name: files, folders (searched recursively) and glob patterns (** included),
    each once, sorted by path so that every process of a batch sees the same list."""
    found = []
    for entry in map(str, inputs):
        path = Path(entry)
        if path.is_dir():
            found += find_image_files(path)
        elif path.is_file():
            found.append(path)
        elif any(character in entry for character in GLOB_CHARACTERS):
            matches = [Path(match) for match in glob.glob(entry, recursive=True)]
            images = [match for match in matches if match.is_file() and match.name.lower().endswith(IMAGE_EXTENSIONS)]
            if not images:
                raise InputImageError(f"{entry}: the pattern matches no image files")
            found += images
        else:
            raise InputImageError(f"{entry}: no such file or folder")
    unique = {str(path.resolve()): path for path in found}
    return [unique[key] for key in sorted(unique)]


def run_names(images: list[Path]) -> list[str]:
    """One run name per image: its file name's stem; where stems clash, stem-<its folder's name>, and where
    those clash too, stem-<8 hex digits of its path>. Each name depends only on the images, not on the order
    the batch meets them."""
    stems = Counter(image.stem for image in images)
    named = [image.stem if stems[image.stem] == 1 else f"{image.stem}-{image.resolve().parent.name}"
             for image in images]
    counts = Counter(named)
    return [name if counts[name] == 1 else f"{image.stem}-{_path_digest(image)}" for image, name in zip(images, named)]


def _path_digest(image: Path) -> str:
    return hashlib.sha1(str(image.resolve()).encode("utf-8")).hexdigest()[:8]


def check_then(tasks: list[str]) -> list[str]:
    unknown = [task for task in tasks if task not in THEN_TASKS]
    if unknown:
        raise ConfigError(f"--then {','.join(unknown)}: the tasks are {', '.join(THEN_TASKS)}")
    return [task for task in THEN_TASKS if task in tasks]


def run_batch(inputs: list[str | Path], config: TrainConfig, *, out: str | Path | None = None, device: str = "auto",
              then: list[str] = (), on_event: EventHandler = ignore, max_pixels: int = DEFAULT_MAX_PIXELS,
              jobs_per_device: int = 1) -> BatchResult:
    """Train (resume, or skip) a run per image of `inputs` with `config`, then the `then` tasks on each;
    returns what happened to each image and the manifest's path.

    The images are shared out over slots: under torchrun every process has `jobs_per_device` slots (job
    processes on its local rank's device, when more than one), image i goes to slot i mod (processes x jobs)
    over the list sorted by path, so a relaunch gives each slot the same ones. A slot writes only its own runs
    and its own part of the manifest; the first slot merges the parts into batch.json. Only the first
    process reports events; the result of the first process lists every image.
    """
    tasks = check_then(list(then))
    config = config.validate()
    if jobs_per_device < 1:
        raise ConfigError(f"--jobs-per-device {jobs_per_device}: give 1 or more")
    images = collect_images(inputs)
    names = run_names(images)
    items = [BatchItem(str(image), str(run_root(out) / name)) for image, name in zip(images, names)]
    device = distributed.local_device_name(device)
    world = distributed.start(resolve_device(device).type)
    slots = world.size * jobs_per_device
    plan = Plan(names, None if out is None else str(out), config, device, tasks, max_pixels, slots)
    report = on_event if world.main else ignore
    manifest = Manifest(run_root(out), config, distributed.World(world.rank * jobs_per_device, slots))
    try:
        if jobs_per_device == 1:
            run_slot(plan, items, world.rank, report)
        else:
            _run_jobs(plan, items, [world.rank * jobs_per_device + job for job in range(jobs_per_device)], report)
        distributed.barrier(world)
        result = BatchResult(manifest.finish(items), manifest.path, world.main)
        if "report" in tasks and world.main:
            result.report = _write_report(run_root(out), device, on_event)
        return result
    except KeyboardInterrupt:
        if jobs_per_device > 1:  # the jobs' last states, which the first job may not have merged
            manifest.finish(items)
        raise
    finally:
        distributed.stop(world)


@dataclass(frozen=True)
class Plan:
    """What every slot of a batch needs besides its images (sent to job processes as it is)."""

    names: list[str]
    out: str | None
    config: TrainConfig
    device: str
    tasks: list[str]
    max_pixels: int
    slots: int


def run_slot(plan: Plan, items: list[BatchItem], slot: int, on_event: EventHandler) -> None:
    """The images of one slot (i mod slots == slot), one after another."""
    manifest = Manifest(run_root(plan.out), plan.config, distributed.World(slot, plan.slots))
    for index in range(slot, len(items), plan.slots):
        _run_one(items, index, plan, on_event, manifest)


def _run_jobs(plan: Plan, items: list[BatchItem], slots: list[int], on_event: EventHandler) -> None:
    """This process's slots as job processes on its device at once; a job that dies has its unfinished images
    failed in its part of the manifest (it no longer writes there), so the batch still ends with every image's
    state."""
    threads = max(1, torch.get_num_threads() // len(slots))  # K jobs on the cores one process had: no spinning
    codes = batch_jobs.run_jobs(_job_main, [(plan, items, slot, threads) for slot in slots], on_event, threads)
    for slot, code in zip(slots, codes):
        if code != 0:
            _fail_unfinished(plan, items, slot, f"its job process stopped (exit code {code}) before finishing it; "
                                                f"run the batch again")


def _job_main(plan: Plan, items: list[BatchItem], slot: int, threads: int, on_event: EventHandler) -> None:
    """A job process: its slot's images, reporting only the per-image events (the parent shows one line per
    image; the iteration events of several images at once would make no sense as one set of bars)."""
    torch.set_num_threads(threads)
    run_slot(plan, items, slot, batch_jobs.only(on_event, (BatchImageStarted, BatchImageFinished)))


def _fail_unfinished(plan: Plan, items: list[BatchItem], slot: int, reason: str) -> None:
    manifest = Manifest(run_root(plan.out), plan.config, distributed.World(slot, plan.slots))
    known = {entry["image"]: BatchItem(**entry) for entry in _read_part(manifest.part_path(slot))}
    states = list(items)
    for index in range(slot, len(items), plan.slots):
        states[index] = known.get(items[index].image, items[index])
        if states[index].status in ("pending", "running"):
            states[index].status, states[index].error = "failed", reason
    manifest.write(states)


def _run_one(items: list[BatchItem], index: int, plan: Plan, on_event: EventHandler, manifest: "Manifest") -> None:
    item, started = items[index], time.perf_counter()
    item.status = "running"
    manifest.write(items)
    try:
        # A name that cannot be a run's, or a folder in the way, fails this image alone.
        directory = run_path(plan.out, plan.names[index], origin=f"the name of {item.image}")
        action = _action(directory, Path(item.image))
        on_event(BatchImageStarted(index + 1, len(items), item.image, item.run, action))
        _process(item, action, plan, on_event)
    except SinGANError as error:
        item.status, item.error = "failed", one_line(error, 500)
    except OSError as error:
        item.status, item.error = "failed", describe_os_error(error)
    item.minutes = round((time.perf_counter() - started) / 60, 3)
    manifest.write(items)
    on_event(BatchImageFinished(index + 1, len(items), item.image, item.run, item.status, item.minutes, item.error))


def _action(directory: Path, image: Path) -> str:
    """train, resume or skip; a complete run of another image (an earlier batch's, of the same name) is an
    error, as resuming one is."""
    if not singan_api.has_run(directory):
        return "train"
    record = open_run(directory, "singan").record
    if not record.complete:
        return "resume"
    if file_sha256(image) != record.input.sha256:
        raise RunError(f"{directory} holds a run of another image ({record.input.path}); give the batch another "
                       f"--out")
    return "skip"


def _process(item: BatchItem, action: str, plan: Plan, on_event: EventHandler) -> None:
    directory, device = Path(item.run), resolve_device(plan.device)
    reset_peak_memory(device)
    try:
        _train_and_tasks(item, directory, action, plan, on_event)
    finally:
        item.peak_gpu_mb = peak_memory_mb(device)


def _train_and_tasks(item: BatchItem, directory: Path, action: str, plan: Plan, on_event: EventHandler) -> None:
    if action != "skip":
        singan_api.train_run(item.image, plan.config, out=directory.parent, name=directory.name, device=plan.device,
                             resume=True, estimate=False, on_event=on_event, max_pixels=plan.max_pixels)
    record = open_run(directory, "singan").record
    item.scales = [len(record.scales), record.num_scales]
    item.status = {"train": "trained", "resume": "resumed", "skip": "skipped"}[action]
    tasks = [task for task in plan.tasks if task in RUN_TASKS]
    if tasks:
        run = singan_api.load_run(directory, device=plan.device)
        for task in tasks:
            item.outputs[task], figures = _run_task(run, task, plan, on_event)
            item.eval = figures or item.eval


def _run_task(run, task: str, plan: Plan, on_event: EventHandler) -> tuple[list[str], dict | None]:
    """What one --then task writes into the run (its default folder), and the eval figures."""
    if task == "sample":
        return [str(path) for path in singan_tasks.sample_run(run, SAMPLE_SEEDS)], None
    if task == "animate":
        return [str(path) for path in singan_tasks.animate_run(run, on_event=on_event)], None
    evaluation, path = singan_tasks.evaluate_run(run, on_event=on_event)
    return [str(path)], evaluation.to_dict()


def _write_report(root: Path, device: str, on_event: EventHandler) -> Path | None:
    """The batch's index page and its runs' pages; a failure to write them is a notice, the batch is done."""
    from singan.api.report import write_report  # here: the report reads this module's manifest

    try:
        return write_report(root, device=device, on_event=on_event)
    except SinGANError as error:
        on_event(Notice(f"no report: {one_line(error, 500)}"))
    except OSError as error:
        on_event(Notice(f"no report: {describe_os_error(error)}"))
    return None


class Manifest:
    """batch.json in the run root, rewritten atomically: the batch's settings and every image's state. With more
    than one slot (torchrun, --jobs-per-device) each slot writes only its part (.batch/part-S-of-N.json: the
    images it has met) and the first slot merges the parts into batch.json after each of its images (and the
    first process at the end), so that no file is written by two processes at once."""

    def __init__(self, root: Path, config: TrainConfig, world: distributed.World):
        self.path, self.config, self.world = root / MANIFEST_FILE, config, world
        self.parts = root / PARTS_DIR

    def part_path(self, rank: int) -> Path:
        return self.parts / f"part-{rank}-of-{self.world.size}.json"

    def write(self, items: list[BatchItem]) -> None:
        if not self.world.distributed:
            self._write_merged(items)
            return
        mine = [asdict(item) for item in items if item.status != "pending"]
        atomic_write_json(self.part_path(self.world.rank), {"images": mine})
        if self.world.main:
            self._write_merged(self.merged(items))

    def finish(self, items: list[BatchItem]) -> list[BatchItem]:
        """Every image's last state once all processes are done; the first process writes it to batch.json."""
        merged = self.merged(items)
        if self.world.distributed and self.world.main:  # one process wrote batch.json after every image already
            self._write_merged(merged)
        return merged

    def merged(self, items: list[BatchItem]) -> list[BatchItem]:
        """The images with the state their processes last wrote (this process's own as it holds them)."""
        if not self.world.distributed:
            return items
        known = {}
        for rank in range(self.world.size):
            known |= {entry["image"]: entry for entry in _read_part(self.part_path(rank))}
        return [BatchItem(**known[item.image]) if item.image in known else item for item in items]

    def _write_merged(self, items: list[BatchItem]) -> None:
        counts = Counter(item.status for item in items)
        atomic_write_json(self.path, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                      "config": self.config.to_dict(), "processes": self.world.size,
                                      "counts": dict(sorted(counts.items())),
                                      "images": [asdict(item) for item in items]})


def _read_part(path: Path) -> list[dict]:
    """A process's part of the manifest; none yet (or one cut short by a kill) is no entries."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    fields = set(BatchItem.__dataclass_fields__)
    return [entry for entry in values.get("images", []) if isinstance(entry, dict) and set(entry) == fields]
