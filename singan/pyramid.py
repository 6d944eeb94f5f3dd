"""The image pyramid: a pure planner of per-scale sizes, and float resizing on the device."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from singan.errors import InputImageError

Size = tuple[int, int]  # (height, width)

# Products such as 186 * (25 / 186) ** (8 / 8) come out as 25.000000000000004; the rule means 25.
_ROUNDING_SLACK = 1e-6


@dataclass(frozen=True)
class PyramidPlan:
    """Explicit per-scale sizes, coarsest first; the one source of truth for every scale's shape."""

    input_size: Size
    sizes: tuple[Size, ...]
    scale_factor: float  # the recomputed factor between consecutive scales

    @property
    def num_scales(self) -> int:
        return len(self.sizes)

    @property
    def finest(self) -> Size:
        return self.sizes[-1]

    @property
    def shrunk(self) -> bool:
        return self.finest != self.input_size


def plan_pyramid(height: int, width: int, min_size: int = 25, max_size: int = 250,
                 scale_factor: float = 0.75, exact_factor: bool = False) -> PyramidPlan:
    """The original SinGAN rule: shrink to `max_size`, then scales down to a short side of `min_size`.

    The original recomputes the factor so that the coarsest short side is exactly `min_size`. With
    `exact_factor` the factor is kept as given and the coarsest short side is the smallest one, at
    least `min_size`, that whole steps of it reach (what super-resolution needs: one step per scale).
    """
    if height < 1 or width < 1:
        raise InputImageError(f"the image has a zero dimension ({height}x{width})")
    short, long = min(height, width), max(height, width)
    shrink = min(max_size / long, 1.0)
    finest = (_ceil(height * shrink), _ceil(width * shrink))
    finest_short = min(finest)
    if exact_factor:
        stop = math.floor(math.log(min_size / finest_short) / math.log(scale_factor) + _ROUNDING_SLACK)
        smallest = math.ceil(min_size / scale_factor)
    else:
        num_scales = _ceil(math.log(min_size / short) / math.log(scale_factor)) + 1
        skipped = _ceil(math.log(min(max_size, long) / long) / math.log(scale_factor))
        stop = num_scales - skipped
        smallest = min_size + 1
    if finest_short < smallest or stop < 1:
        reason = f"shrunk to {finest[0]}x{finest[1]} by --max-size {max_size}, " if shrink < 1 else ""
        raise InputImageError(
            f"the image ({height}x{width}, {reason}short side {finest_short} px) is too small for "
            f"--min-size {min_size}: the short side must be at least {smallest} px")
    factor = scale_factor if exact_factor else (min_size / finest_short) ** (1 / stop)
    sizes = tuple(_scaled(finest, factor ** (stop - scale)) for scale in range(stop + 1))
    return PyramidPlan(input_size=(height, width), sizes=sizes, scale_factor=factor)


def plan_for(height: int, width: int, config) -> PyramidPlan:
    """The pyramid a TrainConfig asks for, for an image of height x width."""
    plan = plan_pyramid(height, width, config.min_size, config.max_size, config.scale_factor,
                        config.exact_scale_factor)
    if not config.uncropped_scale_factor:
        return plan
    whole = sum(1 for size in plan.sizes if not config.crops(size))
    return denser_below(plan, whole, config.min_size, config.uncropped_scale_factor)


def denser_below(plan: PyramidPlan, count: int, min_size: int, scale_factor: float) -> PyramidPlan:
    """`plan` with its `count` coarsest scales spaced anew by about `scale_factor`, from the largest of them
    down to a short side of exactly `min_size`; the larger scales are kept. Only ever adds scales: where
    the plan is already as dense there, it is returned as it is. The recorded factor stays the one between
    the finest scales."""
    if count < 2:
        return plan
    largest = plan.sizes[count - 1]
    steps = _ceil(math.log(min_size / min(largest)) / math.log(scale_factor))
    if steps <= count - 1:
        return plan
    factor = (min_size / min(largest)) ** (1 / steps)
    coarse = tuple(_scaled(largest, factor ** (steps - scale)) for scale in range(steps))
    finest_factor = factor if count == plan.num_scales else plan.scale_factor
    return PyramidPlan(input_size=plan.input_size, sizes=coarse + plan.sizes[count - 1:],
                       scale_factor=finest_factor)


def scaled_sizes(sizes: tuple[Size, ...] | list[Size], vertical: float, horizontal: float) -> list[Size]:
    """Every scale's size stretched by (vertical, horizontal), for outputs of another size or aspect."""
    return [(max(1, round(height * vertical)), max(1, round(width * horizontal))) for height, width in sizes]


def resize(image: torch.Tensor, size: Size) -> torch.Tensor:
    """Bicubic resize of [N, C, H, W] in float, antialiased when shrinking."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=shrinking)


def upsample(image: torch.Tensor, size: Size) -> torch.Tensor:
    """Resize a generated image to the next scale, clipped to the image range.

    The original clips here too, as a side effect of its uint8 round trip; we keep floats.
    """
    return resize(image, size).clamp(-1, 1)


def build_pyramid(image: torch.Tensor, plan: PyramidPlan) -> list[torch.Tensor]:
    """The real image at every planned size, each resized directly from the finest."""
    finest = upsample(image, plan.finest)
    return [upsample(finest, size) for size in plan.sizes[:-1]] + [finest]


def _ceil(value: float) -> int:
    return math.ceil(value - _ROUNDING_SLACK)


def _scaled(size: Size, factor: float) -> Size:
    return (_ceil(size[0] * factor), _ceil(size[1] * factor))
