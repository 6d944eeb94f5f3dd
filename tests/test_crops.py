"""Training on windows (--crop-size): where windows fall, that a window sees the whole image's context,
and that a scale larger than the crop trains on crop-sized inputs only."""

import pytest
import torch

from singan import api
from singan.config.singan import TrainConfig
from singan.errors import ConfigError
from singan.models.singan import PADDING, SinGAN, add_noise, draw_noise, new_networks
from singan.pyramid import plan_for, plan_pyramid
from singan.seeds import make_generator
from singan.training.cost import iteration_flops, trained_size, training_flops
from singan.training.singan import ScaleTrainer, Window, _generator_input, random_window

from test_training import counted_updates, tiny_reals

CPU = torch.device("cpu")


def test_no_window_when_cropping_is_off_or_the_scale_fits():
    rng = make_generator(CPU, 0)
    assert random_window((24, 32), 0, rng) is None
    assert random_window((24, 32), 32, rng) is None
    assert random_window((24, 32), 40, rng) is None


@pytest.mark.parametrize("size, crop", [((24, 32), 16), ((24, 32), 24), ((50, 20), 30)])
def test_windows_lie_inside_the_scale_and_cover_it(size, crop):
    rng = make_generator(CPU, 1)
    windows = [random_window(size, crop, rng) for _ in range(300)]
    assert all(window.height == min(crop, size[0]) and window.width == min(crop, size[1]) for window in windows)
    assert all(window.top + window.height <= size[0] and window.left + window.width <= size[1] for window in windows)
    # Every possible position is reachable: the corners come up in 300 draws of these few positions.
    assert min(window.top for window in windows) == 0 and min(window.left for window in windows) == 0
    assert max(window.top + window.height for window in windows) == size[0]
    assert max(window.left + window.width for window in windows) == size[1]


def test_windows_are_deterministic_for_a_seed():
    first = [random_window((40, 40), 16, make_generator(CPU, 5)) for _ in range(2)]
    assert first[0] == first[1]


def test_a_window_of_the_generator_output_is_the_whole_output_cropped():
    # With fixed batch-norm statistics (eval mode) the window sees exactly the context the whole image gives.
    rng = make_generator(CPU, 2)
    generator, _ = new_networks(3, 8, rng)
    generator.eval()
    previous = torch.rand(1, 3, 20, 28, generator=rng) * 2 - 1
    noisy = add_noise(previous, draw_noise(rng, 3, (20, 28)), 0.3)
    window = Window(top=3, left=9, height=12, width=14)
    whole = generator(noisy, previous)
    part = generator(*_generator_input(noisy, previous, window))
    torch.testing.assert_close(part, window.crop(whole))
    # With noise padding the noise already covers the border.
    padded_noisy = add_noise(previous, draw_noise(rng, 3, (20 + 2 * PADDING, 28 + 2 * PADDING)), 0.3)
    torch.testing.assert_close(generator(*_generator_input(padded_noisy, previous, window)),
                               window.crop(generator(padded_noisy, previous)))


def test_a_scale_larger_than_the_crop_trains_on_windows():
    config = TrainConfig(min_size=14, max_size=32, iterations=3, crop_size=12, seed=0)
    reals = tiny_reals(config)
    rng = make_generator(CPU, 0)
    model = SinGAN(3)
    model.reconstruction_noise = draw_noise(rng, 1, tuple(reals[0].shape[-2:]))
    trainer = ScaleTrainer(model, reals[0], *new_networks(3, 8, rng), config, rng)
    seen = []
    trainer.critic.register_forward_hook(lambda module, inputs, output: seen.append(tuple(inputs[0].shape[-2:])))
    before = [parameter.clone() for parameter in trainer.generator.parameters()]
    result = trainer.run()
    assert set(seen) == {(12, 12)}
    assert result.iterations == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))


def test_the_arithmetic_counts_the_window():
    sizes = list(plan_pyramid(186, 248).sizes)
    whole, cropped = TrainConfig(), TrainConfig(crop_size=96)
    assert trained_size(cropped, sizes[-1]) == (96, 96)
    assert trained_size(cropped, sizes[0]) == sizes[0]
    assert iteration_flops(cropped, sizes, 0) == iteration_flops(whole, sizes, 0)
    assert iteration_flops(cropped, sizes, len(sizes) - 1) < iteration_flops(whole, sizes, len(sizes) - 1) / 3


@pytest.mark.parametrize("value", [-1, 5, 10, 2.5, True])
def test_bad_crop_sizes_are_refused(value):
    with pytest.raises(ConfigError, match="--crop-size"):
        TrainConfig(crop_size=value).validate()


def test_cropped_scales_train_their_own_number_of_iterations():
    config = TrainConfig(min_size=14, max_size=32, iterations=4, crop_size=20, crop_iterations=2, seed=0)
    assert config.crops((21, 20)) and config.crops((20, 32)) and not config.crops((20, 20))
    assert config.iterations_at((24, 32)) == 2 and config.iterations_at((14, 18)) == 4
    assert TrainConfig(crop_iterations=2).iterations_at((186, 248)) == 2000  # no crops: no crop iterations
    assert config.replace(crop_iterations=0).iterations_at((24, 32)) == 4
    counted = []
    train_coarsest_and_finest(config, lambda trainer: trainer.run(
        lambda event: counted.append((event.iteration, event.iterations))))
    assert counted == [(1, 4), (2, 4), (3, 4), (4, 4), (1, 2), (2, 2)]


def test_the_arithmetic_counts_the_crop_iterations():
    sizes = list(plan_pyramid(186, 248).sizes)
    config = TrainConfig(crop_size=96)
    fewer = config.replace(crop_iterations=500)
    cropped = [scale for scale, size in enumerate(sizes) if config.crops(size)]
    assert cropped and cropped[0] > 0
    saved = sum(1500 * iteration_flops(config, sizes, scale) for scale in cropped)
    assert training_flops(config, sizes) - training_flops(fewer, sizes) == pytest.approx(saved)


@pytest.mark.parametrize("value", [-1, 2.5, True])
def test_bad_crop_iterations_are_refused(value):
    with pytest.raises(ConfigError, match="--crop-iterations"):
        TrainConfig(crop_iterations=value).validate()


def test_cropped_scales_take_their_own_steps_before_the_coarse_ones():
    config = TrainConfig(crop_size=80, crop_steps=1, coarse_scales=2, coarse_steps=2)
    assert config.steps_at(5, (84, 112)) == (1, 1) and config.steps_at(0, (84, 112)) == (1, 1)
    assert config.steps_at(5, (56, 75)) == (3, 3) and config.steps_at(1, (56, 75)) == (2, 2)
    assert config.replace(crop_steps=0).steps_at(5, (84, 112)) == (3, 3)
    assert config.replace(crop_size=0).steps_at(5, (84, 112)) == (3, 3)  # nothing cropped: no crop steps


def test_a_cropped_scale_trains_with_the_crop_steps_and_the_arithmetic_counts_them():
    config = TrainConfig(min_size=14, max_size=32, iterations=1, crop_size=20, crop_steps=2, seed=0)
    counts = []

    def one_iteration(trainer):
        steps = counted_updates(trainer)
        trainer.iteration()
        counts.append(steps)

    train_coarsest_and_finest(config, one_iteration)
    assert counts == [{"critic": 3, "generator": 3}, {"critic": 2, "generator": 2}]
    sizes = list(plan_pyramid(186, 248).sizes)
    cropped = TrainConfig(crop_size=96)
    fewer = cropped.replace(crop_steps=1)
    assert training_flops(fewer, sizes, first_scale=len(sizes) - 1) < 0.5 * training_flops(cropped, sizes, first_scale=len(sizes) - 1)
    assert training_flops(fewer, sizes[:1]) == training_flops(cropped, sizes[:1])


@pytest.mark.parametrize("value", [-1, 2.5, True])
def test_bad_crop_steps_are_refused(value):
    with pytest.raises(ConfigError, match="--crop-steps"):
        TrainConfig(crop_steps=value).validate()


def train_coarsest_and_finest(config, train):
    """Trains the coarsest and the finest scale of a tiny pyramid with `train(trainer)`, the finest on top of
    the coarsest, as the pyramid trainer does."""
    reals = tiny_reals(config)
    rng = make_generator(CPU, 0)
    model = SinGAN(3)
    model.reconstruction_noise = draw_noise(rng, 1, tuple(reals[0].shape[-2:]))
    for real in (reals[0], reals[-1]):
        trainer = ScaleTrainer(model, real, *new_networks(3, 8, rng), config, rng)
        train(trainer)
        model.add_scale(trainer.generator.eval(), trainer.critic.eval(), 1.0, tuple(real.shape[-2:]))


def test_a_run_with_denser_uncropped_scales_trains_and_loads_them(image_file, tmp_path):
    # 24x32 with a factor of 0.5: 14x19, 19x25 and the cropped 24x32; the two uncropped scales become four
    config = TrainConfig(min_size=14, max_size=32, scale_factor=0.5, iterations=1, crop_size=25,
                         uncropped_scale_factor=0.9, seed=0)
    plan = plan_for(24, 32, config)
    assert plan_for(24, 32, config.replace(uncropped_scale_factor=0.0)).num_scales == 3 and plan.num_scales == 5
    directory = api.train_run(image_file, config, out=tmp_path / "runs", device="cpu", estimate=False)
    loaded = api.load_run(directory, device="cpu")
    assert loaded.model.sizes == list(plan.sizes)
    assert tuple(loaded.model.reconstruct().shape[-2:]) == plan.finest
