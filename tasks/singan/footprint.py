"""What a SinGAN task holds in memory at the least, so that an output size, batch or frame count that
cannot fit is refused (singan.memory) before anything of that size is allocated.

Low estimates on purpose: a pass through a scale holds its noise map and, while a convolution runs, its
input and output feature maps at the scale's width (every later copy is freed as the pass goes on).
"""

from __future__ import annotations

from collections.abc import Sequence

from singan.memory import check_fits, float_images_bytes
from singan.models.singan import PADDING, SinGAN
from singan.pyramid import Size


def scale_widths(model: SinGAN) -> list[int]:
    """The channels of each scale's layers, coarsest first."""
    return [generator.tail[0].in_channels for generator in model.generators]


def synthesis_bytes(image_channels: int, sizes: Sequence[Size], batch: int, widths: Sequence[int]) -> int:
    """What a pass through `sizes` (each with the width in `widths`) takes for `batch` images at the least:
    the noise maps (at the images' size, the smaller kind), a convolution's two feature maps, the output."""
    noises = sum(float_images_bytes(batch, image_channels, *size) for size in sizes)
    features = max(float_images_bytes(2 * batch, width, size[0] + 2 * PADDING, size[1] + 2 * PADDING)
                   for width, size in zip(widths, sizes))
    return noises + features + float_images_bytes(batch, image_channels, *sizes[-1])


def check_synthesis_fits(model: SinGAN, sizes: Sequence[Size], batch: int, what: str, advice: str,
                         widths: Sequence[int] | None = None, extra_bytes: int = 0) -> None:
    """Refuse a pass that the model's device cannot hold; `extra_bytes`: what the task keeps besides."""
    needed = synthesis_bytes(model.image_channels, sizes, batch, scale_widths(model) if widths is None else widths)
    check_fits(needed + extra_bytes, what, advice, model.device)
