"""Upscaling in tiles: the same picture as in one piece, without seams, for every size and scale."""

from __future__ import annotations

import pytest
import torch

from singan.errors import ConfigError
from singan.models.esrgan import RRDBNet, SRVGGNetCompact
from tasks.esrgan.upscale import upscale


def smooth_picture(height: int, width: int) -> torch.Tensor:
    """Slow colour waves: natural gradients are small, so a seam would stand out."""
    rows, columns = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    return torch.stack([0.5 + 0.4 * torch.sin(6 * columns + 3 * rows), 0.5 + 0.4 * torch.cos(5 * rows),
                        0.8 * columns + 0.1])[None]


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    # Two RRDBs see about 35 px around each pixel: more than the tiles' 8 px of context, so tiles differ.
    return RRDBNet(4, features=8, blocks=2, growth=4).eval()


def column_seams(image: torch.Tensor, tile: int, scale: int) -> float:
    """Mean absolute step between neighbouring columns at the tiles' borders, over the mean step anywhere."""
    steps = (image[..., 1:] - image[..., :-1]).abs().mean(dim=(0, 1, 2))
    borders = [column * scale - 1 for column in range(tile, image.shape[-1] // scale, tile)]
    return (steps[borders].mean() / steps.mean()).item()


@pytest.mark.parametrize("tile, pad", [(16, 8), (32, 8), (24, 4), (40, 16)])
def test_tiled_is_within_one_level_of_untiled(network, tile, pad):
    picture = torch.rand(1, 3, 50, 70)
    whole = upscale(network, picture)
    tiled = upscale(network, picture, tile=tile, tile_pad=pad)
    assert tiled.shape == whole.shape == (1, 3, 200, 280)
    assert (tiled - whole).abs().mean().item() < 1 / 255


def test_tile_borders_show_no_seam(network):
    picture = smooth_picture(64, 96)
    whole, tiled = upscale(network, picture), upscale(network, picture, tile=32, tile_pad=8)
    pasted = upscale(network, picture, tile=32, tile_pad=0)  # no context, no overlap: what pasting gives
    assert column_seams(tiled, 32, 4) <= 1.05 * column_seams(whole, 32, 4)
    assert column_seams(pasted, 32, 4) > 5 * column_seams(whole, 32, 4)  # the measure does see seams


@pytest.mark.parametrize("scale, size", [(2, (13, 17)), (1, (9, 11)), (1, (2, 6)), (4, (5, 3))])
def test_sides_that_are_not_multiples_are_padded_and_cropped_back(scale, size):
    network = RRDBNet(scale, features=8, blocks=1, growth=4).eval()
    picture = torch.rand(1, 3, *size)
    for tile in (None, 4):
        result = upscale(network, picture, tile=tile, tile_pad=2)
        assert result.shape == (1, 3, size[0] * scale, size[1] * scale)
        assert torch.isfinite(result).all()


def test_a_tile_larger_than_the_image_is_the_whole_image():
    network = SRVGGNetCompact(4, features=8, convs=2).eval()
    picture = torch.rand(1, 3, 12, 10)
    assert torch.equal(upscale(network, picture, tile=64), upscale(network, picture))


@pytest.mark.parametrize("options, message", [({"tile": 0}, "--tile must be"),
                                              ({"tile": 8, "tile_pad": -1}, "--tile-pad must be")])
def test_bad_tiling_options(options, message):
    with pytest.raises(ConfigError, match=message):
        upscale(SRVGGNetCompact(4, features=8, convs=1), torch.rand(1, 3, 8, 8), **options)
