"""Patch SWD on a Laplacian pyramid and the SinGAN diversity figure, on tiny images."""

import json

import pytest
import torch

from singan.errors import ConfigError
from singan.metrics.diversity import diversity
from singan.metrics.swd import (
    KERNEL,
    collapse_pyramid,
    laplacian_pyramid,
    patch_swd,
    pyramid_down,
    pyramid_levels,
    pyramid_up,
    sliced_wasserstein,
)

from conftest import synthetic_image


def as_tensor(pixels) -> torch.Tensor:
    """uint8 [H, W, C] -> [1, C, H, W] in [-1, 1]."""
    return torch.tensor(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def uniform_noise(count: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 3, height, width, generator=seeded(seed)) * 2 - 1


@pytest.fixture(scope="module")
def real():
    return as_tensor(synthetic_image(48, 48))


# Laplacian pyramid

@pytest.mark.parametrize("size, levels", [((1024, 1024), 7), ((24, 32), 1), ((45, 64), 2), ((96, 128), 3),
                                          ((250, 187), 4), ((15, 15), 1)])
def test_levels_go_down_while_the_next_smaller_side_is_at_least_16(size, levels):
    assert pyramid_levels(*size) == levels  # 1024 px: 1024 .. 16, PGGAN's seven levels


def test_pyramid_shapes_and_exact_reconstruction():
    images = uniform_noise(2, 45, 64)
    pyramid = laplacian_pyramid(images)
    assert [tuple(level.shape) for level in pyramid] == [(2, 3, 45, 64), (2, 3, 23, 32)]
    torch.testing.assert_close(collapse_pyramid(pyramid), images, atol=1e-5, rtol=0)
    deeper = laplacian_pyramid(uniform_noise(1, 96, 130), levels=4)
    assert [tuple(level.shape[-2:]) for level in deeper] == [(96, 130), (48, 65), (24, 33), (12, 17)]
    torch.testing.assert_close(collapse_pyramid(deeper), uniform_noise(1, 96, 130), atol=1e-5, rtol=0)


def test_a_flat_image_has_empty_detail_levels_and_its_colour_as_the_remainder():
    flat = torch.full((1, 3, 64, 64), 0.25)
    *details, remainder = laplacian_pyramid(flat)
    assert len(details) == 2
    for level in details:
        torch.testing.assert_close(level, torch.zeros_like(level), atol=1e-6, rtol=0)
    torch.testing.assert_close(remainder, torch.full((1, 3, 16, 16), 0.25))


def test_down_and_up_match_pggans_scipy_code():
    """PGGAN's own pyr_down / pyr_up (scipy.ndimage.convolve, mode 'mirror'), on an even size."""
    ndimage = pytest.importorskip("scipy.ndimage")
    images = uniform_noise(2, 32, 48).double()
    kernel = KERNEL.double().numpy()[None, None]
    down = ndimage.convolve(images.numpy(), kernel, mode="mirror")[:, :, ::2, ::2]
    torch.testing.assert_close(pyramid_down(images), torch.from_numpy(down))
    spread = torch.zeros(2, 3, 64, 96, dtype=torch.float64)
    spread[:, :, ::2, ::2] = images
    up = ndimage.convolve(spread.numpy(), kernel * 4, mode="mirror")
    torch.testing.assert_close(pyramid_up(images, (64, 96)), torch.from_numpy(up))


# Sliced Wasserstein distance

def test_a_set_against_itself_is_zero_and_the_distance_is_symmetric():
    first, second = torch.randn(500, 147, generator=seeded(1)), torch.rand(500, 147, generator=seeded(2))
    assert sliced_wasserstein(first, first, generator=seeded(0)) == 0
    forward = sliced_wasserstein(first, second, generator=seeded(0))
    assert forward > 0
    assert sliced_wasserstein(second, first, generator=seeded(0)) == pytest.approx(forward, rel=1e-6)
    with pytest.raises(ValueError):
        sliced_wasserstein(first, second[:400])


def test_a_near_copy_reads_at_the_floor_and_noise_far_above_it(real):
    # A copy of the image with a little noise, its patches drawn 8 x 128 times; 8 noise images of 128 each.
    copy = (real + 0.01 * torch.randn(real.shape, generator=seeded(5))).clamp(-1, 1)
    near = patch_swd(real, copy, seeded(0), patches_per_image=8 * 128)
    noise = patch_swd(real, uniform_noise(8, 48, 48), seeded(0))
    # The floor is what an exact copy scores in expectation: the near copy reads about 1x (0.9 here), noise 4x.
    assert 0.7 < near.ratio < 1.3
    assert noise.ratio > 3 and noise.average > 3 * near.average
    assert all(value > floor for value, floor in zip(noise.levels, noise.floor_levels))


def test_patch_swd_is_deterministic_per_seed_and_reports_every_level(real):
    fakes = uniform_noise(3, 48, 48)
    first, again, other = (patch_swd(real, fakes, seeded(seed)) for seed in (7, 7, 8))
    assert first == again and first != other
    assert first.level_sizes == [(48, 48), (24, 24)]
    assert len(first.levels) == len(first.floor_levels) == 2
    assert first.average == pytest.approx(sum(first.levels) / 2)
    assert first.floor == pytest.approx(sum(first.floor_levels) / 2)
    assert first.ratio == pytest.approx(first.average / first.floor)


def test_fakes_of_another_size_use_their_own_pyramid(real):
    result = patch_swd(real, uniform_noise(2, 36, 70), seeded(0))
    assert len(result.levels) == 2 and all(value > 0 for value in result.levels)


@pytest.mark.parametrize("fakes, message", [
    (torch.zeros(2, 3, 12, 12), "too small"),
    (torch.zeros(2, 1, 48, 48), "channel"),
    (torch.zeros(3, 48, 48), "channel"),
])
def test_unusable_fakes(real, fakes, message):
    with pytest.raises(ConfigError, match=message):
        patch_swd(real, fakes, seeded(0))


def test_a_real_image_too_small_for_patches():
    with pytest.raises(ConfigError, match="too small"):
        patch_swd(torch.zeros(1, 3, 6, 20), torch.zeros(2, 3, 6, 20), seeded(0))


def test_a_flat_image_has_a_zero_floor_and_the_json_stays_valid():
    flat = torch.zeros(1, 3, 20, 20)
    same = patch_swd(flat, flat.expand(2, -1, -1, -1), seeded(0))
    assert same.floor == 0 and same.average == 0 and same.ratio == 0
    noise = patch_swd(flat, uniform_noise(2, 20, 20), seeded(0))
    assert noise.ratio == float("inf")
    assert json.loads(json.dumps(noise.to_dict(), allow_nan=False))["ratio"] is None


# Diversity

def test_identical_samples_have_zero_diversity(real):
    assert diversity(real.expand(5, -1, -1, -1) * 0.37, real) == 0.0


def test_independent_noise_against_a_noise_image_is_about_one():
    samples = uniform_noise(400, 8, 8, seed=1)
    assert diversity(samples, uniform_noise(1, 48, 48, seed=2)) == pytest.approx(1.0, abs=0.05)


def test_a_worked_example():
    # Every pixel is 0 in one sample and 2 in the other: population std 1; the image is +-0.5: std 0.5.
    samples = torch.stack([torch.zeros(3, 4, 4), torch.full((3, 4, 4), 2.0)])
    image = torch.tensor([0.5, -0.5]).repeat(24).reshape(1, 3, 4, 4)
    assert diversity(samples, image) == pytest.approx(2.0)


def test_diversity_ignores_order_units_and_what_all_samples_share(real):
    samples = uniform_noise(6, 48, 48) * 0.3
    reference = diversity(samples, real)
    assert diversity(samples.flip(0), real) == pytest.approx(reference, rel=1e-6)
    # The same affine change of values for the samples and the image: the figure has no units.
    assert diversity(samples * -2.5 + 0.3, real * -2.5 + 0.3) == pytest.approx(reference, rel=1e-5)
    # A layout every sample shares (such as the training image's own) adds nothing.
    assert diversity(samples + real, real) == pytest.approx(reference, rel=1e-5)


@pytest.mark.parametrize("samples", [torch.zeros(1, 3, 8, 8), torch.zeros(3, 8, 8)])
def test_diversity_needs_two_samples(real, samples):
    with pytest.raises(ConfigError, match="at least 2 samples"):
        diversity(samples, real)


def test_diversity_against_a_flat_image_is_undefined():
    with pytest.raises(ConfigError, match="flat"):
        diversity(uniform_noise(3, 8, 8), torch.zeros(1, 3, 8, 8))
