"""Super-resolution: the step rule, exact output sizes, the training settings, and the files written."""

import math

import imageio.v3 as iio
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from singan import api
from singan.config.singan import TrainConfig
from singan.errors import ConfigError, InputImageError
from singan.pyramid import plan_for, resize
from tasks.singan.super_resolution import (
    RECONSTRUCTION_WEIGHT,
    back_project,
    bicubic,
    check_factor,
    step_sizes,
    super_resolve,
    training_config,
    upsampling_steps,
)

from conftest import TINY, synthetic_image, write_image


@pytest.mark.parametrize("factor, steps", [(2, 3), (4, 6), (8, 9), (1.25, 1), (1.5, 2), (3, 5)])
def test_steps_of_about_the_cube_root_of_two(factor, steps):
    count, step = upsampling_steps(factor)
    assert count == steps
    assert step ** count == pytest.approx(factor)
    assert abs(step - 2 ** (1 / 3)) < 0.07
    if factor == 4:
        assert step == pytest.approx(4 ** (1 / 6)), "x4 is the paper's six steps of 4 ** (1/6)"


@pytest.mark.parametrize("factor", [2, 4, 8, 1.5, 3.3])
def test_step_sizes_grow_to_exactly_the_output_size(factor):
    sizes = step_sizes((24, 32), factor)
    assert sizes[-1] == (round(24 * factor), round(32 * factor))
    assert all(later[0] >= earlier[0] and later[1] >= earlier[1] for earlier, later in zip(sizes, sizes[1:]))
    assert sizes[0][0] > 24 or factor < 1.3


@pytest.mark.parametrize("factor", [0.5, 0.99, -2, float("nan"), float("inf"), 17])
def test_factors_outside_the_range_are_refused(factor):
    with pytest.raises(ConfigError, match="--factor must be from 1 to 16"):
        check_factor(factor)


def test_training_settings_are_the_original_sr_scripts():
    config = training_config(TrainConfig(), 4, (80, 120))
    assert config.reconstruction_weight == RECONSTRUCTION_WEIGHT == 100
    assert config.max_size == 120, "the low-resolution image is never shrunk"
    assert config.iterations == 2000 and config.noise_amplitude == 0.1
    assert config.redraw_reconstruction_noise and not config.fresh_fake and not config.exact_scale_factor


@pytest.mark.parametrize("size, scales, coarsest", [
    ((42, 62), 5, (18, 27)),  # the original's pyramid for a 62x42 input: factor 0.809
    ((46, 62), 6, (18, 25)),
    ((80, 120), 8, (18, 27)),
    ((120, 80), 8, (27, 18)),
    ((24, 32), 3, (18, 24)),
])
def test_the_sr_pyramid_is_the_originals(size, scales, coarsest):
    # The original: int(log(18 / short) / log(1 / 4 ** (1/6))) + 2 scales, coarsest short side exactly 18.
    config = training_config(TrainConfig(), 4, size)
    plan = plan_for(*size, config)
    # a denser spacing of the uncropped scales, asked for in the base settings, would change that pyramid
    denser = training_config(TrainConfig(crop_size=40, uncropped_scale_factor=0.9), 4, size)
    assert plan_for(*size, denser).sizes == plan.sizes
    assert plan.finest == size and plan.sizes[0] == coarsest
    assert plan.num_scales == int(math.log(18 / min(size)) / math.log(4 ** (-1 / 6))) + 2 == scales
    assert plan.scale_factor == pytest.approx((18 / min(size)) ** (1 / (scales - 1)))


@pytest.mark.parametrize("factor", [1.0, 1.1, 1.25])
def test_factors_below_one_step_train_with_one_step(factor):
    config = training_config(TrainConfig(), factor, (80, 120)).validate()
    assert config == training_config(TrainConfig(), 2, (80, 120)), "the same pyramid as steps of 2 ** (1/3)"


def test_a_factor_of_one_refines_at_the_same_size(loaded_run):
    low = loaded_run.model.reconstruct()
    assert super_resolve(loaded_run.model, low, 1.0).shape == low.shape


def test_an_image_too_small_for_sr():
    with pytest.raises(InputImageError, match="must be at least 23 px"):
        training_config(TrainConfig(), 4, (22, 30))


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_super_resolve_has_the_exact_size_and_range_and_follows_the_seed(loaded_run, factor):
    model = loaded_run.model
    low = model.reconstruct()
    high = super_resolve(model, low, factor, seed=1)
    assert high.shape == (1, 3, 24 * factor, 32 * factor)
    assert high.min() >= -1 and high.max() <= 1
    assert torch.equal(high, super_resolve(model, low, factor, seed=1))
    assert not torch.equal(high, super_resolve(model, low, factor, seed=2))
    assert bicubic(low, factor).shape == high.shape


def test_each_step_is_the_finest_generator(loaded_run):
    model = loaded_run.model
    calls = []
    finest = model.generators[-1]
    handle = finest.register_forward_hook(lambda module, inputs, output: calls.append(tuple(output.shape[-2:])))
    try:
        super_resolve(model, model.reconstruct(), 2, seed=0)
    finally:
        handle.remove()
    calls = calls[1:]  # the first call made the low-resolution reconstruction
    assert calls == step_sizes((24, 32), 2)


def test_sr_trains_a_run_for_an_image_then_reuses_it(tmp_path):
    image = write_image(tmp_path / "low.png", synthetic_image(24, 32))
    config = TINY.replace(iterations=2)
    events = []
    singan, plain = api.super_resolve_run(image, 2, config, out=tmp_path / "runs", device="cpu",
                                          on_event=events.append)
    run_dir = tmp_path / "runs" / "low_sr"
    assert (singan.name, plain.name) == ("low_x2.png", "low_x2_bicubic.png")
    assert singan.parent == run_dir / "sr"
    assert iio.imread(singan).shape == iio.imread(plain).shape == (48, 64, 3)
    run = api.load_run(run_dir, device="cpu")
    assert run.record.train_config.reconstruction_weight == 100
    # one whole step (x1.26) fits between 18 and 24 px: the original trains one scale more, from 18 px
    assert run.model.sizes == [(18, 24), (21, 28), (24, 32)]

    events.clear()
    again, _ = api.super_resolve_run(image, 2, config, out=tmp_path / "runs", device="cpu", output=tmp_path / "again",
                                     on_event=events.append)
    assert any("using the super-resolution run" in event.message for event in events)
    assert again.read_bytes() == singan.read_bytes()
    eight, _ = api.super_resolve_run(run_dir, 8, device="cpu", output=tmp_path / "eight")
    assert iio.imread(eight).shape == (192, 256, 3)


def test_a_run_not_trained_for_sr_works_with_a_warning(trained_run, tmp_path):
    events = []
    singan, _ = api.super_resolve_run(trained_run, 2, device="cpu", output=tmp_path, on_event=events.append)
    assert iio.imread(singan).shape == (48, 64, 3)
    assert any("not trained with the super-resolution settings" in event.message for event in events)


def test_a_factor_below_one_writes_nothing(tmp_path):
    image = write_image(tmp_path / "low.png", synthetic_image(24, 32))
    with pytest.raises(ConfigError, match="--factor"):
        api.super_resolve_run(image, 0.5, TINY, out=tmp_path / "runs", device="cpu")
    assert not (tmp_path / "runs").exists()


@settings(max_examples=200, deadline=None)
@given(factor=st.floats(1, 16), height=st.integers(1, 400), width=st.integers(1, 400))
def test_any_factor_reaches_exactly_its_size_in_growing_steps(factor, height, width):
    sizes = step_sizes((height, width), factor)
    assert sizes[-1] == (round(height * factor), round(width * factor))
    for earlier, later in zip([(height, width)] + sizes, sizes):
        assert later[0] >= earlier[0] and later[1] >= earlier[1]


def test_back_projection_makes_the_result_agree_with_the_input_when_shrunk(loaded_run):
    model = loaded_run.model
    low = model.reconstruct()
    plain = super_resolve(model, low, 4, seed=1)
    projected = super_resolve(model, low, 4, seed=1, back_projection=2)
    assert projected.shape == plain.shape and projected.min() >= -1 and projected.max() <= 1
    assert torch.equal(super_resolve(model, low, 4, seed=1, back_projection=0), plain)

    def disagreement(high):
        return float((resize(high, tuple(low.shape[-2:])) - low).abs().mean())

    assert disagreement(projected) < 0.5 * disagreement(plain)
    # the detail above the input's band is kept: not the bicubic upscale
    assert (projected - bicubic(low, 4)).abs().mean() > 0.01


def test_back_project_converges_to_consistency():
    low = torch.rand(1, 3, 12, 16) * 2 - 1
    estimate = torch.rand(1, 3, 24, 32) * 2 - 1
    errors = [float((resize(back_project(estimate, low, rounds), (12, 16)) - low).abs().mean()) for rounds in (0, 1, 3)]
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("rounds", [-1, 11, 1.5])
def test_back_projection_rounds_outside_the_range_are_refused(rounds, tmp_path):
    image = write_image(tmp_path / "low.png", synthetic_image(24, 32))
    with pytest.raises(ConfigError, match="--back-projection must be a whole number from 0 to 10"):
        api.super_resolve_run(image, 2, TINY, out=tmp_path / "runs", device="cpu", back_projection=rounds)
    assert not (tmp_path / "runs").exists()
