"""What the CLI and notebooks call: train a run, load it, sample from it, describe it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from singan import checkpoint
from singan.checkpoint import RunRecord
from singan.config import TrainConfig
from singan.device import describe_device, resolve_device
from singan.errors import RunError
from singan.events import (
    EventHandler,
    IterationFinished,
    Notice,
    ScaleFinished,
    TrainingFinished,
    TrainingStarted,
    ignore,
)
from singan.images import file_sha256, load_image, save_image
from singan.models.singan import SinGAN
from singan.pyramid import PyramidPlan, build_pyramid, plan_pyramid
from singan.training.cost import estimate_seconds, iteration_flops, training_flops
from singan.training.singan import PyramidTrainer, ScaleResult
from tasks.sample import sample_images

DEFAULT_ROOT = Path("Output")
PREVIEW_SEED = 0
# About three minutes of training on a 2-core CPU.
LONG_RUN_FLOPS = 5e13


@dataclass
class Run:
    """A loaded run: its directory, its record (run.json) and its trained scales."""

    directory: Path
    record: RunRecord
    model: SinGAN

    @property
    def device(self) -> torch.device:
        return self.model.reconstruction_noise.device


def run_directory(image: str | Path, out: str | Path | None = None, name: str | None = None) -> Path:
    return Path(out if out is not None else DEFAULT_ROOT) / (name or Path(image).stem)


def train_run(image: str | Path, config: TrainConfig | None = None, *, out: str | Path | None = None,
              name: str | None = None, device: str = "auto", resume: bool = False, force: bool = False,
              estimate: bool | None = None, on_event: EventHandler = ignore) -> Path:
    """Train (or, with `resume`, finish training) a SinGAN on one image; returns the run directory.

    `config` is ignored on resume: a run continues with its own saved settings.
    `estimate` prints a time estimate first; by default on CPU for runs of a full-size preset.
    """
    directory = run_directory(image, out, name)
    torch_device = resolve_device(device)
    pixels = load_image(image)
    if resume:
        record, model = _resumable(directory, image, torch_device)
        config = record.train_config
    else:
        config = _with_seed((config or TrainConfig()).validate())
    plan = plan_pyramid(*pixels.shape[-2:], config.min_size, config.max_size, config.scale_factor)
    if plan.shrunk:
        on_event(Notice(f"{Path(image).name} is {_size_text(plan.input_size)}: shrunk to "
                        f"{_size_text(plan.finest)} to fit --max-size {config.max_size}"))
    reals = build_pyramid(pixels.to(torch_device), plan)
    if resume:
        _check_same_pyramid(directory, record, plan)
    else:
        record, model = _new_run(directory, image, reals[-1], plan, config, torch_device, force)
    if record.complete:
        on_event(Notice(f"{directory} is already fully trained ({record.num_scales} scales)"))
        return directory
    _train(directory, record, model, reals, config, estimate, on_event)
    return directory


def _with_seed(config: TrainConfig) -> TrainConfig:
    return config if config.seed is not None else config.replace(seed=secrets.randbelow(2**31))


def _new_run(directory: Path, image: str | Path, real: torch.Tensor, plan: PyramidPlan, config: TrainConfig,
             device: torch.device, force: bool) -> tuple[RunRecord, SinGAN]:
    checkpoint.prepare_run_directory(directory, force)
    channels = real.shape[1]
    record = RunRecord(
        config=config.to_dict(),
        seed=config.seed,
        input=checkpoint.InputRecord(str(image), file_sha256(image), list(plan.input_size), channels),
        pyramid={"sizes": [list(size) for size in plan.sizes], "scale_factor": plan.scale_factor},
        device=describe_device(device),
    )
    checkpoint.save_real(directory, real)
    checkpoint.write_record(directory, record)
    return record, SinGAN(channels).to(device)


def _check_same_pyramid(directory: Path, record: RunRecord, plan: PyramidPlan) -> None:
    if list(plan.sizes) != record.planned_sizes:
        raise RunError(f"{directory}: this version of singan plans other scale sizes for the image than "
                       f"the run recorded; it cannot be resumed (start a new run with --force)")


def _resumable(directory: Path, image: str | Path, device: torch.device) -> tuple[RunRecord, SinGAN]:
    record = checkpoint.read_record(directory)
    if file_sha256(image) != record.input.sha256:
        raise RunError(f"{directory} was trained on another image ({record.input.path}); "
                       f"{image} differs from it, so the run cannot be resumed with it")
    model = checkpoint.load_model(directory, record, device)
    checkpoint.TrainingLog(directory).keep_scales_below(model.num_scales)
    return record, model


def _train(directory: Path, record: RunRecord, model: SinGAN, reals: list[torch.Tensor], config: TrainConfig,
           estimate: bool | None, on_event: EventHandler) -> None:
    device = reals[0].device
    first = model.num_scales
    seconds = None
    if estimate if estimate is not None else _worth_estimating(config, record, device):
        seconds = estimate_seconds(config, record.planned_sizes, device, first, record.input.channels)
    flops = tuple(iteration_flops(config, record.planned_sizes, scale, record.input.channels)
                  for scale in range(record.num_scales))
    on_event(TrainingStarted(str(directory), record.num_scales, first, describe_device(device), record.seed,
                             config.iterations, flops, seconds))
    log = checkpoint.TrainingLog(directory)
    started = time.perf_counter()

    def handle(event) -> None:
        if isinstance(event, IterationFinished) and event.losses:
            log.append({"scale": event.scale, "iteration": event.iteration, **event.losses})
        on_event(event)

    trainer = PyramidTrainer(model, reals, config, handle)
    while not trainer.done:
        result = trainer.train_next_scale()
        _save_scale(directory, record, model, reals, result)
        on_event(ScaleFinished(result.scale, record.num_scales, result.seconds, result.noise_amplitude))
    on_event(TrainingFinished(str(directory), time.perf_counter() - started))


def _worth_estimating(config: TrainConfig, record: RunRecord, device: torch.device) -> bool:
    """On a CPU, for runs of more than a few minutes: the estimate itself takes about a second."""
    flops = training_flops(config, record.planned_sizes, image_channels=record.input.channels)
    return device.type == "cpu" and flops > LONG_RUN_FLOPS


def _save_scale(directory: Path, record: RunRecord, model: SinGAN, reals: list[torch.Tensor],
                result: ScaleResult) -> None:
    """Weights first, then the previews, then run.json: a scale counts as done only once all are on disk."""
    scale = result.scale
    weights = checkpoint.save_scale(directory, model, scale)
    _save_previews(directory, model, reals[scale], scale)
    record.scales.append(checkpoint.ScaleRecord(
        size=list(model.sizes[scale]), channels=record.train_config.width(scale), iterations=result.iterations,
        seconds=round(result.seconds, 3), noise_amp=model.noise_amplitudes[scale], weights=weights))
    if record.complete:
        record.device = describe_device(reals[0].device)
    checkpoint.write_record(directory, record)


@torch.no_grad()
def _save_previews(directory: Path, model: SinGAN, real: torch.Tensor, scale: int) -> None:
    folder = directory / checkpoint.PREVIEWS_DIR
    (_, sample), = sample_images(model, [PREVIEW_SEED])
    save_image(folder / f"scale_{scale:02d}_real.png", real)
    save_image(folder / f"scale_{scale:02d}_sample.png", sample)
    save_image(folder / f"scale_{scale:02d}_reconstruction.png", model.reconstruct(scale))


def load_run(directory: str | Path, device: str = "auto", require_complete: bool = True) -> Run:
    """Load a run for use; by default an unfinished run is an error that says how to finish it."""
    directory = Path(directory)
    record = checkpoint.read_record(directory)
    if require_complete and not record.complete:
        raise RunError(f"{directory} is incomplete ({len(record.scales)} of {record.num_scales} scales trained); "
                       f"finish it with: {resume_command(directory, record.input.path)}")
    model = checkpoint.load_model(directory, record, resolve_device(device))
    return Run(directory, record, model)


def resume_command(directory: Path, image: str | Path) -> str:
    return f"singan train {image} --resume --out {directory.parent} --name {directory.name}"


def find_run(name_or_path: str | Path, out: str | Path | None = None) -> Path:
    """A run given as a directory, or as a name under the run root (Output/ by default)."""
    path = Path(name_or_path)
    under_root = Path(out if out is not None else DEFAULT_ROOT) / path
    return under_root if not path.is_dir() and under_root.is_dir() else path


def sample_run(run: Run, seeds: list[int], *, start_scale: int = 0, scale_h: float = 1.0, scale_v: float = 1.0,
               out: str | Path | None = None, batch_size: int | None = None) -> list[Path]:
    """Write one PNG per seed (seed0007.png); returns the paths."""
    folder = Path(out) if out is not None else run.directory / "samples" / _sample_folder(start_scale, scale_h, scale_v)
    written = []
    for seed, image in sample_images(run.model, seeds, start_scale=start_scale, scale_h=scale_h, scale_v=scale_v,
                                     batch_size=batch_size):
        path = folder / f"seed{seed:04d}.png"
        save_image(path, image)
        written.append(path)
    return written


def _sample_folder(start_scale: int, scale_h: float, scale_v: float) -> str:
    if scale_h == 1 and scale_v == 1:
        return f"start{start_scale}"
    return f"start{start_scale}_h{scale_h:g}_v{scale_v:g}"


def run_summary(directory: str | Path) -> dict:
    """What `singan info` shows: settings, per-scale sizes, widths, noise amplitudes and times."""
    record = checkpoint.read_record(Path(directory))
    config = record.train_config
    scales = []
    for index, size in enumerate(record.planned_sizes):
        entry = record.scales[index] if index < len(record.scales) else None
        scales.append({
            "scale": index, "size": list(size), "channels": config.width(index),
            "noise_amp": entry.noise_amp if entry else None, "seconds": entry.seconds if entry else None,
        })
    return {
        "directory": str(directory), "complete": record.complete, "trained_scales": len(record.scales),
        "num_scales": record.num_scales, "image": record.input.path, "image_size": record.input.size,
        "channels": record.input.channels, "seed": record.seed, "device": record.device,
        "seconds": round(sum(entry.seconds for entry in record.scales), 3), "scale_factor": record.pyramid["scale_factor"],
        "config": record.config, "created": record.created, "versions": {
            "format": record.format_version, "singan": record.package_version, "torch": record.torch_version},
        "scales": scales,
    }


def _size_text(size) -> str:
    return f"{size[1]}x{size[0]} px"


__all__ = ["Run", "find_run", "load_run", "resume_command", "run_summary", "sample_run", "train_run"]
