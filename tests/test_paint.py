"""Injection (shared by paint, harmonize and edit) and paint-to-image with colour quantisation."""

import hashlib

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from singan import api
from singan.errors import ConfigError, InputImageError, RunError
from singan.events import Notice
from singan.runs.singan import finetuned_path
from tasks.singan.inject import fit_to_run, inject
from tasks.singan.paint import palette, quantize

from conftest import picture_at, synthetic_image, write_image


def picture_tensor(seed=7, size=(24, 32)):
    pixels = torch.from_numpy(synthetic_image(*size, seed=seed)).permute(2, 0, 1)[None].float()
    return pixels / 127.5 - 1


def test_inject_keeps_the_size_and_range_and_follows_the_seed(loaded_run):
    model = loaded_run.model
    picture = picture_tensor()
    for scale in range(1, model.num_scales):
        first, again = inject(model, picture, scale, seed=4), inject(model, picture, scale, seed=4)
        assert first.shape == (1, 3, *model.sizes[-1])
        assert first.min() >= -1 and first.max() <= 1
        assert torch.equal(first, again)
    assert not torch.equal(inject(model, picture, 1, seed=4), inject(model, picture, 1, seed=5))


def test_a_finer_injection_scale_keeps_more_of_the_picture(loaded_run):
    model, picture = loaded_run.model, picture_tensor()
    distance = [float((inject(model, picture, scale, 0) - picture).abs().mean()) for scale in (1, model.num_scales - 1)]
    assert distance[1] < distance[0]


@pytest.mark.parametrize("scale", [0, 4, -1])
def test_injection_scale_outside_the_pyramid(loaded_run, scale):
    with pytest.raises(ConfigError, match="use 1 to 3"):
        inject(loaded_run.model, picture_tensor(), scale, 0)


def test_pictures_of_another_size_or_mode_are_fitted_and_the_user_told(loaded_run):
    model = loaded_run.model
    same, message = fit_to_run(picture_tensor(), model, "the painting")
    assert message is None and same.shape == (1, 3, 24, 32)
    bigger, message = fit_to_run(picture_tensor(size=(48, 64)), model, "the painting")
    assert bigger.shape == (1, 3, 24, 32) and "resized to the run's 32x24 px" in message
    assert "stretched" not in message
    _, message = fit_to_run(picture_tensor(size=(40, 40)), model, "the painting")
    assert "stretched" in message
    gray, _ = fit_to_run(picture_tensor()[:, :1], model, "the painting")
    assert gray.shape == (1, 3, 24, 32) and torch.equal(gray[:, 0], gray[:, 2])


def test_palette_recovers_the_colours_of_a_flat_image():
    colours = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 0.0, -0.5], [0.2, 0.8, 1.0]])
    labels = torch.arange(24 * 32) % 3
    image = colours[labels].T.reshape(1, 3, 24, 32)
    found = palette(image, 3, seed=0)
    order = lambda rows: rows[torch.argsort(rows[:, 0])]  # noqa: E731
    assert torch.allclose(order(found), order(colours), atol=1e-5)


def test_quantize_maps_every_pixel_to_its_nearest_palette_colour():
    image = picture_tensor()
    centres = palette(image, 5, seed=0)
    quantized = quantize(image, centres)
    assert quantized.shape == image.shape
    distinct = torch.unique(quantized[0].flatten(1).T, dim=0)
    assert len(distinct) <= 5 and all((centres == colour).all(dim=1).any() for colour in distinct)
    # no pixel has a palette colour nearer than the one it got
    pixels, mapped = image[0].flatten(1).T, quantized[0].flatten(1).T
    assert torch.allclose(torch.cdist(pixels, centres).min(dim=1).values, (pixels - mapped).norm(dim=1), atol=1e-5)


def test_palette_size_must_be_positive():
    with pytest.raises(ConfigError, match="--colours"):
        palette(picture_tensor(), 0)


def weights_digest(run_dir):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (run_dir / "weights").iterdir()}


def test_paint_writes_one_picture_per_start_scale(run_copy):
    run = api.load_run(run_copy, device="cpu")
    painting = picture_at(run_copy, "painting.png")
    paths = api.paint_run(run, painting, [1, 2, 3], seed=3)
    assert [path.name for path in paths] == ["painting_start1.png", "painting_start2.png", "painting_start3.png"]
    assert all(path.parent == run_copy / "paint" for path in paths)
    pixels = iio.imread(paths[0])
    assert pixels.shape == (24, 32, 3) and pixels.dtype == np.uint8
    again = api.paint_run(run, painting, [1], seed=3, out=run_copy / "again")
    assert again[0].read_bytes() == paths[0].read_bytes()
    other = api.paint_run(run, painting, [1], seed=4, out=run_copy / "other")
    assert other[0].read_bytes() != paths[0].read_bytes()


def test_quantized_paint_fine_tunes_once_beside_the_run_and_keeps_its_weights(run_copy):
    run = api.load_run(run_copy, device="cpu")
    painting = picture_at(run_copy, "painting.png")
    before = weights_digest(run_copy)
    events = []
    (first,) = api.paint_run(run, painting, [2], quantize_colours=5, seed=1, on_event=events.append)
    assert first.name == "painting_start2_quantized.png"
    assert finetuned_path(run_copy, 2, 5).is_file()
    assert any(isinstance(event, Notice) and "fine-tuning scale 2" in event.message for event in events)
    assert weights_digest(run_copy) == before, "the run's own weights are never touched"
    plain = api.paint_run(run, painting, [2], seed=1, out=run_copy / "plain")[0]
    assert plain.read_bytes() != first.read_bytes()

    events.clear()
    reloaded = api.load_run(run_copy, device="cpu")
    (second,) = api.paint_run(reloaded, painting, [2], quantize_colours=5, seed=1, out=run_copy / "second",
                              on_event=events.append)
    assert any("using the fine-tuned scale 2" in event.message for event in events)
    assert second.read_bytes() == first.read_bytes()


def test_a_corrupt_fine_tuned_scale_is_refused_with_a_way_out(run_copy):
    path = finetuned_path(run_copy, 1, 5)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not safetensors")
    run = api.load_run(run_copy, device="cpu")
    with pytest.raises(RunError, match="delete it to fine-tune again"):
        api.paint_run(run, picture_at(run_copy, "painting.png"), [1], quantize_colours=5)


def test_a_painting_that_is_not_an_image_writes_nothing(run_copy):
    bad = run_copy.parent / "painting.png"
    bad.write_text("a poem")
    run = api.load_run(run_copy, device="cpu")
    with pytest.raises(InputImageError, match="not a readable image"):
        api.paint_run(run, bad, [1])
    assert not (run_copy / "paint").exists()


def test_grayscale_runs_paint_in_grayscale(tmp_path):
    from conftest import TINY

    image = write_image(tmp_path / "gray.png", synthetic_image(channels=1))
    run = api.load_run(api.train_run(image, TINY.replace(iterations=2), out=tmp_path / "runs", device="cpu"),
                       device="cpu")
    (path,) = api.paint_run(run, picture_at(tmp_path / "runs" / "gray", "colour.png"), [1], quantize_colours=3)
    assert iio.imread(path).shape == (24, 32)
