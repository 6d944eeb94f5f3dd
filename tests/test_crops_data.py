"""High-resolution crops for super-resolution training: what is kept, what is skipped, the crops' sizes,
ranges, determinism and symmetries."""

from __future__ import annotations

import pytest
import torch

from conftest import synthetic_image, write_image
from singan.data.crops import load_crop_data, random_crops
from singan.errors import ConfigError, InputImageError


@pytest.fixture
def folder(tmp_path):
    write_image(tmp_path / "hr" / "a.png", synthetic_image(40, 56))
    write_image(tmp_path / "hr" / "sub" / "gray.png", synthetic_image(36, 36, channels=1))
    write_image(tmp_path / "hr" / "tiny.png", synthetic_image(12, 40))
    (tmp_path / "hr" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nno")
    return tmp_path / "hr"


def test_images_keep_their_sizes_and_small_or_broken_ones_are_skipped(folder):
    data = load_crop_data(folder, 32)
    assert [path.name for path in data.files] == ["a.png", "gray.png"]
    assert [tuple(image.shape) for image in data.images] == [(3, 40, 56), (3, 36, 36)]  # gray repeated
    assert data.channels == 3 and data.images[0].dtype == torch.uint8
    reasons = dict((path.name, reason) for path, reason in data.skipped)
    assert "smaller than the 32 px crop" in reasons["tiny.png"] and "not a readable image" in reasons["broken.png"]
    with pytest.raises(InputImageError, match="tiny.png|broken.png"):
        load_crop_data(folder, 32, strict=True)


def test_nothing_usable_and_a_bad_crop_are_one_line_errors(folder):
    with pytest.raises(InputImageError, match="no image of at least 64x64 px"):
        load_crop_data(folder, 64)
    with pytest.raises(ConfigError, match="--crop"):
        load_crop_data(folder, 2)


def test_crops_have_the_size_and_range_and_follow_the_seed(folder):
    data = load_crop_data(folder, 32)
    crops = random_crops(data, 6, 32, torch.Generator().manual_seed(3))
    assert crops.shape == (6, 3, 32, 32) and crops.min() >= 0 and crops.max() <= 1
    assert torch.equal(crops, random_crops(data, 6, 32, torch.Generator().manual_seed(3)))
    assert not torch.equal(crops, random_crops(data, 6, 32, torch.Generator().manual_seed(4)))


def test_augmentation_gives_the_squares_symmetries_of_the_crop(folder):
    data = load_crop_data(folder, 36)
    data.images, data.files = data.images[1:], data.files[1:]  # the 36 px image: one place to crop
    plain = random_crops(data, 1, 36, torch.Generator(), augment=False)[0]
    symmetries = {plain.flip(-1).numpy().tobytes(), plain.numpy().tobytes()}
    seen = {crop.numpy().tobytes() for crop in random_crops(data, 64, 36, torch.Generator().manual_seed(0))}
    assert len(seen) == 8 and symmetries <= seen
