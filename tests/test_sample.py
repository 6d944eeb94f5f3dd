import imageio.v3 as iio
import numpy as np
import pytest
import torch

from singan import api
from singan.errors import ConfigError
from tasks.singan.sample import sample_images


@pytest.fixture(scope="module")
def run(trained_run):
    return api.load_run(trained_run, device="cpu")


def images(run, seeds, **options):
    return {seed: image for seed, image in sample_images(run.model, seeds, **options)}


def test_shapes_and_range(run):
    result = images(run, [0, 1, 2])
    height, width = run.model.sizes[-1]
    for image in result.values():
        assert image.shape == (1, 3, height, width)
        assert torch.isfinite(image).all()
        # The images' range: the residual sum is clipped to [-1, 1], and a sample is a picture, not a flat field.
        assert image.min() >= -1 and image.max() <= 1
        assert image.max() - image.min() > 0.5


def test_same_seed_same_image_and_different_seeds_differ(run):
    first, second = images(run, [4, 5]), images(run, [4, 5])
    assert torch.equal(first[4], second[4]) and torch.equal(first[5], second[5])
    assert not torch.equal(first[4], first[5])


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_seed_gives_the_same_image_whatever_else_is_sampled(run, batch_size):
    together = images(run, list(range(6)), batch_size=batch_size)
    for seed in (0, 3, 5):
        alone = images(run, [seed], batch_size=batch_size)[seed]
        assert torch.equal(alone, together[seed])


def test_start_scale_keeps_the_layout(run):
    last = run.model.num_scales - 1
    # From the finest scale, only the finest noise differs: samples stay close to the reconstruction.
    with torch.no_grad():
        reconstruction = run.model.reconstruct()
    fine = images(run, [0, 1], start_scale=last)
    coarse = images(run, [0, 1], start_scale=0)
    fine_distance = (fine[0] - reconstruction).abs().mean()
    coarse_distance = (coarse[0] - reconstruction).abs().mean()
    assert fine_distance < coarse_distance
    assert not torch.equal(fine[0], fine[1])


@pytest.mark.parametrize("start_scale", [0, 1, 3])
@pytest.mark.parametrize("scale_h, scale_v", [(1.5, 1.0), (1.0, 0.5), (2.0, 1.25)])
def test_any_size_from_any_start_scale(run, start_scale, scale_h, scale_v):
    height, width = run.model.sizes[-1]
    (image,) = images(run, [0], start_scale=start_scale, scale_h=scale_h, scale_v=scale_v).values()
    assert image.shape[-2:] == (round(height * scale_v), round(width * scale_h))
    assert torch.isfinite(image).all()


def test_start_scale_outside_the_pyramid(run):
    with pytest.raises(ConfigError, match="use 0 to 3"):
        images(run, [0], start_scale=4)
    with pytest.raises(ConfigError, match="use 0 to 3"):
        images(run, [0], start_scale=-1)


@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan"), 100.0])
def test_bad_size_factors(run, factor):
    with pytest.raises(ConfigError, match="--scale-h"):
        images(run, [0], scale_h=factor)


def test_sample_run_writes_one_png_per_seed(run, tmp_path):
    paths = api.sample_run(run, [7, 12], out=tmp_path)
    assert [path.name for path in paths] == ["seed0007.png", "seed0012.png"]
    pixels = iio.imread(paths[0])
    assert pixels.dtype == np.uint8 and pixels.shape == (*run.model.sizes[-1], 3)
    again = api.sample_run(run, [7], out=tmp_path / "again")
    assert again[0].read_bytes() == paths[0].read_bytes()
