import json

import numpy as np
import pytest
import torch

from singan.data.imagefolder import ImageFolderData, load_image_folder, real_batch
from singan.data.sampler import EpochSampler
from singan.errors import ConfigError, InputImageError, RunError

from conftest import synthetic_image, write_image


def constant(height: int, width: int, value, channels: int = 3) -> np.ndarray:
    pixels = np.empty((height, width, channels), np.uint8)
    pixels[...] = value
    return pixels[:, :, 0] if channels == 1 else pixels


def wide_with_red_left_third(height: int = 16, width: int = 48) -> np.ndarray:
    pixels = constant(height, width, (0, 0, 255))
    pixels[:, :width // 3] = (255, 0, 0)
    return pixels


def test_recursive_sorted_mixed_sizes_and_hidden_files_ignored(tmp_path):
    write_image(tmp_path / "b.png", synthetic_image(16, 40))
    write_image(tmp_path / "a" / "z.JPG", synthetic_image(30, 20))
    write_image(tmp_path / "a" / "deeper" / "y.bmp", synthetic_image(17, 17))
    write_image(tmp_path / ".hidden" / "x.png", synthetic_image(16, 16))
    write_image(tmp_path / ".secret.png", synthetic_image(16, 16))
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_image_folder(tmp_path, 8)
    relative = [path.relative_to(tmp_path).as_posix() for path in data.files]
    assert relative == ["a/deeper/y.bmp", "a/z.JPG", "b.png"]
    assert data.images.shape == (3, 3, 8, 8) and data.images.dtype == torch.uint8
    assert len(data) == 3 and data.channels == 3 and data.resolution == 8 and data.skipped == []


def test_grayscale_only_gives_one_channel_and_mixed_gives_three(tmp_path):
    write_image(tmp_path / "gray" / "a.png", constant(16, 16, 40, channels=1))
    write_image(tmp_path / "gray" / "b.png", synthetic_image(20, 16, channels=1))
    assert load_image_folder(tmp_path / "gray", 8).images.shape == (2, 1, 8, 8)
    write_image(tmp_path / "gray" / "c.png", synthetic_image(16, 16))
    mixed = load_image_folder(tmp_path / "gray", 8)
    assert mixed.channels == 3 and mixed.images.shape == (3, 3, 8, 8)
    # The grayscale image is repeated into all three channels.
    assert (mixed.images[0] == 40).all()


def test_forced_channels(tmp_path):
    write_image(tmp_path / "red.png", constant(16, 16, (200, 100, 50)))
    write_image(tmp_path / "gray.png", constant(16, 16, 90, channels=1))
    gray = load_image_folder(tmp_path, 4, channels=1)
    assert gray.images.shape == (2, 1, 4, 4)
    assert int(gray.images[1, 0, 0, 0]) == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    colour = load_image_folder(tmp_path, 4, channels=3)
    assert colour.images.shape == (2, 3, 4, 4) and (colour.images[0] == 90).all()


def test_rgba_and_16_bit_images_are_accepted(tmp_path):
    rgba = np.dstack([constant(16, 16, (10, 20, 30)), np.full((16, 16), 128, np.uint8)])
    write_image(tmp_path / "a.png", rgba)
    write_image(tmp_path / "b.png", np.full((16, 16), 65535, np.uint16))
    data = load_image_folder(tmp_path, 4)
    assert data.images.shape == (2, 3, 4, 4)
    assert data.images[0, :, 0, 0].tolist() == [10, 20, 30] and (data.images[1] == 255).all()


def test_crop_loses_the_left_third_and_pad_keeps_it_with_black_bands(tmp_path):
    write_image(tmp_path / "wide.png", wide_with_red_left_third())
    cropped = load_image_folder(tmp_path, 16, square="crop").images[0]
    assert (cropped[0] == 0).all() and (cropped[2] == 255).all()
    padded = load_image_folder(tmp_path, 16, square="pad").images[0]
    # 16 rows centred in 48: black bands of 16 rows above and below, a third of the output each.
    assert (padded[:, :5] == 0).all() and (padded[:, -5:] == 0).all()
    middle = padded[:, 7:9]
    assert (middle[0, :, 0] == 255).all() and (middle[2, :, -1] == 255).all()


def test_constant_image_stays_constant_when_shrunk_and_enlarged(tmp_path):
    write_image(tmp_path / "large.png", constant(40, 48, (3, 128, 250)))
    write_image(tmp_path / "small.png", constant(5, 6, (3, 128, 250)))
    images = load_image_folder(tmp_path, 16).images
    assert (images == torch.tensor([3, 128, 250], dtype=torch.uint8)[:, None, None]).all()


def test_tiny_image_is_enlarged(tmp_path):
    write_image(tmp_path / "dot.png", constant(1, 1, (255, 0, 0)))
    assert load_image_folder(tmp_path, 4).images.shape == (1, 3, 4, 4)


def test_corrupt_file_is_skipped_or_raises_when_strict(tmp_path):
    write_image(tmp_path / "good.png", synthetic_image(16, 16))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 certainly not a JPEG")
    data = load_image_folder(tmp_path, 8)
    assert len(data) == 1 and data.files == [tmp_path / "good.png"]
    assert len(data.skipped) == 1 and data.skipped[0][0] == tmp_path / "broken.jpg"
    reason = data.skipped[0][1]
    assert "\n" not in reason and not reason.startswith(str(tmp_path))
    with pytest.raises(InputImageError, match="broken.jpg"):
        load_image_folder(tmp_path, 8, strict=True)


def test_progress_is_reported(tmp_path):
    for index in range(3):
        write_image(tmp_path / f"{index}.png", synthetic_image(16, 16, seed=index))
    calls = []
    load_image_folder(tmp_path, 4, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("setup, message", [
    (lambda root: root.mkdir(), "empty"),
    (lambda root: (root.mkdir(), (root / "a.txt").write_text("x")), "no image files"),
    (lambda root: None, "no such folder"),
    (lambda root: write_image(root, synthetic_image(16, 16)), "is a file"),
    (lambda root: (root.mkdir(), (root / "a.png").write_bytes(b"junk")), "none of the 1 image files"),
])
def test_unusable_folders(tmp_path, setup, message):
    root = tmp_path / "data.png"
    setup(root)
    with pytest.raises(InputImageError, match=message):
        load_image_folder(root, 8)


@pytest.mark.parametrize("options, flag", [
    ({"resolution": 12}, "--resolution"), ({"resolution": 2}, "--resolution"), ({"resolution": 2048}, "--resolution"),
    ({"resolution": 8, "square": "stretch"}, "--square"), ({"resolution": 8, "channels": 2}, "channels"),
])
def test_bad_options(tmp_path, options, flag):
    write_image(tmp_path / "a.png", synthetic_image(16, 16))
    with pytest.raises(ConfigError, match=flag):
        load_image_folder(tmp_path, **options)


def stripes(count: int = 6) -> ImageFolderData:
    """Images whose left column is white and the rest black, so a flip is easy to see."""
    images = torch.zeros(count, 1, 4, 4, dtype=torch.uint8)
    images[:, :, :, 0] = 255
    return ImageFolderData(images=images, files=[], channels=1, resolution=4)


def test_real_batch_range_and_deterministic_mirroring():
    data = stripes()
    indices = torch.tensor([0, 1, 2, 3, 4, 5, 0, 1])
    plain = real_batch(data, indices, mirror=False, generator=None)
    assert plain.dtype == torch.float32 and plain.shape == (8, 1, 4, 4)
    assert plain.min() == -1 and plain.max() == 1 and (plain[:, :, :, 0] == 1).all()
    first = real_batch(data, indices, mirror=True, generator=torch.Generator().manual_seed(5))
    again = real_batch(data, indices, mirror=True, generator=torch.Generator().manual_seed(5))
    expected_flips = torch.rand(8, generator=torch.Generator().manual_seed(5)) < 0.5
    assert torch.equal(first, again)
    flipped = first[:, 0, 0, -1] == 1
    assert torch.equal(flipped, expected_flips) and 0 < int(flipped.sum()) < 8
    assert torch.equal(first[flipped], plain[flipped].flip(-1)) and torch.equal(first[~flipped], plain[~flipped])


def test_sampler_covers_every_index_once_per_epoch():
    sampler = EpochSampler(10, seed=3)
    first, second = sampler.take(10), sampler.take(10)
    assert sorted(first.tolist()) == list(range(10)) == sorted(second.tolist())
    assert not torch.equal(first, second) and first.dtype == torch.long


def test_sampler_batches_cross_epoch_boundaries():
    reference = EpochSampler(7, seed=1)
    epochs = torch.cat([reference.take(7) for _ in range(3)])
    sampler = EpochSampler(7, seed=1)
    batches = torch.cat([sampler.take(3) for _ in range(7)])
    assert torch.equal(batches, epochs)
    assert sampler.state()["epoch"] == 3 and sampler.state()["position"] == 0
    # A batch larger than the data set spans several epochs.
    assert torch.equal(EpochSampler(7, seed=1).take(21), epochs)


def test_sampler_state_resumes_identically():
    sampler = EpochSampler(9, seed=11)
    sampler.take(4)
    sampler.take(4)
    saved = json.loads(json.dumps(sampler.state()))
    expected = [sampler.take(4) for _ in range(5)]
    resumed = EpochSampler(9, seed=0)
    resumed.load_state(saved)
    assert all(torch.equal(resumed.take(4), batch) for batch in expected)
    with pytest.raises(RunError, match="9 images"):
        EpochSampler(8).load_state(saved)


def test_sampler_ranks_partition_the_global_batch():
    whole = EpochSampler(10, seed=2)
    ranks = [EpochSampler(10, seed=2, rank=rank, world_size=3) for rank in range(3)]
    for _ in range(4):
        shares = [sampler.take(6) for sampler in ranks]
        assert all(len(share) == 2 for share in shares)
        assert torch.equal(torch.cat(shares), whole.take(6))
    with pytest.raises(ConfigError, match="--batch"):
        ranks[0].take(4)
