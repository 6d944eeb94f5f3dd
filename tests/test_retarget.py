"""Retargeting: samples of an exact size and aspect from any start scale."""

import imageio.v3 as iio
import pytest
import torch

from singan import api
from singan.errors import ConfigError
from tasks.singan.retarget import retarget_images


@pytest.mark.parametrize("start_scale", [0, 1, 3])
@pytest.mark.parametrize("size", [(24, 48), (17, 50), (40, 20), (13, 13)])
def test_retargeted_samples_have_exactly_the_asked_size(loaded_run, start_scale, size):
    (_, image), = retarget_images(loaded_run.model, size, [0], start_scale=start_scale)
    assert image.shape == (1, 3, *size)
    assert image.min() >= -1 and image.max() <= 1


def test_retargeting_follows_the_seed(loaded_run):
    first = dict(retarget_images(loaded_run.model, (20, 60), [1, 2]))
    again = dict(retarget_images(loaded_run.model, (20, 60), [1]))
    assert torch.equal(first[1], again[1]) and not torch.equal(first[1], first[2])


def test_retarget_run_writes_one_png_per_seed(loaded_run, tmp_path):
    paths = api.retarget_run(loaded_run, (30, 70), [0, 5], start_scale=1, out=tmp_path)
    assert [path.name for path in paths] == ["seed0000.png", "seed0005.png"]
    assert iio.imread(paths[1]).shape == (30, 70, 3)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (24 * 64, 32), (24, 10**6)])
def test_sizes_outside_the_range_are_refused(loaded_run, size, tmp_path):
    with pytest.raises(ConfigError, match="--size"):
        api.retarget_run(loaded_run, size, [0], out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
