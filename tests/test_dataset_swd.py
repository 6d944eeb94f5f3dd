"""PGGAN's sliced Wasserstein distance between a data set and generated images, with its real-vs-real floor."""

import math

import pytest
import torch

from singan.errors import ConfigError
from singan.metrics.swd import dataset_swd


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def waves(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth images [count, 3, size, size] in [-1, 1]: per channel a product of two random sinusoids."""
    generator = seeded(seed)
    frequencies = torch.rand(count, 3, 2, 1, 1, generator=generator) * 0.6 + 0.2
    phases = torch.rand(count, 3, 2, 1, 1, generator=generator) * 2 * math.pi
    rows = torch.arange(size, dtype=torch.float32)[:, None]
    columns = torch.arange(size, dtype=torch.float32)[None, :]
    return 0.9 * torch.sin(frequencies[:, :, 0] * rows + phases[:, :, 0]) * \
        torch.cos(frequencies[:, :, 1] * columns + phases[:, :, 1])


def noise(count: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 3, size, size, generator=seeded(seed)) * 2 - 1


# Few patches per image and many images keep the tests fast: the floor falls with the images more than
# with the patches (patches of one image are alike).
PATCHES = 16


@pytest.fixture(scope="module")
def reals():
    return waves(256, 16)


def test_samples_of_the_data_set_read_about_the_floor(reals):
    result = dataset_swd(reals, waves(128, 16, seed=1), seeded(0), PATCHES)
    assert result.floor > 0
    assert 0.7 < result.ratio < 1.4, result


def test_fakes_of_another_distribution_read_far_above_the_floor(reals):
    close = dataset_swd(reals, waves(128, 16, seed=1), seeded(0), PATCHES)
    far = dataset_swd(reals, noise(128, 16), seeded(0), PATCHES)
    # Normalised patches projected on random directions differ less than the images: 2x is far for SWD.
    assert far.ratio > 2, far
    assert far.average > 2 * close.average
    assert far.floor == close.floor, "the floor depends on the reals and the seed alone"


def test_deterministic_for_a_seed_and_independent_of_the_batch_size():
    reals, fakes = waves(24, 32), noise(12, 32)
    result = dataset_swd(reals, fakes, seeded(3), PATCHES)
    assert result == dataset_swd(reals, fakes, seeded(3), PATCHES)
    batched = dataset_swd(reals, fakes, seeded(3), PATCHES, batch_size=5)
    assert batched.levels == pytest.approx(result.levels, rel=1e-5)
    assert batched.floor_levels == pytest.approx(result.floor_levels, rel=1e-5)
    assert dataset_swd(reals, fakes, seeded(4), PATCHES).levels != result.levels


def test_uint8_images_read_as_their_floats():
    pixels = ((waves(12, 16) + 1) * 127.5).round().to(torch.uint8)
    fakes = ((noise(6, 16) + 1) * 127.5).round().to(torch.uint8)
    as_uint8 = dataset_swd(pixels, fakes, seeded(0))
    as_float = dataset_swd(pixels.float() / 127.5 - 1, fakes.float() / 127.5 - 1, seeded(0))
    assert as_uint8.levels == pytest.approx(as_float.levels, rel=1e-5)


@pytest.mark.parametrize("size, level_sizes", [(8, [(8, 8)]), (16, [(16, 16)]), (32, [(32, 32), (16, 16)])])
def test_levels_go_down_to_16_px_and_small_images_get_one(size, level_sizes):
    result = dataset_swd(waves(8, size), noise(4, size), seeded(0))
    assert result.level_sizes == level_sizes
    assert len(result.levels) == len(result.floor_levels) == len(level_sizes)
    assert all(value > 0 for value in result.levels + result.floor_levels)


def test_the_count_of_images_a_side():
    reals = waves(24, 16)
    fewer = dataset_swd(reals, noise(5, 16), seeded(0))  # K = 5 fakes against 5 reals, floor 5 against 5
    explicit = dataset_swd(reals, noise(20, 16), seeded(0), count=5)
    assert fewer.levels == explicit.levels and fewer.floor == explicit.floor
    with pytest.raises(ConfigError, match="K = 13"):
        dataset_swd(reals, noise(20, 16), seeded(0), count=13)


@pytest.mark.parametrize("real_shape, fake_shape, message", [
    ((8, 3, 16, 16), (4, 1, 16, 16), "same C, H and W"),
    ((8, 3, 16, 16), (4, 3, 32, 32), "same C, H and W"),
    ((1, 3, 16, 16), (4, 3, 16, 16), "impossible with 1 real"),
    ((8, 3, 4, 4), (4, 3, 4, 4), "too small"),
])
def test_unusable_sets(real_shape, fake_shape, message):
    with pytest.raises(ConfigError, match=message):
        dataset_swd(torch.zeros(real_shape), torch.zeros(fake_shape))
