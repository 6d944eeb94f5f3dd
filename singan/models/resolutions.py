"""The resolution ladder the multi-image networks share: blocks from 4x4 up, their widths, their style
inputs, and the stages of progressive growing (PGGAN, StyleGAN v1).

From 4x4, each new resolution first fades in over `phase_kimg` thousand images (alpha 0 -> 1), then
trains stably for as many; the target resolution then trains until the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from singan.errors import ConfigError

FIRST_RESOLUTION = 4
SMALLEST_RESOLUTION = 2 * FIRST_RESOLUTION


def check_resolution(resolution: int) -> int:
    """The final resolution, which must be a power of two of at least SMALLEST_RESOLUTION."""
    if not isinstance(resolution, int) or resolution < SMALLEST_RESOLUTION or resolution & (resolution - 1):
        raise ConfigError(f"--resolution must be a power of two, {SMALLEST_RESOLUTION} or more (got {resolution!r})")
    return resolution


def block_resolutions(resolution: int) -> list[int]:
    """The resolutions with a block: 4, 8, ..., resolution."""
    return [FIRST_RESOLUTION * 2**index for index in range(round(math.log2(resolution / FIRST_RESOLUTION)) + 1)]


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature maps of the layers at `resolution`: halving as the resolution doubles, capped."""
    return max(1, min(channel_base // resolution, channel_max))


def block_widths(resolution: int, channel_base: int, channel_max: int) -> list[int]:
    """The feature maps of each block, coarsest first."""
    return [channels_at(size, channel_base, channel_max) for size in block_resolutions(resolution)]


def count_ws(resolution: int) -> int:
    """Style inputs of a synthesis network up to `resolution`: two per resolution from 4x4 (18 at 1024)."""
    return 2 * round(math.log2(resolution)) - 2


@dataclass(frozen=True)
class Stage:
    resolution: int
    alpha: float  # 1: the newest block alone; below 1: fading in over the previous resolution's output


def growth_stage(resolution: int, phase_kimg: float, images_seen: float) -> Stage:
    """The stage of a progressively grown network of final `resolution` after `images_seen` real images:
    phase 0 stabilises 4x4, then fade-in and stabilise alternate, `phase_kimg` thousand images each."""
    phase_images = phase_kimg * 1000
    phase = int(images_seen // phase_images)
    doublings = (phase + 1) // 2
    if doublings > round(math.log2(resolution / FIRST_RESOLUTION)):
        return Stage(resolution, 1.0)
    alpha = (images_seen - phase * phase_images) / phase_images if phase % 2 == 1 else 1.0
    return Stage(FIRST_RESOLUTION * 2**doublings, min(max(alpha, 0.0), 1.0))


def stage_index(full_resolution: int, resolution: int | None) -> int:
    """Which block is the newest at the training stage `resolution` (None = the full resolution): 0 for 4x4."""
    resolution = full_resolution if resolution is None else resolution
    sizes = block_resolutions(full_resolution)
    if resolution not in sizes:
        raise ValueError(f"stage resolution must be one of {sizes} (got {resolution!r})")
    return sizes.index(resolution)


def check_alpha(alpha: float) -> float:
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (got {alpha!r})")
    return float(alpha)
