"""The tasks on a trained SinGAN run, for the CLI and notebooks: each reads its inputs, runs the task
(tasks.singan) and writes the results, by default into a folder of the run. Returns the paths written."""

from __future__ import annotations

from pathlib import Path

import torch

from singan.api.singan import load_run, train_run
from singan.config.singan import TrainConfig
from singan.device import resolve_device
from singan.errors import ConfigError, InputImageError, RunError
from singan.events import EventHandler, Notice, ignore
from singan.files import check_folder
from singan.images import (DEFAULT_MAX_PIXELS, check_video, file_sha256, load_image, save_image, save_seed_images,
                            save_video)
from singan.metrics.inception import load_inception
from singan.models.singan import freeze
from singan.pyramid import Size
from singan.runs import common, open_run
from singan.runs import singan as runs
from singan.runs.directory import holds_run, record_format
from singan.runs.singan import SinGANRun, run_directory
from tasks.singan import super_resolution
from tasks.singan.animate import ALPHA, BETA, FRAMES, FPS, START_SCALE, animation_frames, check_walk
from tasks.singan.evaluate import NUM_SAMPLES, Evaluation, check_options, evaluate
from tasks.singan.harmonize import BLUR_SIGMA, RADIUS, blend_injected, check_mask_shape, default_mask_path, fit_mask
from tasks.singan.inject import check_injection_scale, fit_to_run, with_scale_replaced
from tasks.singan.paint import PALETTE_COLOURS, finetune_iterations, finetune_quantized, paint, scale_width
from tasks.singan.retarget import retarget_images
from tasks.singan.sample import check_start_scale, sample_images


def _folder(run: SinGANRun, task: str, out: str | Path | None) -> Path:
    """Where a task writes: `out`, or RUN/<task>."""
    return check_folder(out) if out is not None else run.directory / task


def sample_run(run: SinGANRun, seeds: list[int], *, start_scale: int = 0, scale_h: float = 1.0,
               scale_v: float = 1.0, out: str | Path | None = None, batch_size: int | None = None) -> list[Path]:
    """Write one PNG per seed (seed0007.png); returns the paths."""
    folder = check_folder(out) if out is not None else \
        run.directory / "samples" / _sample_folder(start_scale, scale_h, scale_v)
    return save_seed_images(folder, sample_images(run.model, seeds, start_scale=start_scale, scale_h=scale_h,
                                                  scale_v=scale_v, batch_size=batch_size))


def _sample_folder(start_scale: int, scale_h: float, scale_v: float) -> str:
    if scale_h == 1 and scale_v == 1:
        return f"start{start_scale}"
    return f"start{start_scale}_h{scale_h:g}_v{scale_v:g}"


def retarget_run(run: SinGANRun, size: Size, seeds: list[int], *, start_scale: int = 0,
                 out: str | Path | None = None, batch_size: int | None = None) -> list[Path]:
    """One PNG per seed in RUN/retarget/<H>x<W>_start<k>/ (or `out`)."""
    folder = check_folder(out) if out is not None else \
        run.directory / "retarget" / f"{size[0]}x{size[1]}_start{start_scale}"
    return save_seed_images(folder, retarget_images(run.model, size, seeds, start_scale=start_scale,
                                                    batch_size=batch_size))


def evaluate_run(run: SinGANRun, num: int = NUM_SAMPLES, seed: int = 0, start_scale: int = 0,
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
    real = runs.load_real(run.directory, run.record)
    evaluation = evaluate(run.model, real, num, seed, start_scale, inception)
    return evaluation, common.write_evaluation(run.directory, evaluation.to_dict())


def animate_run(run: SinGANRun, *, frames: int = FRAMES, fps: float = FPS, start_scale: int = START_SCALE,
                alpha: float = ALPHA, beta: float = BETA, seed: int = 0, loop: bool = False, mp4: bool | None = None,
                out: str | Path | None = None, on_event: EventHandler = ignore) -> list[Path]:
    """Write RUN/animate/start<s>_beta<b>[_loop].gif, and .mp4 when imageio-ffmpeg is installed.

    `mp4` None writes the MP4 when possible; True makes a missing imageio-ffmpeg an error.
    """
    check_walk(frames, alpha, beta)
    check_video(fps, mp4)
    check_start_scale(run.model, start_scale)
    if not run.model.noise_padding:
        on_event(Notice(f"{run.directory.name} was trained without --noise-padding; the paper animates a model "
                        f"trained with it (singan train IMAGE --noise-padding), whose borders move more freely"))
    images = list(animation_frames(run.model, frames=frames, start_scale=start_scale, alpha=alpha, beta=beta,
                                   seed=seed, loop=loop))
    stem = f"start{start_scale}_beta{beta:.2f}{'_loop' if loop else ''}"
    return save_video(_folder(run, "animate", out) / stem, images, fps, mp4)


def _fitted(picture: torch.Tensor, run: SinGANRun, what: str, on_event: EventHandler) -> torch.Tensor:
    """A picture at the run's finest size and colour mode, on its device; the user is told of any change."""
    picture, message = fit_to_run(picture.to(run.device), run.model, what)
    if message:
        on_event(Notice(message))
    return picture


def paint_run(run: SinGANRun, painting_path: str | Path, scales: list[int], *, quantize_colours: int | None = None,
              seed: int = 0, out: str | Path | None = None, on_event: EventHandler = ignore,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Path]:
    """One picture per start scale, <painting>_start<n>[_quantized].png; with `quantize_colours`, each
    start scale is fine-tuned once (saved under RUN/paint/) and the painting is mapped to the palette."""
    for scale in scales:
        check_injection_scale(run.model, scale)
    if quantize_colours is not None and quantize_colours < 1:
        raise ConfigError(f"--colours must be a positive integer (got {quantize_colours})")
    painting = _fitted(load_image(painting_path, max_pixels=max_pixels), run,
                       f"the painting {Path(painting_path).name}", on_event)
    folder, stem, written = _folder(run, "paint", out), Path(painting_path).stem, []
    for scale in scales:
        model, centres, suffix = run.model, None, ""
        if quantize_colours is not None:
            model, centres = _quantized_model(run, scale, quantize_colours, on_event)
            suffix = "_quantized"
        written.append(folder / f"{stem}_start{scale}{suffix}.png")
        save_image(written[-1], paint(model, painting, scale, seed, centres))
    return written


def _quantized_model(run: SinGANRun, scale: int, colours: int = PALETTE_COLOURS, on_event: EventHandler = ignore):
    """The run's model with scale `scale` fine-tuned for quantised paintings, and the palette: trained once,
    saved under RUN/paint/, and loaded from there later."""
    model, path = run.model, runs.finetuned_path(run.directory, scale, colours)
    if path.exists():
        generator, amplitude, centres = runs.load_finetuned(path, model.image_channels, scale_width(model, scale),
                                                            colours)
        on_event(Notice(f"using the fine-tuned scale {scale} saved in {path}"))
        return with_scale_replaced(model, scale, generator.to(run.device), amplitude), centres.to(run.device)
    config = run.record.train_config
    on_event(Notice(f"fine-tuning scale {scale} on inputs quantised to {colours} colours "
                    f"({finetune_iterations(model, scale, config)} iterations, once per run); it is saved to {path}"))
    real = runs.load_real(run.directory, run.record).to(run.device)
    result, centres = finetune_quantized(model, real, scale, config, run.record.seed, colours, on_event)
    runs.save_finetuned(path, result.generator, result.critic, result.noise_amplitude, centres)
    return with_scale_replaced(model, scale, freeze(result.generator), result.noise_amplitude), centres


def harmonize_run(run: SinGANRun, picture: str | Path, mask: str | Path | None, scales: list[int],
                  **options) -> list[Path]:
    """Harmonize a naive paste: inject it at each start scale, blend by the mask grown by 7 px and blurred
    (sigma 5); options: seed, radius, sigma, out, on_event, max_pixels (see `blend_run`)."""
    return blend_run(run, "harmonize", picture, mask, scales, **options)


def edit_run(run: SinGANRun, picture: str | Path, mask: str | Path | None, scales: list[int], **options) -> list[Path]:
    """Blend a rough edit into the image: as harmonize_run with the mask grown by 20 px."""
    return blend_run(run, "edit", picture, mask, scales, **options)


def blend_run(run: SinGANRun, task: str, picture_path: str | Path, mask_path: str | Path | None, scales: list[int],
              *, seed: int = 0, radius: int | None = None, sigma: float = BLUR_SIGMA, out: str | Path | None = None,
              on_event: EventHandler = ignore, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Path]:
    """`task` "harmonize" or "edit": one output per start scale, <picture>_start<n>.png, plus the mask used.

    `mask_path` None means <picture>_mask.<ext> beside the picture; `radius` None is the task's own.
    """
    model = run.model
    radius = RADIUS[task] if radius is None else radius
    check_mask_shape(radius, sigma)
    for scale in scales:
        check_injection_scale(model, scale)
    mask_path = _existing_mask(picture_path, mask_path)
    picture = load_image(picture_path, max_pixels=max_pixels)
    mask, message = fit_mask(load_image(mask_path, max_pixels=max_pixels), mask_path, tuple(picture.shape[-2:]),
                             model, radius, sigma)
    if message:
        on_event(Notice(message))
    picture = _fitted(picture, run, f"the picture {Path(picture_path).name}", on_event)
    folder, stem, written = _folder(run, task, out), Path(picture_path).stem, []
    for scale in scales:
        written.append(folder / f"{stem}_start{scale}.png")
        save_image(written[-1], blend_injected(model, picture, mask, scale, seed))
    save_image(folder / f"{stem}_mask_used.png", mask * 2 - 1)
    return written


def _existing_mask(picture_path: str | Path, mask_path: str | Path | None) -> Path:
    if mask_path is not None:
        return Path(mask_path)
    guess = default_mask_path(picture_path)
    if not guess.is_file():
        raise InputImageError(f"no mask: give --mask, or put it beside the picture as {guess}")
    return guess


def super_resolve_run(source: str | Path, factor: float, config: TrainConfig | None = None, *,
                      settings: dict | None = None, out: str | Path | None = None, name: str | None = None,
                      device: str = "auto", force: bool = False, seed: int = 0, output: str | Path | None = None,
                      back_projection: int = 0, on_event: EventHandler = ignore,
                      max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Path]:
    """Upscale by `factor`; returns [the SinGAN upscale, the bicubic upscale].

    `back_projection` rounds after each step (0, the paper's: none) keep the result consistent with the
    input; that upscale is written as <image>_x<factor>_backprojected.png.

    `source` is a trained run, or an image: then a run with the super-resolution settings on top of
    `config` (and `settings`, field -> value, on top of those) is trained, or reused, or resumed, in
    <out>/<name or image name + "_sr">.
    """
    super_resolution.check_factor(factor)
    super_resolution.check_rounds(back_projection)
    if Path(source).is_dir() and record_format(source) is not None:  # a run (of any family: load_run says)
        run = load_run(source, device)
        if not super_resolution.is_super_resolution_run(run.record.train_config):
            on_event(Notice(f"{Path(source).name} was not trained with the super-resolution settings "
                            f"(alpha {super_resolution.RECONSTRUCTION_WEIGHT:g}); expect a softer result"))
    else:
        if settings and holds_run(run_directory(source, out, name or f"{Path(source).stem}_sr"), runs.KIND) \
                and not force:
            raise ConfigError("a super-resolution run of this name exists: it keeps its own settings "
                              "(use --force to retrain it with new ones)")
        directory = _super_resolution_training(source, factor, config, settings or {}, out, name, device, force,
                                               on_event, max_pixels)
        run = load_run(directory, device)
    low = runs.load_real(run.directory, run.record).to(run.device)
    folder = _folder(run, "sr", output)
    stem = f"{Path(run.record.input.path).stem}_x{factor:g}"
    written = [folder / f"{stem}{'_backprojected' if back_projection else ''}.png", folder / f"{stem}_bicubic.png"]
    save_image(written[0], super_resolution.super_resolve(run.model, low, factor, seed, back_projection))
    save_image(written[1], super_resolution.bicubic(low, factor))
    return written


def _super_resolution_training(image: str | Path, factor: float, config: TrainConfig | None, settings: dict,
                               out, name, device: str, force: bool, on_event: EventHandler,
                               max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    directory = run_directory(image, out, name or f"{Path(image).stem}_sr")
    pixels = load_image(image, max_pixels=max_pixels)
    if holds_run(directory, runs.KIND) and not force:
        record = open_run(directory, "singan").record
        if record.input.sha256 != file_sha256(image):
            raise RunError(f"{directory} holds a run of another image; use --force to replace it or --name")
        if record.complete:
            on_event(Notice(f"using the super-resolution run in {directory}"))
            return directory
        on_event(Notice(f"resuming the unfinished super-resolution run in {directory}"))
        return train_run(image, out=directory.parent, name=directory.name, device=device, resume=True,
                         on_event=on_event, max_pixels=max_pixels)
    trained = super_resolution.training_config(config or TrainConfig(), factor, tuple(pixels.shape[-2:]))
    # Refused before training, not after: the upscale of a large image may be far beyond the memory.
    super_resolution.check_upscale_fits(pixels, factor, trained.replace(**settings), resolve_device(device))
    return train_run(image, trained.replace(**settings), out=directory.parent, name=directory.name, device=device,
                     force=force, on_event=on_event, max_pixels=max_pixels)
