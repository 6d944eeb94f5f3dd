"""Multi-image GANs (PGGAN, StyleGAN, StyleGAN2): what `singan gan ...` and notebooks call."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from singan import gan_checkpoint
from singan.device import describe_device, resolve_device
from singan.errors import ConfigError, RunError
from singan.events import EventHandler, GANTrainingStarted, Notice, ignore
from singan.gan_checkpoint import GANRecord
from singan.gan_config import GANConfig
from singan.imagefolder import ImageFolderData, load_image_folder
from singan.runs import DEFAULT_ROOT
from singan.training import distributed
from singan.training.gan import GANTrainer
from singan.training.gan_session import TrainingSession
from singan.metrics.inception import load_inception
from tasks.gan_evaluate import GANEvaluation, evaluate_generator, write_evaluation
from tasks.gan_generate import generate_images
from tasks.gan_interpolate import interpolate_video
from tasks.gan_mix import style_mixing_grid

# Settings a resumed run may change: how long it trains and how often it reports. The rest define the run.
RESUMABLE_CHANGES = ("kimg", "snapshot_kimg", "checkpoint_kimg", "log_kimg")


def gan_run_directory(data: str | Path, config: GANConfig, out: str | Path | None = None,
                      name: str | None = None) -> Path:
    """Output/<data folder name>-<arch>-<resolution> unless named."""
    default = f"{Path(data).resolve().name}-{config.arch}-{config.resolution}"
    return Path(out if out is not None else DEFAULT_ROOT) / (name or default)


def train_gan(data: str | Path, config: GANConfig | None = None, *, out: str | Path | None = None,
              name: str | None = None, device: str = "auto", resume: bool = False, force: bool = False,
              strict: bool = False, changes: dict | None = None, on_event: EventHandler = ignore,
              on_loading=None) -> Path:
    """Train a GAN on a folder of images, or with `resume` continue the run in `out`/`name`; returns its directory.

    On resume the run's own settings apply; `changes` may extend `kimg` or change the reporting intervals.
    Under torchrun every process calls this; only the first one writes.
    """
    config = (config or GANConfig()).validate()
    torch_device = resolve_device(distributed.local_device_name(device))
    world = distributed.start(torch_device.type)
    try:
        directory = gan_run_directory(data, config, out, name)
        if resume:
            record = _resumed_record(directory, changes or {})
            config = record.gan_config
        else:
            # Every process must train with the main one's seed: the data order is drawn from it.
            config = config.replace(seed=distributed.shared_integer(_with_seed(config).seed, world, torch_device))
        images = _load_data(data, config, strict, on_loading)
        if resume:
            _check_same_data(directory, record, images)
        else:
            config = config.replace(image_channels=images.channels).validate()
            record = _new_run(directory, data, images, config, torch_device, world, force)
        _train(directory, record, images, config, torch_device, world, on_event)
    finally:
        distributed.stop(world)
    return directory


def _with_seed(config: GANConfig) -> GANConfig:
    return config if config.seed is not None else config.replace(seed=secrets.randbelow(2**31))


def _load_data(data: str | Path, config: GANConfig, strict: bool, on_loading) -> ImageFolderData:
    return load_image_folder(data, config.resolution, square=config.square, strict=strict, on_progress=on_loading)


def _resumed_record(directory: Path, changes: dict) -> GANRecord:
    record = gan_checkpoint.read_record(directory)
    gan_checkpoint.load_checkpoint(directory)  # a missing or corrupt checkpoint fails here, before any work
    fixed = sorted(key for key, value in changes.items()
                   if value is not None and key not in RESUMABLE_CHANGES and record.config.get(key) != value)
    if fixed:
        flags = ", ".join("--" + key.replace("_", "-") for key in fixed)
        raise ConfigError(f"--resume continues with the settings saved in run.json; leave out {flags} "
                          f"(only --kimg and the reporting intervals may change)")
    given = {key: value for key, value in changes.items() if value is not None and key in RESUMABLE_CHANGES}
    if given:
        record.config = record.gan_config.replace(**given).validate().to_dict()
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
        gan_checkpoint.prepare_run_directory(directory, force)
        gan_checkpoint.write_record(directory, record)
    distributed.barrier(world)
    return record


def _train(directory: Path, record: GANRecord, images: ImageFolderData, config: GANConfig, device: torch.device,
           world: distributed.World, on_event: EventHandler) -> None:
    trainer = GANTrainer(config, images, device, world)
    if record.images_seen:
        trainer.restore(*gan_checkpoint.load_checkpoint(directory))
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
    TrainingSession(trainer, directory, record, on_event if world.main else ignore).run()


@dataclass
class GANRun:
    """A trained multi-image run as tasks use it."""

    directory: Path
    record: GANRecord
    generator: nn.Module  # the moving average, at the stage training reached

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device


def load_gan_run(directory: str | Path, device: str = "auto") -> GANRun:
    directory = Path(directory)
    record = gan_checkpoint.read_record(directory)
    return GANRun(directory, record, gan_checkpoint.load_generator(directory, record, resolve_device(device)))


def generate_run(run: GANRun, seeds: list[int], *, truncation: float = 1.0, grid: bool = False,
                 out: str | Path | None = None) -> list[Path]:
    """RUN/generated/seed0007.png per seed (and grid.png)."""
    with torch.no_grad():
        return generate_images(run.generator, seeds, out or run.directory / "generated", truncation=truncation,
                               grid=grid)


def interpolate_run(run: GANRun, seeds: list[int], *, frames: int = 60, fps: float = 30, space: str | None = None,
                    truncation: float = 1.0, mp4: bool | None = None, out: str | Path | None = None) -> list[Path]:
    """RUN/interpolate/interpolate.gif (and .mp4): a loop through the seeds' latents."""
    with torch.no_grad():
        return interpolate_video(run.generator, seeds, out or run.directory / "interpolate", frames=frames, fps=fps,
                                 space=space, truncation=truncation, mp4=mp4)


def mix_run(run: GANRun, rows: list[int], columns: list[int], layers: str, *, truncation: float = 1.0,
            out: str | Path | None = None) -> Path:
    """RUN/mix/mix.png: the style-mixing grid (the columns' seeds give `layers`)."""
    with torch.no_grad():
        return style_mixing_grid(run.generator, rows, columns, layers, out or run.directory / "mix",
                                 truncation=truncation)


def evaluate_run(run: GANRun, data: str | Path, *, num: int | None = None, seed: int = 0, truncation: float = 1.0,
                 inception_weights: str | Path | None = None, strict: bool = False
                 ) -> tuple[GANEvaluation, Path]:
    """SWD (and FID with local Inception weights) of the run's generator against a folder of images; RUN/eval.json."""
    config = run.record.gan_config
    inception = None if inception_weights is None else load_inception(inception_weights, run.device)
    images = load_image_folder(data, run.generator.resolution, channels=config.image_channels,
                               square=config.square, strict=strict)
    evaluation = evaluate_generator(run.generator, images.images, num=num, seed=seed, truncation=truncation,
                                    inception=inception)
    return evaluation, write_evaluation(run.directory, evaluation)
