"""Injection: a picture enters the pyramid at one scale and the finer scales add the training image's detail.

Paint-to-image, harmonization and editing all start this way (SinGAN section 4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from singan.errors import ConfigError
from singan.models.singan import SinGAN
from singan.pyramid import Size, resize, upsample
from singan.seeds import output_generator

# Sizes whose aspect ratios are this close count as the same shape (rounding of a resized picture or mask).
ASPECT_TOLERANCE = 0.02


def check_injection_scale(model: SinGAN, scale: int) -> None:
    """The coarsest scale was trained on an empty canvas, so injection starts at 1 or finer."""
    if model.num_scales < 2:
        raise ConfigError("the run has a single scale: there is no scale to inject a picture into")
    if not 1 <= scale < model.num_scales:
        raise ConfigError(f"--start-scale {scale} is outside the pyramid: use 1 to {model.num_scales - 1}")


def fit_to_run(picture: torch.Tensor, model: SinGAN, what: str) -> tuple[torch.Tensor, str | None]:
    """The picture at the run's finest size, in the run's colour mode, and a message when it had to change."""
    picture = match_channels(picture, model.image_channels)
    size = model.sizes[-1]
    if tuple(picture.shape[-2:]) == tuple(size):
        return picture, None
    height, width = picture.shape[-2:]
    message = f"{what} is {width}x{height} px: resized to the run's {size[1]}x{size[0]} px"
    if aspect_differs((height, width), size):
        message += " (its aspect ratio differs, so it is stretched)"
    return upsample(picture, size), message


def aspect_differs(size: Size, reference: Size) -> bool:
    """Whether two (height, width) sizes differ in aspect ratio by more than ASPECT_TOLERANCE."""
    aspect, reference_aspect = size[1] / size[0], reference[1] / reference[0]
    return abs(aspect - reference_aspect) > ASPECT_TOLERANCE * reference_aspect


def match_channels(picture: torch.Tensor, channels: int) -> torch.Tensor:
    """RGB for an RGB run (gray is repeated), luminance for a grayscale run."""
    if picture.shape[1] == channels:
        return picture
    if channels == 3:
        return picture.expand(-1, 3, -1, -1).clone()
    weights = torch.tensor([0.299, 0.587, 0.114], device=picture.device).view(1, 3, 1, 1)
    return (picture * weights).sum(dim=1, keepdim=True)


def coarse_input(picture: torch.Tensor, sizes: list[Size], scale: int) -> torch.Tensor:
    """The picture as scale `scale` sees a coarser image: shrunk to the next coarser size, then upsampled."""
    return upsample(resize(picture, sizes[scale - 1]), sizes[scale])


@torch.no_grad()
def inject(model: SinGAN, picture: torch.Tensor, scale: int, seed: int,
           condition: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Run scales `scale` .. finest on the picture (at the run's finest size) with fresh noise from `seed`.

    `condition` maps the coarse input the way the scale was trained to see it (paint's quantisation).
    """
    check_injection_scale(model, scale)
    rng = output_generator(seed)
    sizes = model.sizes[scale:]
    noises = [model.draw_noise(rng, scale + offset, size) for offset, size in enumerate(sizes)]
    coarse = coarse_input(picture, model.sizes, scale)
    if condition is not None:
        coarse = condition(coarse)
    return model.synthesize(noises, sizes, image=coarse, first_scale=scale)


def with_scale_replaced(model: SinGAN, scale: int, generator: nn.Module, noise_amplitude: float) -> SinGAN:
    """A view of `model` whose generator at `scale` is another one (a fine-tuned scale); shares the rest."""
    view = model.coarsest(model.num_scales)
    view.generators[scale] = generator
    view.noise_amplitudes[scale] = float(noise_amplitude)
    return view

