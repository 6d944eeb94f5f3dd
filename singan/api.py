"""What the CLI and notebooks call: train a run, load it, sample from it, describe it."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import torch

from singan import checkpoint
from singan.checkpoint import RunRecord
from singan.config import DEFAULT_PRESET, TrainConfig, preset
from singan.device import describe_device, resolve_device
from singan.errors import ConfigError, RunError
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
from singan.metrics.inception import load_inception
from singan.models.singan import SinGAN
from singan.runs import DEFAULT_ROOT, Run, find_run, load_run, resume_command
from singan.pyramid import PyramidPlan, build_pyramid, plan_for
from singan.training.cost import estimate_seconds, iteration_flops, training_flops
from singan.training.singan import PyramidTrainer, ScaleResult
from tasks import super_resolution
from tasks.animate import animate_run
from tasks.evaluate import Evaluation, check_options, evaluate, write_evaluation
from tasks.harmonize import blend_run
from tasks.paint import paint_run
from tasks.retarget import retarget_run
from tasks.sample import sample_images, save_samples

PREVIEW_SEED = 0
# About three minutes of training on a 2-core CPU.
LONG_RUN_FLOPS = 5e13


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
        config = _with_seed((config or preset(DEFAULT_PRESET)).validate())
    plan = plan_for(*pixels.shape[-2:], config)
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
    return record, SinGAN(channels, config.noise_padding).to(device)


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
                             tuple(config.iterations_at(size) for size in record.planned_sizes), flops, seconds))
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


def sample_run(run: Run, seeds: list[int], *, start_scale: int = 0, scale_h: float = 1.0, scale_v: float = 1.0,
               out: str | Path | None = None, batch_size: int | None = None) -> list[Path]:
    """Write one PNG per seed (seed0007.png); returns the paths."""
    folder = Path(out) if out is not None else run.directory / "samples" / _sample_folder(start_scale, scale_h, scale_v)
    return save_samples(folder, sample_images(run.model, seeds, start_scale=start_scale, scale_h=scale_h,
                                              scale_v=scale_v, batch_size=batch_size))


def _sample_folder(start_scale: int, scale_h: float, scale_v: float) -> str:
    if scale_h == 1 and scale_v == 1:
        return f"start{start_scale}"
    return f"start{start_scale}_h{scale_h:g}_v{scale_v:g}"


def evaluate_run(run: Run, num: int = 50, seed: int = 0, start_scale: int = 0,
                 inception_weights: str | Path | None = None,
                 on_event: EventHandler = ignore) -> tuple[Evaluation, Path]:
    """Patch SWD (with its real-vs-real floor), diversity and, given the FID Inception weights file, SIFID
    of `num` samples; writes them to RUN/eval.json and returns the figures and that path."""
    check_options(run.model, num, start_scale)
    inception = None
    if inception_weights is not None:
        inception = load_inception(inception_weights, run.device)
    else:
        on_event(Notice("SIFID skipped: pass --inception-weights PATH (the FID Inception-v3 weights file) "
                        "to compute it"))
    evaluation = evaluate(run, num, seed, start_scale, inception)
    return evaluation, write_evaluation(run.directory, evaluation)


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


def harmonize_run(run: Run, picture: str | Path, mask: str | Path | None, scales: list[int],
                  **options) -> list[Path]:
    """Harmonize a naive paste: inject it at each start scale, blend by the mask grown by 7 px and blurred
    (sigma 5); options: seed, radius, sigma, out, on_event (see tasks.harmonize.blend_run)."""
    return blend_run(run, "harmonize", picture, mask, scales, **options)


def edit_run(run: Run, picture: str | Path, mask: str | Path | None, scales: list[int], **options) -> list[Path]:
    """Blend a rough edit into the image: as harmonize_run with the mask grown by 20 px."""
    return blend_run(run, "edit", picture, mask, scales, **options)


def super_resolve_run(source: str | Path, factor: float, config: TrainConfig | None = None, *,
                      settings: dict | None = None, out: str | Path | None = None, name: str | None = None,
                      device: str = "auto", force: bool = False, seed: int = 0, output: str | Path | None = None,
                      on_event: EventHandler = ignore) -> list[Path]:
    """Upscale by `factor`; returns [the SinGAN upscale, the bicubic upscale].

    `source` is a trained run, or an image: then a run with the super-resolution settings on top of
    `config` (and `settings`, field -> value, on top of those) is trained, or reused, or resumed, in
    <out>/<name or image name + "_sr">.
    """
    super_resolution.check_factor(factor)
    if checkpoint.is_run_directory(source):
        run = load_run(source, device)
        if not super_resolution.is_super_resolution_run(run.record.train_config):
            on_event(Notice(f"{Path(source).name} was not trained with the super-resolution settings "
                            f"(alpha {super_resolution.RECONSTRUCTION_WEIGHT:g}); expect a softer result"))
    else:
        if settings and checkpoint.is_run_directory(run_directory(source, out, name or f"{Path(source).stem}_sr")) \
                and not force:
            raise ConfigError("a super-resolution run of this name exists: it keeps its own settings "
                              "(use --force to retrain it with new ones)")
        directory = _super_resolution_training(source, factor, config, settings or {}, out, name, device, force,
                                               on_event)
        run = load_run(directory, device)
    low = checkpoint.load_real(run.directory, run.record).to(run.device)
    folder = Path(output) if output is not None else run.directory / "sr"
    stem = f"{Path(run.record.input.path).stem}_x{factor:g}"
    written = [folder / f"{stem}.png", folder / f"{stem}_bicubic.png"]
    save_image(written[0], super_resolution.super_resolve(run.model, low, factor, seed))
    save_image(written[1], super_resolution.bicubic(low, factor))
    return written


def _super_resolution_training(image: str | Path, factor: float, config: TrainConfig | None, settings: dict,
                               out, name, device: str, force: bool, on_event: EventHandler) -> Path:
    directory = run_directory(image, out, name or f"{Path(image).stem}_sr")
    pixels = load_image(image)
    if checkpoint.is_run_directory(directory) and not force:
        record = checkpoint.read_record(directory)
        if record.input.sha256 != file_sha256(image):
            raise RunError(f"{directory} holds a run of another image; use --force to replace it or --name")
        if record.complete:
            on_event(Notice(f"using the super-resolution run in {directory}"))
            return directory
        on_event(Notice(f"resuming the unfinished super-resolution run in {directory}"))
        return train_run(image, out=directory.parent, name=directory.name, device=device, resume=True,
                         on_event=on_event)
    trained = super_resolution.training_config(config or TrainConfig(), factor, tuple(pixels.shape[-2:]))
    return train_run(image, trained.replace(**settings), out=directory.parent, name=directory.name, device=device,
                     force=force, on_event=on_event)


def _size_text(size) -> str:
    return f"{size[1]}x{size[0]} px"


__all__ = ["Run", "animate_run", "edit_run", "evaluate_run", "find_run", "harmonize_run", "load_run", "paint_run",
           "resume_command", "retarget_run", "run_summary", "sample_run", "super_resolve_run", "train_run"]
