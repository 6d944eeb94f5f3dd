"""Harmonization and editing: the mask's treatment, the blend, and what happens outside the mask."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from scipy.ndimage import distance_transform_cdt, distance_transform_edt

from singan import api
from singan.errors import ConfigError, InputImageError
from tasks.singan.harmonize import BLUR_SIGMA, EDIT_RADIUS, HARMONIZE_RADIUS, binary_mask, soft_mask

from conftest import picture_at, write_image


def square_mask(size=(96, 96), top=40, left=40, side=8):
    selected = torch.zeros(1, 1, *size, dtype=torch.bool)
    selected[..., top:top + side, left:left + side] = True
    return selected


def distance_to(selected):
    """Chessboard distance of every pixel to the nearest selected one: the Gaussian's support is a square."""
    return distance_transform_cdt(~selected[0, 0].numpy(), metric="chessboard")


@pytest.mark.parametrize("radius", [HARMONIZE_RADIUS, EDIT_RADIUS])
def test_soft_mask_is_the_dilated_blurred_mask_rescaled(radius):
    selected = square_mask()
    soft = soft_mask(selected, radius)[0, 0].numpy()
    reach, distance = distance_to(selected), distance_transform_edt(~selected[0, 0].numpy())
    assert soft.min() == 0 and soft.max() == pytest.approx(1)
    assert (soft[reach > radius + 4 * BLUR_SIGMA + 1] == 0).all(), "the input is kept beyond the blur's reach"
    assert (soft[reach <= radius + 2 * BLUR_SIGMA] > 0).all(), "the blur softens the edge outwards"
    assert (soft[distance <= radius] > 0.4).all(), "the dilated region is mostly regenerated"
    assert (soft[distance <= radius - 2 * BLUR_SIGMA] > 0.9).all()


def test_editing_reaches_further_than_harmonization():
    selected = square_mask()
    harmonize, edit = soft_mask(selected, HARMONIZE_RADIUS), soft_mask(selected, EDIT_RADIUS)
    assert (edit >= harmonize - 1e-6).all() and (edit > 0).sum() > (harmonize > 0).sum()


def test_binary_mask_converts_colour_and_refuses_empty_or_full_masks():
    mask = -torch.ones(1, 3, 8, 8)
    mask[:, 0, 2:4, 2:4] = 1  # bright red: mean above mid-gray
    mask[:, :, 2:4, 2:4] = 1
    assert binary_mask(mask).shape == (1, 1, 8, 8) and binary_mask(mask).sum() == 4
    with pytest.raises(InputImageError, match="empty"):
        binary_mask(-torch.ones(1, 1, 8, 8))
    with pytest.raises(InputImageError, match="all white"):
        binary_mask(torch.ones(1, 3, 8, 8))


def mask_file(run_dir, name, size=(24, 32), box=(slice(0, 3), slice(0, 3))):
    pixels = np.zeros(size, np.uint8)
    pixels[box] = 255
    return write_image(run_dir.parent / "pictures" / name, pixels)


@pytest.mark.parametrize("task", ["harmonize", "edit"])
def test_outside_the_grown_mask_the_output_is_the_input(run_copy, task):
    run = api.load_run(run_copy, device="cpu")
    picture = picture_at(run_copy, "paste.png")
    mask = mask_file(run_copy, "paste_mask.png")
    blend = api.harmonize_run if task == "harmonize" else api.edit_run
    radius, sigma = 2, 1.0
    paths = blend(run, picture, mask, [1, 2], seed=5, radius=radius, sigma=sigma)
    assert [path.name for path in paths] == ["paste_start1.png", "paste_start2.png"]
    assert (run_copy / task / "paste_mask_used.png").is_file()
    selected = np.zeros((1, 1, 24, 32), bool)
    selected[..., :3, :3] = True
    far = distance_to(torch.from_numpy(selected)) > radius + 4 * sigma + 1
    near = distance_to(torch.from_numpy(selected)) == 0
    original = iio.imread(picture)
    for path in paths:
        output = iio.imread(path)
        assert output.shape == original.shape
        assert (output[far] == original[far]).all()
        assert (output[near] != original[near]).any(), "inside the mask the picture is regenerated"


def test_blend_follows_the_seed_and_the_default_mask_beside_the_picture(run_copy):
    run = api.load_run(run_copy, device="cpu")
    picture = picture_at(run_copy, "paste.png")
    mask_file(run_copy, "paste_mask.png", box=(slice(5, 15), slice(8, 20)))
    first = api.harmonize_run(run, picture, None, [2], seed=1)[0].read_bytes()
    assert api.harmonize_run(run, picture, None, [2], seed=1, out=run_copy / "again")[0].read_bytes() == first
    assert api.harmonize_run(run, picture, None, [2], seed=2, out=run_copy / "other")[0].read_bytes() != first


def test_pictures_and_masks_of_another_size_are_resized_and_the_user_told(run_copy):
    run = api.load_run(run_copy, device="cpu")
    picture = picture_at(run_copy, "big.png", size=(48, 64))
    mask = mask_file(run_copy, "big_mask.png", size=(72, 96), box=(slice(10, 30), slice(10, 40)))
    events = []
    (path,) = api.edit_run(run, picture, mask, [1], on_event=events.append)
    messages = " | ".join(event.message for event in events)
    assert "the picture big.png is 64x48 px: resized to the run's 32x24 px" in messages
    assert "the mask big_mask.png is 96x72 px: resized" in messages
    assert iio.imread(path).shape == (24, 32, 3)


@pytest.mark.parametrize("problem, fragment", [
    ("missing", "no mask: give --mask"),
    ("empty", "is empty"),
    ("white", "is all white"),
    ("shape", "their shapes must match"),
    ("not an image", "not a readable image"),
    ("scale", "use 1 to 3"),
    ("dilate", "--dilate"),
])
def test_bad_masks_and_options_are_clear_errors_and_write_nothing(run_copy, problem, fragment):
    run = api.load_run(run_copy, device="cpu")
    picture = picture_at(run_copy, "paste.png")
    mask, options, scales = mask_file(run_copy, "paste_mask.png"), {}, [1]
    if problem == "missing":
        mask.unlink()
        mask = None
    elif problem == "empty":
        mask = mask_file(run_copy, "empty.png", box=(slice(0, 0), slice(0, 0)))
    elif problem == "white":
        mask = mask_file(run_copy, "white.png", box=(slice(None), slice(None)))
    elif problem == "shape":
        mask = mask_file(run_copy, "square.png", size=(32, 32))
    elif problem == "not an image":
        mask.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    elif problem == "scale":
        scales = [1, 4]
    elif problem == "dilate":
        options = {"radius": -1}
    with pytest.raises((InputImageError, ConfigError), match=fragment):
        api.harmonize_run(run, picture, mask, scales, **options)
    assert not (run_copy / "harmonize").exists()
