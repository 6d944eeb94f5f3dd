"""Retargeting: samples of an exact size and aspect, from any start scale."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from singan.errors import ConfigError
from singan.models.singan import SinGAN
from singan.pyramid import Size
from tasks.singan.sample import sample_images

MAX_STRETCH = 64  # per side, against the training size: beyond it the coarsest scale is a few pixels or huge


def check_size(model: SinGAN, size: Size) -> None:
    trained = model.sizes[-1]
    for value, base, side in ((size[0], trained[0], "height"), (size[1], trained[1], "width")):
        if not (isinstance(value, int) and 1 <= value < MAX_STRETCH * base):
            raise ConfigError(f"--size: the {side} must be a whole number of pixels from 1 to "
                              f"{MAX_STRETCH * base - 1} (the run's is {base}; got {value})")


def retarget_images(model: SinGAN, size: Size, seeds: list[int], *, start_scale: int = 0,
                    batch_size: int | None = None) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (seed, image of exactly `size` (height, width)): every scale's noise stretched to the new aspect."""
    check_size(model, size)
    return sample_images(model, seeds, start_scale=start_scale, size=tuple(size), batch_size=batch_size)

