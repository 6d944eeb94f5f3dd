"""Paint-to-image: a rough painting injected at a coarse scale becomes a picture with the training image's detail.

With colour quantisation (as the paper) the painting is first mapped to the training image's palette, and
the injection scale is fine-tuned to turn such flat-coloured inputs into the image (singan.api keeps the
fine-tuned scale beside the run, whose own weights stay untouched).
"""

from __future__ import annotations

import copy

import torch

from singan.config.singan import TrainConfig
from singan.errors import ConfigError
from singan.events import EventHandler, ScaleStarted, ignore
from singan.models.singan import SinGAN
from singan.pyramid import upsample
from singan.seeds import make_generator, scale_seed
from singan.training.singan import ScaleResult, ScaleTrainer
from tasks.singan.inject import check_injection_scale, inject

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


def scale_width(model: SinGAN, scale: int) -> int:
    """The channels of every layer of the scale's networks."""
    return model.generators[scale].tail[0].in_channels


def finetune_quantized(model: SinGAN, real: torch.Tensor, scale: int, config: TrainConfig, seed: int,
                       colours: int = PALETTE_COLOURS, on_event: EventHandler = ignore
                       ) -> tuple[ScaleResult, torch.Tensor]:
    """Scale `scale` fine-tuned, from its trained weights, on coarser images quantised to the palette of
    the training image at that scale, and the palette [colours, C]. `real` is the training image at the
    finest size; `config` and `seed` are the run's."""
    check_injection_scale(model, scale)
    real_at_scale = upsample(real, model.sizes[scale])
    centres = palette(real_at_scale, colours, seed)
    generator = copy.deepcopy(model.generators[scale]).requires_grad_(True).train()
    critic = copy.deepcopy(model.critics[scale]).requires_grad_(True).train()
    rng = make_generator(real.device, scale_seed(seed, scale) + FINETUNE_STREAM)
    trainer = ScaleTrainer(model.coarsest(scale), real_at_scale, generator, critic, config, rng,
                           condition=lambda image: quantize(image, centres))
    on_event(ScaleStarted(scale, model.num_scales, trainer.size, scale_width(model, scale), trainer.iterations))
    return trainer.run(on_event), centres


def finetune_iterations(model: SinGAN, scale: int, config: TrainConfig) -> int:
    """How many iterations `finetune_quantized` trains for."""
    return config.iterations_at(tuple(model.sizes[scale]))


@torch.no_grad()
def paint(model: SinGAN, painting: torch.Tensor, scale: int, seed: int,
          centres: torch.Tensor | None = None) -> torch.Tensor:
    """The painting (at the run's finest size) injected at `scale`.

    With `centres`, the painting as the scale sees it is mapped to that palette: after resampling to
    the scale, exactly as the fine-tuning quantised the coarser images it trained on.
    """
    condition = None if centres is None else (lambda image: quantize(image, centres))
    return inject(model, painting, scale, seed, condition)

