"""Paint-to-image: a rough painting injected at a coarse scale becomes a picture with the training image's detail.

With colour quantisation (as the paper) the painting is first mapped to the training image's palette, and
the injection scale is fine-tuned to turn such flat-coloured inputs into the image; the fine-tuned scale is
saved beside the run, whose own weights stay untouched.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from singan import checkpoint
from singan.config import TrainConfig
from singan.device import make_generator
from singan.errors import ConfigError, RunError
from singan.events import EventHandler, Notice, ScaleStarted, ignore
from singan.images import save_image
from singan.models.singan import SinGAN, freeze
from singan.pyramid import upsample
from singan.runs import Run
from singan.training.singan import ScaleTrainer, scale_seed
from tasks.inject import check_injection_scale, inject, load_picture, output_folder, with_scale_replaced

PALETTE_COLOURS = 5  # the original's k-means clusters
KMEANS_ROUNDS = 50
FINETUNE_STREAM = 1  # keeps the fine-tuning's random stream apart from the scale's own training


def palette(image: torch.Tensor, colours: int = PALETTE_COLOURS, seed: int = 0) -> torch.Tensor:
    """The image's main colours by k-means (k-means++ start, Lloyd rounds): [colours, C]."""
    pixels = image[0].flatten(1).T.contiguous()  # [P, C]
    if colours < 1 or colours > pixels.shape[0]:
        raise ConfigError(f"--colours must be between 1 and the number of pixels (got {colours})")
    rng = make_generator(pixels.device, seed)
    centres = _kmeans_plus_plus(pixels, colours, rng)
    for _ in range(KMEANS_ROUNDS):
        nearest = torch.cdist(pixels, centres).argmin(dim=1)
        updated = centres.clone()
        for index in range(colours):
            members = pixels[nearest == index]
            if len(members):  # an empty cluster keeps its centre
                updated[index] = members.mean(dim=0)
        if torch.equal(updated, centres):
            break
        centres = updated
    return centres


def _kmeans_plus_plus(pixels: torch.Tensor, colours: int, rng: torch.Generator) -> torch.Tensor:
    first = torch.randint(len(pixels), (1,), generator=rng, device=pixels.device)
    centres = pixels[first]
    for _ in range(1, colours):
        distance = torch.cdist(pixels, centres).min(dim=1).values.square()
        if distance.sum() == 0:  # fewer distinct colours than asked for: repeat one
            chosen = first
        else:
            chosen = torch.multinomial(distance / distance.sum(), 1, generator=rng)
        centres = torch.cat([centres, pixels[chosen]])
    return centres


def quantize(image: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Every pixel replaced by its nearest palette colour; [N, C, H, W] -> same shape."""
    batch, channels, height, width = image.shape
    pixels = image.permute(0, 2, 3, 1).reshape(-1, channels)
    nearest = torch.cdist(pixels, centres).argmin(dim=1)
    return centres[nearest].reshape(batch, height, width, channels).permute(0, 3, 1, 2).contiguous()


def finetuned_path(run_dir: Path, scale: int, colours: int) -> Path:
    return Path(run_dir) / "paint" / f"quantized_scale{scale:02d}_{colours}colours.safetensors"


def quantized_model(model: SinGAN, run_dir: Path, real: torch.Tensor, scale: int, config: TrainConfig, seed: int,
                    colours: int = PALETTE_COLOURS, on_event: EventHandler = ignore
                    ) -> tuple[SinGAN, torch.Tensor]:
    """The model with scale `scale` fine-tuned on quantised coarser images, and the palette.

    `real` is the training image at the finest size. The fine-tuned scale is trained once and saved
    under RUN/paint/; later calls load it.
    """
    check_injection_scale(model, scale)
    real_at_scale = upsample(real, model.sizes[scale])
    centres = palette(real_at_scale, colours, seed)
    path = finetuned_path(run_dir, scale, colours)
    width = model.generators[scale].tail[0].in_channels
    if path.exists():
        generator, _, extra = _load_finetuned(path, model, width, colours)
        on_event(Notice(f"using the fine-tuned scale {scale} saved in {path}"))
        return with_scale_replaced(model, scale, generator.to(real.device), float(extra["noise_amplitude"])), \
            extra["palette"].to(real.device)
    iterations = config.iterations_at(tuple(real_at_scale.shape[-2:]))
    on_event(Notice(f"fine-tuning scale {scale} on inputs quantised to {colours} colours "
                    f"({iterations} iterations, once per run); it is saved to {path}"))
    generator = copy.deepcopy(model.generators[scale]).requires_grad_(True).train()
    critic = copy.deepcopy(model.critics[scale]).requires_grad_(True).train()
    rng = make_generator(real.device, scale_seed(seed, scale) + FINETUNE_STREAM)
    trainer = ScaleTrainer(model.coarsest(scale), real_at_scale, generator, critic, config, rng,
                           condition=lambda image: quantize(image, centres))
    on_event(ScaleStarted(scale, model.num_scales, trainer.size, width, trainer.iterations))
    result = trainer.run(on_event)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save_networks(path, result.generator, result.critic, {
        "palette": centres, "noise_amplitude": torch.tensor(result.noise_amplitude)})
    return with_scale_replaced(model, scale, freeze(result.generator), result.noise_amplitude), centres


def _load_finetuned(path: Path, model: SinGAN, width: int, colours: int):
    expected = {"palette": torch.empty(colours, model.image_channels), "noise_amplitude": torch.empty(())}
    try:
        generator, critic, extra = checkpoint.load_networks(path, model.image_channels, width, expected)
    except RunError as error:
        raise RunError(f"{error}; delete it to fine-tune again") from None
    return freeze(generator), freeze(critic), extra


@torch.no_grad()
def paint(model: SinGAN, painting: torch.Tensor, scale: int, seed: int,
          centres: torch.Tensor | None = None) -> torch.Tensor:
    """The painting (at the run's finest size) injected at `scale`.

    With `centres`, the painting as the scale sees it is mapped to that palette: after resampling to
    the scale, exactly as the fine-tuning quantised the coarser images it trained on.
    """
    condition = None if centres is None else (lambda image: quantize(image, centres))
    return inject(model, painting, scale, seed, condition)


def paint_run(run: Run, painting_path: str | Path, scales: list[int], *, quantize_colours: int | None = None,
              seed: int = 0, out: str | Path | None = None, on_event: EventHandler = ignore) -> list[Path]:
    """One picture per start scale, <painting>_start<n>[_quantized].png; with `quantize_colours`, each
    start scale is fine-tuned once (saved under RUN/paint/) and the painting is mapped to the palette."""
    for scale in scales:
        check_injection_scale(run.model, scale)
    if quantize_colours is not None and quantize_colours < 1:
        raise ConfigError(f"--colours must be a positive integer (got {quantize_colours})")
    painting = load_picture(painting_path, run.model, "the painting", on_event)
    real = None if quantize_colours is None else checkpoint.load_real(run.directory, run.record).to(painting.device)
    folder = output_folder(run.directory, "paint", out)
    stem = Path(painting_path).stem
    written = []
    for scale in scales:
        model, centres, suffix = run.model, None, ""
        if real is not None:
            model, centres = quantized_model(run.model, run.directory, real, scale, run.record.train_config,
                                             run.record.seed, quantize_colours, on_event)
            suffix = "_quantized"
        path = folder / f"{stem}_start{scale}{suffix}.png"
        save_image(path, paint(model, painting, scale, seed, centres))
        written.append(path)
    return written
