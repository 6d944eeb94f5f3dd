"""Upscaling with an ESRGAN-family network, whole or in tiles, with the image kept in host memory.

Tiles go to the network's device one at a time, each with `tile_pad` pixels of context on every side
where the image has them. Neighbouring tiles overlap by twice that context, and across the overlap their
outputs are blended with complementary raised-cosine weights (summing to one), so no seam shows where a
tile's content changes; at the image's own borders a tile keeps its full weight. (Real-ESRGAN cuts the
context off and pastes the tiles side by side, which leaves visible seams, and moves the whole image to
the GPU first.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from singan.device import module_device
from singan.errors import ConfigError

DEFAULT_TILE_PAD = 16


def upscale(network: nn.Module, image: torch.Tensor, *, tile: int | None = None, tile_pad: int = DEFAULT_TILE_PAD,
            half: bool = False) -> torch.Tensor:
    """[1, C, H, W] in [0, 1] (on the CPU) -> [1, C, sH, sW] on the CPU, `s` the network's scale.

    `tile` None runs the whole image at once; otherwise tiles of `tile` px (plus context) are run one by
    one. Sides that are not multiples of the network's `multiple` are padded by reflection and the
    output cropped back. `half` runs the network in float16 (a CUDA option)."""
    if tile is not None and tile < 1:
        raise ConfigError(f"--tile must be a positive number of pixels (got {tile})")
    if tile_pad < 0:
        raise ConfigError(f"--tile-pad must be zero or more (got {tile_pad})")
    height, width = image.shape[-2:]
    if tile is None or (height <= tile and width <= tile):
        return _run(network, image, half)
    scale = network.scale
    output = torch.zeros(1, image.shape[1], height * scale, width * scale)
    weights = torch.zeros(1, 1, height * scale, width * scale)
    rows, columns = _spans(height, tile, tile_pad), _spans(width, tile, tile_pad)
    for row, (top, bottom) in enumerate(rows):
        for column, (left, right) in enumerate(columns):
            result = _run(network, image[..., top:bottom, left:right], half)
            weight = _window(rows, row, scale)[:, None] * _window(columns, column, scale)[None, :]
            output[..., top * scale:bottom * scale, left * scale:right * scale] += result * weight
            weights[..., top * scale:bottom * scale, left * scale:right * scale] += weight
    return output / weights


def _run(network: nn.Module, image: torch.Tensor, half: bool) -> torch.Tensor:
    """One piece through the network on its device, padded to its `multiple` and cropped back."""
    multiple = getattr(network, "multiple", 1)
    height, width = image.shape[-2:]
    pad_bottom, pad_right = -height % multiple, -width % multiple
    device = module_device(network)
    piece = image.to(device, torch.float16 if half else torch.float32)
    if pad_bottom or pad_right:
        # Reflection needs more pixels than it adds; a sliver of a tile is extended by its edge instead.
        mode = "reflect" if pad_bottom < height and pad_right < width else "replicate"
        piece = F.pad(piece, (0, pad_right, 0, pad_bottom), mode=mode)
    with torch.no_grad():
        result = network(piece)
    scale = network.scale
    return result[..., :height * scale, :width * scale].float().cpu()


def _spans(length: int, tile: int, pad: int) -> list[tuple[int, int]]:
    """The [start, end) of each tile along one side: cores of `tile` px, each widened by `pad` of context."""
    count = math.ceil(length / tile)
    return [(max(0, index * tile - pad), min(length, (index + 1) * tile + pad)) for index in range(count)]


def _window(spans: list[tuple[int, int]], index: int, scale: int) -> torch.Tensor:
    """The blending weight along one side of tile `index`'s output: 1 where no other tile reaches, and over
    the stretch it shares with a neighbour a raised-cosine ramp, which the neighbour's mirrors (they sum to
    one); none at the image's own borders."""
    start, end = spans[index]
    positions = (torch.arange(start * scale, end * scale, dtype=torch.float32) + 0.5) / scale
    weight = torch.ones_like(positions)
    if index > 0:  # shared with the previous tile: [start, its end)
        shared = spans[index - 1][1] - start
        if shared > 0:
            weight = torch.minimum(weight, _rise((positions - start) / shared))
    if index + 1 < len(spans):  # shared with the next one: [its start, end)
        shared = end - spans[index + 1][0]
        if shared > 0:
            weight = torch.minimum(weight, _rise((end - positions) / shared))
    return weight


def _rise(fraction: torch.Tensor) -> torch.Tensor:
    """0 -> 1 smoothly over fraction 0 -> 1 (0.5 - 0.5 cos(pi t)); its mirror image is 1 minus it."""
    return 0.5 - 0.5 * torch.cos(math.pi * fraction.clamp(0, 1))
