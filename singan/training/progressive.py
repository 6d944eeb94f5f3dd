"""What the discriminator is shown while a progressively grown network trains at a stage below its full
resolution (the stages themselves: `singan.models.resolutions`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from singan.models.resolutions import Stage


def images_at_stage(images: torch.Tensor, stage: Stage) -> torch.Tensor:
    """Real images [N, C, R, R] as the discriminator sees them at `stage`: averaged down to its resolution,
    and while a block fades in, blended with their own half-resolution version (PGGAN fades the reals too)."""
    factor = images.shape[-1] // stage.resolution
    shown = F.avg_pool2d(images, factor) if factor > 1 else images
    if stage.alpha >= 1.0:
        return shown
    coarser = F.interpolate(F.avg_pool2d(shown, 2), scale_factor=2, mode="nearest")
    return torch.lerp(coarser, shown, stage.alpha)
