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
# Tile sides tried, largest first, when the whole image would not fit; and the side of the probe that
# measures a network's activations.
AUTOMATIC_TILES = (512, 256, 128, 64, 32)
PROBE_SIDE = 16
# A layer's input and output are alive together, and the convolution's workspace beside them: RRDBNet x4 on a
# 512 px image peaked at 3.2 times its largest map (benchmarks/esrgan_upscale.py), hence 3.5.
ACTIVATION_FACTOR = 3.5


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
    rows, columns = _spans(height, tile, tile_pad), _spans(width, tile, tile_pad)
    # The weights are products of a row and a column window, so their sum over the tiles is the product of
    # the windows' sums along each side: two vectors, not a second image (where tiles are wider than twice
    # their context the sums are one everywhere).
    row_sums, column_sums = torch.zeros(height * scale), torch.zeros(width * scale)
    for row, (top, bottom) in enumerate(rows):
        row_window = _window(rows, row, scale)
        row_sums[top * scale:bottom * scale] += row_window
        for column, (left, right) in enumerate(columns):
            result = _run(network, image[..., top:bottom, left:right], half)
            result.mul_(row_window[:, None]).mul_(_window(columns, column, scale)[None, :])
            output[..., top * scale:bottom * scale, left * scale:right * scale] += result
            del result
    for column, (left, right) in enumerate(columns):
        column_sums[left * scale:right * scale] += _window(columns, column, scale)
    return output.div_(row_sums[:, None]).div_(column_sums[None, :])


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


def activation_bytes_per_pixel(network: nn.Module, half: bool = False) -> float:
    """What running the network takes per input pixel, measured on a small probe: its largest layer output
    times ACTIVATION_FACTOR, divided by the probe's pixels."""
    largest = 0

    def record(module, inputs, output):
        nonlocal largest
        if isinstance(output, torch.Tensor):
            largest = max(largest, output.numel() * output.element_size())

    handles = [module.register_forward_hook(record) for module in network.modules() if module is not network]
    try:
        _run(network, torch.zeros(1, network.image_channels, PROBE_SIDE, PROBE_SIDE), half)
    finally:
        for handle in handles:
            handle.remove()
    return ACTIVATION_FACTOR * largest / PROBE_SIDE**2


def fitting_tile(per_pixel: float, height: int, width: int, available: int | None, tile_pad: int) -> int | None:
    """None when the whole image fits in `available` bytes (or nothing is known), else the largest tile of
    AUTOMATIC_TILES that does; a ConfigError when not even the smallest one fits."""
    if available is None or per_pixel * height * width <= available:
        return None
    for tile in AUTOMATIC_TILES:
        if per_pixel * (tile + 2 * tile_pad) ** 2 <= available:
            return tile
    raise ConfigError(f"not even a {AUTOMATIC_TILES[-1]} px tile of this network fits in the memory available "
                      f"({available / 2**30:.1f} GB)")
