"""Multi-image GANs (PGGAN, StyleGAN, StyleGAN2) for `singan gan ...` and notebooks: train on a folder of
images, load a run, and the tasks on it. Every file of a run is written from here, through singan.runs.gan."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from singan.api import gan_import
from singan.config.gan import GANConfig
from singan.data.imagefolder import ImageFolderData, load_image_folder
from singan.device import describe_device, resolve_device
from singan.errors import ConfigError, RunError
from singan.events import EventHandler, GANTrainingStarted, Notice, ignore
from singan.files import atomic_write_json, check_folder, describe_os_error
from singan.images import DEFAULT_MAX_PIXELS, check_video, image_grid, save_image, save_seed_images, save_video
from singan.metrics.inception import load_inception
from singan.runs import common, imported, open_run
from singan.runs import gan as runs
from singan.runs.directory import (check_resume_or_force, create_run, finish_interrupted_replacements, holds_run,
                                   prepare_for_writing, record_format, run_root)
from singan.runs.gan import GANRecord, GANRun, run_directory
from singan.runs.imported import ImportedRecord
from singan.seeds import check_seeds, resolve_seed
from singan.training import distributed
from singan.training.architectures import check_training_fits, checked
from singan.training.gan import GANTrainer
from singan.training.session import TrainingSession
from tasks.gan.draws import Draws
from tasks.gan.evaluate import GANEvaluation, evaluate_generator
from tasks.gan.generate import check_images_fit, generated_images
from tasks.gan.interpolate import interpolation_frames
from tasks.gan.mix import style_mixing_grid

# Settings a resumed run may change: how long it trains and how often it reports. The rest define the run.
RESUMABLE_CHANGES = ("kimg", "snapshot_kimg", "checkpoint_kimg", "log_kimg")
GRID_FILE = "grid.png"
VIDEO_STEM = "interpolate"
MIX_IMAGE = "mix.png"
MIX_RECORD = "mix.json"


def train_gan(data: str | Path, config: GANConfig | None = None, *, out: str | Path | None = None,
              name: str | None = None, device: str = "auto", resume: bool = False, force: bool = False,
              strict: bool = False, changes: dict | None = None, on_event: EventHandler = ignore,
              on_loading=None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Train a GAN on a folder of images, or with `resume` continue the run in `out`/`name`; returns its directory.

    On resume the run's own settings apply; `changes` may extend `kimg` or change the reporting intervals.
    Under torchrun every process calls this; only the first one writes.
    """
    check_resume_or_force(resume, force)
    config = checked(config or GANConfig())
    torch_device = resolve_device(distributed.local_device_name(device))
    world = distributed.start(torch_device.type)
    try:
        directory = run_directory(data, config, out, name)
        if resume and record_format(directory) == imported.KIND.format:
            raise RunError(f"{directory} is an imported network, which holds a generator only: there is no "
                           f"training to resume; give another --name")
        if resume and not _writable_run(directory, world):
            # Nothing to continue (no run yet, or one killed before its first files were complete): start it.
            if world.main:
                on_event(Notice(f"nothing to resume in {directory}: starting the run"))
            resume = False
        if resume:
            record = _resumed_record(directory, changes or {})
            config = record.gan_config
        else:
            # Every process must train with the main one's seed: the data order is drawn from it.
            config = config.replace(seed=distributed.shared_integer(resolve_seed(config.seed), world, torch_device))
        check_training_fits(config, world.size, torch_device)  # before the data and the networks are loaded
        images = _load_data(data, config, strict, on_loading, max_pixels)
        if resume:
            _check_same_data(directory, record, images)
        else:
            config = checked(config.replace(image_channels=images.channels))
            record = _new_run(directory, data, images, config, torch_device, world, force)
        try:
            _train(directory, record, images, config, torch_device, world, on_event)
        except OSError as error:
            raise RunError(f"{describe_os_error(error)}; training stopped: continue from the last checkpoint "
                           f"({record.images_seen} images) with --resume") from None
    finally:
        distributed.stop(world)
    return directory


def _writable_run(directory: Path, world: distributed.World) -> bool:
    """Whether `directory` holds a GAN run, once the main process has finished an interrupted replacement
    and cleaned its leftovers."""
    if world.main:
        finish_interrupted_replacements(directory, runs.KIND)
        if holds_run(directory, runs.KIND):
            prepare_for_writing(directory, runs.KIND)
    distributed.barrier(world)
    return holds_run(directory, runs.KIND)


def _load_data(data: str | Path, config: GANConfig, strict: bool, on_loading, max_pixels: int) -> ImageFolderData:
    return load_image_folder(data, config.resolution, square=config.square, strict=strict, on_progress=on_loading,
                             max_pixels=max_pixels)


def _resumed_record(directory: Path, changes: dict) -> GANRecord:
    record = open_run(directory, "gan").record
    if record.images_seen:  # a run killed before its first checkpoint starts again from the beginning
        runs.load_checkpoint(directory)  # a missing or corrupt checkpoint fails here, before any work
    fixed = sorted(key for key, value in changes.items()
                   if value is not None and key not in RESUMABLE_CHANGES and record.config.get(key) != value)
    if fixed:
        flags = ", ".join("--" + key.replace("_", "-") for key in fixed)
        raise ConfigError(f"--resume continues with the settings saved in run.json; leave out {flags} "
                          f"(only --kimg and the reporting intervals may change)")
    given = {key: value for key, value in changes.items() if value is not None and key in RESUMABLE_CHANGES}
    if given:
        record.config = checked(record.gan_config.replace(**given)).to_dict()
    return record


def _check_same_data(directory: Path, record: GANRecord, images: ImageFolderData) -> None:
    if len(images) != record.data["images"] or images.channels != record.data["channels"]:
        raise RunError(f"{directory} was trained on {record.data['images']} images with {record.data['channels']} "
                       f"channel(s); the folder now gives {len(images)} with {images.channels}, so the run cannot "
                       f"be resumed on it")


def _new_run(directory: Path, data: str | Path, images: ImageFolderData, config: GANConfig, device: torch.device,
             world: distributed.World, force: bool) -> GANRecord:
    record = GANRecord(config=config.to_dict(),
                       data={"path": str(data), "images": len(images), "skipped": len(images.skipped),
                             "channels": images.channels},
                       device=describe_device(device), processes=world.size, seed=config.seed)
    if world.main:
        create_run(directory, force, runs.KIND, lambda folder: common.write_record(folder, record))
    distributed.barrier(world)
    return record


def _train(directory: Path, record: GANRecord, images: ImageFolderData, config: GANConfig, device: torch.device,
           world: distributed.World, on_event: EventHandler) -> None:
    trainer = GANTrainer(config, images, device, world)
    if record.images_seen:
        _restore(trainer, directory)
    if world.main:
        for path, reason in images.skipped[:5]:
            on_event(Notice(f"skipped {path}: {reason}"))
        on_event(GANTrainingStarted(str(directory), config.arch, config.resolution, trainer.images_seen,
                                    record.total_images, describe_device(device), world.size, len(images),
                                    len(images.skipped)))
    if record.complete:
        on_event(Notice(f"{directory} has already trained {record.images_seen} of {record.total_images} images; "
                        f"give a larger --kimg with --resume to train on"))
        return
    writer = RunDirectoryWriter(directory, record) if world.main else None
    TrainingSession(trainer, record.total_images, writer, seconds=record.seconds,
                    handle=on_event if world.main else ignore).run()


def _restore(trainer: GANTrainer, directory: Path) -> None:
    """The trainer as the checkpoint left it."""
    tensors, state = runs.load_checkpoint(directory)
    common.restore_from_checkpoint(trainer.restore, tensors, state, directory / runs.CHECKPOINT_FILE)


class RunDirectoryWriter:
    """What a training session writes into the run directory: log lines, snapshot grids, and checkpoints
    followed by run.json."""

    def __init__(self, directory: Path, record: GANRecord):
        self.directory, self.record = directory, record

    def log(self, entry: dict) -> None:
        common.append_log(self.directory, entry)

    def snapshot(self, grid: torch.Tensor, images_seen: int) -> None:
        runs.save_snapshot(self.directory, grid, images_seen)

    def checkpoint(self, tensors: dict[str, torch.Tensor], state: dict, images_seen: int, seconds: float) -> str:
        """The checkpoint first, then run.json, which describes it."""
        path = runs.save_checkpoint(self.directory, tensors, state)
        self.record.images_seen, self.record.seconds = images_seen, seconds
        common.write_record(self.directory, self.record)
        return str(path)


def load_gan_run(directory: str | Path, device: str = "auto") -> GANRun:
    """A multi-image network for tasks on `device`: a trained run (its moving-average generator), an imported
    one, or another project's file (StyleGAN, StyleGAN2) converted in memory."""
    if Path(directory).is_file():
        return gan_import.open_foreign(directory, device)
    run = open_run(directory, "gan")
    if run.kind is imported.KIND:
        return gan_import.load_imported(run.directory, run.record, device)
    return runs.load(run.directory, run.record, device)


def draws_for(run: GANRun, seed_compat: str | None = None, noise: str | None = None,
              label: int | None = None) -> Draws:
    """How the run's seeds become inputs: as given, else NVlabs' z and the stored noise for an imported network
    (so seed N is the original scripts' image N), ours and fresh noise for a network trained here."""
    foreign = isinstance(run.record, ImportedRecord)
    default_compat = run.record.seed_compat if foreign else "singan"
    return Draws(seed_compat or default_compat, noise or ("const" if foreign else "random"), label)


def task_folder(run: GANRun, task: str) -> Path:
    """Where a task writes by default: a folder of the run, or, for a file converted in memory, a folder named
    after it under Output/ (never beside the file)."""
    if run.directory is not None:
        return run.directory / task
    return run_root(None) / f"{gan_import.network_name(run.source_file)}-{task}"


def summary(directory: str | Path, record: GANRecord | ImportedRecord) -> dict:
    """What `singan info` shows of a multi-image run: architecture, data, progress, settings, versions."""
    if isinstance(record, ImportedRecord):
        return gan_import.summary(directory, record)
    config = record.gan_config
    stage = record.derived()["stage"]
    return {
        "directory": str(directory), "family": "gan", "arch": config.arch, "resolution": config.resolution,
        "complete": record.complete, "images_seen": record.images_seen, "total_images": record.total_images,
        "stage": stage, "data": record.data, "seed": record.seed, "device": record.device,
        "processes": record.processes, "seconds": round(record.seconds, 3), "config": record.config,
        "created": record.created, "versions": {"format": record.format_version, "singan": record.package_version,
                                                "torch": record.torch_version},
    }


def generate_run(run: GANRun, seeds: list[int], *, truncation: float = 1.0, grid: bool = False,
                 out: str | Path | None = None, draws: Draws | None = None) -> list[Path]:
    """RUN/generated/seed0007.png per seed (and grid.png)."""
    return generate_images(run.generator, seeds, out or task_folder(run, "generated"), truncation=truncation,
                           grid=grid, draws=draws or draws_for(run))


def generate_images(generator: nn.Module, seeds: list[int], out: str | Path, *, truncation: float = 1.0,
                    truncation_cutoff: int | None = None, grid: bool = False,
                    noise_seed: int | None = None, draws: Draws = Draws()) -> list[Path]:
    """Write <out>/seed0007.png per seed, and <out>/grid.png of them all when `grid`; returns the paths."""
    check_folder(out)
    if noise_seed is not None:
        check_seeds([noise_seed], "--noise-seed")
    if grid:  # the images are kept, joined and tiled: three copies at once
        check_images_fit(generator, len(seeds), 3, f"--grid of {len(seeds)} images", "give fewer --seeds")
    kept = []  # the images of the grid; without one, each image is written and dropped

    def images():
        for seed, image in generated_images(generator, seeds, truncation=truncation,
                                            truncation_cutoff=truncation_cutoff, noise_seed=noise_seed,
                                            draws=draws):
            kept.extend([image] if grid else [])
            yield seed, image

    written = save_seed_images(out, images())
    if grid:
        written.append(Path(out) / GRID_FILE)
        save_image(written[-1], image_grid(torch.cat(kept)))
    return written


def interpolate_run(run: GANRun, seeds: list[int], *, frames: int = 60, fps: float = 30, space: str | None = None,
                    truncation: float = 1.0, mp4: bool | None = None, out: str | Path | None = None,
                    draws: Draws | None = None) -> list[Path]:
    """RUN/interpolate/interpolate.gif (and .mp4): a loop through the seeds' latents."""
    return interpolate_video(run.generator, seeds, out or task_folder(run, "interpolate"), frames=frames, fps=fps,
                             space=space, truncation=truncation, mp4=mp4, draws=draws or draws_for(run))


def interpolate_video(generator: nn.Module, seeds: list[int], out: str | Path, *, frames: int = 60, fps: float = 30,
                      space: str | None = None, truncation: float = 1.0, noise_seed: int = 0,
                      mp4: bool | None = None, draws: Draws = Draws()) -> list[Path]:
    """Write <out>/interpolate.gif (looping), and interpolate.mp4 when imageio-ffmpeg is installed.

    `mp4` None writes the MP4 when possible; True makes a missing imageio-ffmpeg an error, False skips it.
    """
    check_folder(out)
    check_video(fps, mp4)
    images = interpolation_frames(generator, seeds, frames, space=space, truncation=truncation,
                                  noise_seed=noise_seed, draws=draws)
    return save_video(Path(out) / VIDEO_STEM, images, fps, mp4)


def mix_run(run: GANRun, rows: list[int], columns: list[int], layers: str, *, truncation: float = 1.0,
            out: str | Path | None = None, draws: Draws | None = None) -> Path:
    """RUN/mix/mix.png: the style-mixing grid (the columns' seeds give `layers`), and mix.json."""
    return mix_images(run.generator, rows, columns, layers, out or task_folder(run, "mix"), truncation=truncation,
                      draws=draws or draws_for(run))


def mix_images(generator: nn.Module, rows: list[int], columns: list[int], layers, out: str | Path, *,
               truncation: float = 1.0, noise_seed: int = 0, draws: Draws = Draws()) -> Path:
    """Write <out>/mix.png, the style-mixing grid, and <out>/mix.json (seeds, layers); returns mix.png."""
    check_folder(out)
    with torch.no_grad():
        grid, record = style_mixing_grid(generator, rows, columns, layers, truncation=truncation,
                                         noise_seed=noise_seed, draws=draws)
    save_image(Path(out) / MIX_IMAGE, grid)
    atomic_write_json(Path(out) / MIX_RECORD, record)
    return Path(out) / MIX_IMAGE


def evaluate_run(run: GANRun, data: str | Path, *, num: int | None = None, seed: int = 0, truncation: float = 1.0,
                 inception_weights: str | Path | None = None, strict: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS, draws: Draws | None = None) -> tuple[GANEvaluation, Path]:
    """SWD (and FID with local Inception weights) of the run's generator against a folder of images;
    RUN/eval.json (for a file converted in memory, Output/<name>-eval/eval.json)."""
    draws = draws or draws_for(run)
    draws.check(run.generator, [seed])
    square = run.record.gan_config.square if isinstance(run.record, GANRecord) else "crop"
    inception = None if inception_weights is None else load_inception(inception_weights, run.device)
    images = load_image_folder(data, run.generator.resolution, channels=run.generator.image_channels,
                               square=square, strict=strict, max_pixels=max_pixels)
    evaluation = evaluate_generator(run.generator, images.images, num=num, seed=seed, truncation=truncation,
                                    inception=inception, draws=draws)
    folder = run.directory if run.directory is not None else task_folder(run, "eval")
    return evaluation, common.write_evaluation(folder, {**evaluation.to_dict(), "seed_compat": draws.seed_compat,
                                                        "noise": draws.noise, "class": draws.label})
