"""SinGAN for the CLI and notebooks: train a run on one image, load it, describe it (the tasks on a trained
run: singan.api.singan_tasks). Every file of a run is written from here, through singan.runs.singan."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from singan.config.singan import DEFAULT_PRESET, TrainConfig, preset
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
from singan.images import DEFAULT_MAX_PIXELS, check_image, file_sha256, read_image, save_image
from singan.memory import FLOAT_BYTES, check_fits, float_images_bytes
from singan.models.singan import NUM_LAYERS, PADDING, PatchCritic, ScaleGenerator, SinGAN
from singan.pyramid import PyramidPlan, build_pyramid, plan_for
from singan.files import describe_os_error
from singan.runs import common, open_run
from singan.runs.directory import (check_resume_or_force, create_run, finish_interrupted_replacements, holds_run,
                                   prepare_for_writing)
from singan.runs import singan as runs
from singan.runs.singan import InputRecord, RunRecord, ScaleRecord, SinGANRun, run_directory
from singan.seeds import resolve_seed
from singan.training.cost import estimate_seconds, iteration_flops, training_flops
from singan.training.singan import PyramidTrainer, ScaleResult
from tasks.singan.sample import sample_images

PREVIEW_SEED = 0
# About three minutes of training on a 2-core CPU.
LONG_RUN_FLOPS = 5e13


def train_run(image: str | Path, config: TrainConfig | None = None, *, out: str | Path | None = None,
              name: str | None = None, device: str = "auto", resume: bool = False, force: bool = False,
              estimate: bool | None = None, on_event: EventHandler = ignore,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Train (or, with `resume`, finish training) a SinGAN on one image; returns the run directory.

    `config` is ignored on resume: a run continues with its own saved settings.
    `estimate` prints a time estimate first; by default on CPU for runs of a full-size preset.
    Images above `max_pixels` are refused before anything is read or written.
    """
    check_resume_or_force(resume, force)
    directory = run_directory(image, out, name)
    torch_device = resolve_device(device)
    check_image(image, max_pixels=max_pixels)  # before the run directory is touched
    finish_interrupted_replacements(directory, runs.KIND)
    if resume and not has_run(directory):
        # Nothing to continue (no run yet, or one killed before its first files were complete): start it.
        on_event(Notice(f"nothing to resume in {directory}: starting the run"))
        resume = False
    if resume:
        record, model = _resumable(directory, image, torch_device)
        config = record.train_config
    else:
        config = (config or preset(DEFAULT_PRESET)).validate()
        config = config.replace(seed=resolve_seed(config.seed))
    # Decoded for the shrink to --max-size (a large JPEG at a fraction of its size), planned from the file's
    # own size: the planned sizes, which resume compares, do not depend on the decoding.
    loaded = read_image(image, max_pixels=max_pixels, needed_side=config.max_size)
    plan = plan_for(*loaded.size, config)
    _check_training_fits(config, plan.sizes, loaded.pixels.shape[1], torch_device)
    if plan.shrunk:
        on_event(Notice(f"{Path(image).name} is {_size_text(plan.input_size)}: shrunk to "
                        f"{_size_text(plan.finest)} to fit --max-size {config.max_size}"))
    reals = build_pyramid(loaded.pixels.to(torch_device), plan)
    if resume:
        _check_same_pyramid(directory, record, plan)
    else:
        record, model = _new_run(directory, image, reals[-1], plan, config, torch_device, force)
    if record.complete:
        on_event(Notice(f"{directory} is already fully trained ({record.num_scales} scales)"))
        return directory
    try:
        _train(directory, record, model, reals, config, estimate, on_event)
    except OSError as error:
        raise RunError(f"{describe_os_error(error)}; training stopped with {len(record.scales)} of "
                       f"{record.num_scales} scales saved: continue with: "
                       f"{runs.resume_command(directory, image)}") from None
    return directory


def has_run(directory: str | Path) -> bool:
    """Whether `directory` holds a SinGAN run (its run.json names the format)."""
    return holds_run(directory, runs.KIND)


def _new_run(directory: Path, image: str | Path, real: torch.Tensor, plan: PyramidPlan, config: TrainConfig,
             device: torch.device, force: bool) -> tuple[RunRecord, SinGAN]:
    channels = real.shape[1]
    record = RunRecord(
        config=config.to_dict(),
        seed=config.seed,
        input=InputRecord(str(image), file_sha256(image), list(plan.input_size), channels),
        pyramid={"sizes": [list(size) for size in plan.sizes], "scale_factor": plan.scale_factor},
        device=describe_device(device),
    )

    def write_first_files(folder: Path) -> None:
        runs.save_real(folder, real)
        common.write_record(folder, record)

    create_run(directory, force, runs.KIND, write_first_files)
    return record, SinGAN(channels, config.noise_padding).to(device)


def _check_same_pyramid(directory: Path, record: RunRecord, plan: PyramidPlan) -> None:
    if list(plan.sizes) != record.planned_sizes:
        raise RunError(f"{directory}: this version of singan plans other scale sizes for the image than "
                       f"the run recorded; it cannot be resumed (start a new run with --force)")


def _resumable(directory: Path, image: str | Path, device: torch.device) -> tuple[RunRecord, SinGAN]:
    record = open_run(directory, "singan").record
    prepare_for_writing(directory, runs.KIND)
    if file_sha256(image) != record.input.sha256:
        raise RunError(f"{directory} was trained on another image ({record.input.path}); "
                       f"{image} differs from it, so the run cannot be resumed with it")
    model = runs.load_model(directory, record, device)
    runs.keep_log_scales_below(directory, model.num_scales)
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
    started = time.perf_counter()

    def handle(event) -> None:
        if isinstance(event, IterationFinished) and event.losses:
            common.append_log(directory, {"scale": event.scale, "iteration": event.iteration, **event.losses})
        on_event(event)

    trainer = PyramidTrainer(model, reals, config, handle)
    while not trainer.done:
        result = trainer.train_next_scale()
        _save_scale(directory, record, model, reals, result)
        on_event(ScaleFinished(result.scale, record.num_scales, result.seconds, result.noise_amplitude))
    on_event(TrainingFinished(str(directory), time.perf_counter() - started))


# Feature maps a training step keeps for its backward passes at the least: each of the two networks' conv
# blocks keeps its output and its normalised output (the critic's gradient penalty keeps more).
TRAINING_FEATURE_MAPS = 2 * 2 * NUM_LAYERS
# Copies of every parameter that training holds: the weights, their gradients and Adam's two moments.
PARAMETER_COPIES = 4


def _check_training_fits(config: TrainConfig, sizes, image_channels: int, device: torch.device) -> None:
    """Refuse settings whose largest scale clearly cannot train in the device's memory (a low estimate),
    before the run directory is touched."""
    needed, scale = max((_training_bytes(config.width(scale), size, image_channels), scale)
                        for scale, size in enumerate(sizes))
    height, width = sizes[scale]
    check_fits(needed, f"training scale {scale} ({width}x{height} px, {config.width(scale)} channels)",
               "lower --max-channels or --max-size", device)


def _training_bytes(width: int, size, image_channels: int) -> int:
    with torch.device("meta"):  # counted, not allocated
        networks = (ScaleGenerator(image_channels, width), PatchCritic(image_channels, width))
    parameters = sum(parameter.numel() for network in networks for parameter in network.parameters())
    maps = float_images_bytes(TRAINING_FEATURE_MAPS, width, size[0] + 2 * PADDING, size[1] + 2 * PADDING)
    return PARAMETER_COPIES * parameters * FLOAT_BYTES + maps


def _worth_estimating(config: TrainConfig, record: RunRecord, device: torch.device) -> bool:
    """On a CPU, for runs of more than a few minutes: the estimate itself takes about a second."""
    flops = training_flops(config, record.planned_sizes, image_channels=record.input.channels)
    return device.type == "cpu" and flops > LONG_RUN_FLOPS


def _save_scale(directory: Path, record: RunRecord, model: SinGAN, reals: list[torch.Tensor],
                result: ScaleResult) -> None:
    """Weights first, then the previews, then run.json: a scale counts as done only once all are on disk."""
    scale = result.scale
    weights = runs.save_scale(directory, model, scale)
    _save_previews(directory, model, reals[scale], scale)
    record.scales.append(ScaleRecord(
        size=list(model.sizes[scale]), channels=record.train_config.width(scale), iterations=result.iterations,
        seconds=round(result.seconds, 3), noise_amp=model.noise_amplitudes[scale], weights=weights))
    if record.complete:
        record.device = describe_device(reals[0].device)
    common.write_record(directory, record)


@torch.no_grad()
def _save_previews(directory: Path, model: SinGAN, real: torch.Tensor, scale: int) -> None:
    folder = directory / runs.PREVIEWS_DIR
    (_, sample), = sample_images(model, [PREVIEW_SEED])
    save_image(folder / f"scale_{scale:02d}_real.png", real)
    save_image(folder / f"scale_{scale:02d}_sample.png", sample)
    save_image(folder / f"scale_{scale:02d}_reconstruction.png", model.reconstruct(scale))


def load_run(directory: str | Path, device: str = "auto", require_complete: bool = True) -> SinGANRun:
    """A trained run for tasks; by default an unfinished run is an error that says how to finish it."""
    run = open_run(directory, "singan")
    return runs.load(run.directory, run.record, device, require_complete)


def run_summary(directory: str | Path) -> dict:
    """What `singan info` shows: settings, per-scale sizes, widths, noise amplitudes and times."""
    record = open_run(directory, "singan").record
    return summary(directory, record)


def summary(directory: str | Path, record: RunRecord) -> dict:
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
        "seconds": round(sum(entry.seconds for entry in record.scales), 3),
        "scale_factor": record.pyramid["scale_factor"], "config": record.config, "created": record.created,
        "versions": {"format": record.format_version, "singan": record.package_version,
                     "torch": record.torch_version},
        "scales": scales,
    }


def _size_text(size) -> str:
    return f"{size[1]}x{size[0]} px"
