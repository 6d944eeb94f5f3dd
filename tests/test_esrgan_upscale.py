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


def test_the_whole_image_runs_in_tiles_where_it_would_not_fit(network, monkeypatch):
    from singan.api import esrgan as esrgan_api
    from singan.events import Notice
    from singan.models.esrgan_layouts import Detected
    from tasks.esrgan.upscale import activation_bytes_per_pixel, fitting_tile

    per_pixel = activation_bytes_per_pixel(network)
    assert per_pixel == pytest.approx(3.5 * 8 * 16 * 4)  # 3.5 times the 8-channel float map at x4, per pixel
    assert fitting_tile(per_pixel, 100, 100, None, 16) is None
    assert fitting_tile(per_pixel, 100, 100, int(per_pixel * 100 * 100), 16) is None
    assert fitting_tile(per_pixel, 1000, 1000, int(per_pixel * 300**2), 16) == 256
    with pytest.raises(ConfigError, match="not even"):
        fitting_tile(per_pixel, 1000, 1000, 1000, 16)
    loaded = esrgan_api.LoadedNetwork(None, Detected("rrdb", "basicsr", 4, 3, 8, 2, 4), network)
    picture = torch.rand(1, 3, 90, 70) * 2 - 1
    whole = esrgan_api.upscale_image(loaded, picture)
    # Memory for about a 40 px tile: the image runs in 32 px tiles, with a note, and gives the same picture.
    monkeypatch.setattr(esrgan_api, "available_memory_bytes",
                        lambda device: int(2 * (per_pixel * 64**2 + 4 * 3 * 360 * 280)))
    notes = []
    tiled = esrgan_api.upscale_image(loaded, picture, on_event=notes.append)
    assert [type(note) for note in notes] == [Notice] and "tiles of 32 px" in notes[0].message
    assert (tiled - whole).abs().mean().item() < 1 / 255


def test_quantisation_in_pieces_is_the_same(monkeypatch):
    from singan import images

    values = torch.rand(3, 37, 41) * 2.2 - 1.1
    expected = ((values.clamp(-1, 1) + 1) / 2 * 255).round().to(torch.uint8)
    monkeypatch.setattr(images, "QUANTIZE_CHUNK", 1000)
    assert torch.equal(images.to_uint8(values), expected)
    assert torch.equal(images.quantize(values, 16), ((values.clamp(-1, 1) + 1) / 2 * 65535).round().int())
