"""Progressive growing (PGGAN, StyleGAN v1): which resolution trains, and how far the newest block has faded in.

From 4x4, each new resolution first fades in over `phase_kimg` thousand images (alpha 0 -> 1), then
trains stably for as many; the target resolution then trains until the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from singan.gan_config import FIRST_RESOLUTION, GANConfig


@dataclass(frozen=True)
class Stage:
    resolution: int
    alpha: float  # 1: the newest block alone; below 1: fading in over the previous resolution's output


def stage_at(config: GANConfig, images_seen: float) -> Stage:
    """The stage after `images_seen` real images: phase 0 stabilises 4x4, then fade-in and stabilise alternate."""
    if not config.progressive:
        return Stage(config.resolution, 1.0)
    phase_images = config.phase_kimg * 1000
    phase = int(images_seen // phase_images)
    doublings = (phase + 1) // 2
    if doublings > round(math.log2(config.resolution / FIRST_RESOLUTION)):
        return Stage(config.resolution, 1.0)
    alpha = (images_seen - phase * phase_images) / phase_images if phase % 2 == 1 else 1.0
    return Stage(FIRST_RESOLUTION * 2**doublings, min(max(alpha, 0.0), 1.0))


def images_at_stage(images: torch.Tensor, stage: Stage) -> torch.Tensor:
    """Real images [N, C, R, R] as the discriminator sees them at `stage`: averaged down to its resolution,
    and while a block fades in, blended with their own half-resolution version (PGGAN fades the reals too)."""
    factor = images.shape[-1] // stage.resolution
    shown = F.avg_pool2d(images, factor) if factor > 1 else images
    if stage.alpha >= 1.0:
        return shown
    coarser = F.interpolate(F.avg_pool2d(shown, 2), scale_factor=2, mode="nearest")
    return torch.lerp(coarser, shown, stage.alpha)
