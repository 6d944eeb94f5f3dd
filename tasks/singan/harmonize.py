"""Harmonization and editing: inject a pasted or edited picture, then keep the result only near the mask."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from skimage.filters import gaussian
from skimage.morphology import dilation, disk

from singan.errors import ConfigError, InputImageError
from singan.models.singan import SinGAN
from singan.pyramid import Size, upsample
from tasks.singan.inject import aspect_differs, inject

# The original's mask treatment: dilate by a disk, then soften with a Gaussian (both in pixels of the output).
HARMONIZE_RADIUS = 7
EDIT_RADIUS = 20
BLUR_SIGMA = 5.0
RADIUS = {"harmonize": HARMONIZE_RADIUS, "edit": EDIT_RADIUS}


def binary_mask(mask: torch.Tensor, name: str = "the mask") -> torch.Tensor:
    """A mask image in [-1, 1] (any channels) -> [1, 1, H, W] bool; white marks the region to redo.

    Colour masks are converted by their mean; anything brighter than mid-gray is selected (the
    original takes any non-zero pixel, which makes JPEG noise part of the mask).
    """
    selected = mask.mean(dim=1, keepdim=True) > 0
    if not selected.any():
        raise InputImageError(f"{name} is empty (all black): paint the region to blend in white")
    if selected.all():
        raise InputImageError(f"{name} is all white: it must leave part of the picture untouched")
    return selected


def soft_mask(selected: torch.Tensor, radius: int, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Dilate by a disk of `radius`, blur by `sigma`, rescale to [0, 1]: 0 exactly where the input is kept.

    The Gaussian is cut at 4 sigma (a square support), so pixels farther than radius + 4 sigma from the
    mask along rows or columns, or more than radius + 4 sigma * sqrt(2) away in any direction, keep the input.
    """
    pixels = selected[0, 0].cpu().numpy()
    grown = dilation(pixels, disk(radius)).astype(np.float64) if radius > 0 else pixels.astype(np.float64)
    blurred = gaussian(grown, sigma=sigma, truncate=4.0) if sigma > 0 else grown
    blurred[blurred < 1e-6] = 0  # rounding dust of the Gaussian: keep the input exactly there
    low, high = blurred.min(), blurred.max()
    if high <= low:
        raise InputImageError(f"the mask, grown by {radius} px, covers the whole picture: it must leave part of "
                              f"it untouched (a smaller --dilate grows it less)")
    soft = (blurred - low) / (high - low)
    return torch.from_numpy(soft.astype(np.float32))[None, None].to(selected.device)


def check_mask_shape(radius: int, sigma: float) -> None:
    if not (isinstance(radius, int) and 0 <= radius <= 1000):
        raise ConfigError(f"--dilate must be a whole number of pixels from 0 to 1000 (got {radius})")
    if not (math.isfinite(sigma) and 0 <= sigma <= 1000):
        raise ConfigError(f"--blur must be from 0 to 1000 pixels (got {sigma})")


@torch.no_grad()
def blend_injected(model: SinGAN, picture: torch.Tensor, mask: torch.Tensor, scale: int, seed: int) -> torch.Tensor:
    """(1 - m) * picture + m * (the picture injected at `scale`); picture and mask at the run's finest size."""
    generated = inject(model, picture, scale, seed)
    return (1 - mask) * picture + mask * generated


def default_mask_path(picture_path: str | Path) -> Path:
    """Where the original looks for a picture's mask: <name>_mask.<ext> beside it."""
    picture_path = Path(picture_path)
    return picture_path.with_name(f"{picture_path.stem}_mask{picture_path.suffix}")


def fit_mask(mask: torch.Tensor, path: Path, reference_size: Size, model: SinGAN, radius: int,
             sigma: float = BLUR_SIGMA) -> tuple[torch.Tensor, str | None]:
    """The soft blending mask at the run's size from a mask image (read from `path`, which messages name)
    made for a picture of `reference_size`, and a message when it had to be resized."""
    height, width = mask.shape[-2:]
    # A mask may be drawn at another resolution than its picture, but not for another framing.
    if aspect_differs((height, width), reference_size):
        raise InputImageError(f"{path}: the mask is {width}x{height} px but the picture is "
                              f"{reference_size[1]}x{reference_size[0]} px; their shapes must match")
    size = model.sizes[-1]
    mask = upsample(mask.to(model.device), size)
    soft = soft_mask(binary_mask(mask, f"{path}: the mask"), radius, sigma)
    if (height, width) == tuple(size):
        return soft, None
    # Told only once the mask is known to be usable.
    return soft, f"the mask {Path(path).name} is {width}x{height} px: resized to the run's {size[1]}x{size[0]} px"
