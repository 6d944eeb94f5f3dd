import pytest

from singan.config.singan import DEFAULT_PRESET, PRESETS, TrainConfig, preset
from singan.errors import ConfigError
from singan.pyramid import plan_for
from singan.training.cost import training_flops


def test_paper_preset_is_the_published_algorithm():
    config = PRESETS["paper"]
    assert (config.max_size, config.min_size, config.scale_factor) == (250, 25, 0.75)
    assert (config.iterations, config.critic_steps, config.generator_steps) == (2000, 3, 3)
    assert config.generator_learning_rate == config.critic_learning_rate == 5e-4
    assert (config.beta1, config.beta2) == (0.5, 0.999)
    assert (config.lr_decay_at, config.lr_decay) == (0.8, 0.1)
    assert (config.gradient_penalty_weight, config.reconstruction_weight) == (0.1, 10.0)
    assert config.noise_amplitude == 0.1
    assert [config.width(scale) for scale in range(13)] == [32] * 4 + [64] * 4 + [128] * 5


def test_fast_preset_is_the_default_and_keeps_the_papers_model_and_losses():
    assert DEFAULT_PRESET == "fast"
    fast, paper = preset("fast"), preset("paper")
    same = ("max_size", "min_size", "generator_learning_rate", "critic_learning_rate", "beta1", "beta2",
            "lr_decay_at", "lr_decay", "gradient_penalty_weight", "reconstruction_weight", "noise_amplitude",
            "base_channels")
    assert all(getattr(fast, name) == getattr(paper, name) for name in same)
    assert paper.crop_size == 0 and fast.crop_size > 0


def test_fast_preset_does_at_least_ten_times_less_arithmetic_on_balloons():
    # balloons.png is 186x248: 9 scales for the paper, 7 for the fast preset.
    fast, paper = preset("fast"), preset("paper")
    fast_sizes, paper_sizes = (list(plan_for(186, 248, config).sizes) for config in (fast, paper))
    assert (len(fast_sizes), len(paper_sizes)) == (7, 9)
    # The four scales below the 80 px crop (spaced as the paper's) train 800 of the original's iterations
    # (three updates of each network), the three cropped ones 800 of one update each.
    assert fast_sizes == [(25, 34), (33, 44), (43, 58), (56, 75), (84, 112), (125, 167), (186, 248)]
    assert [fast.iterations_at(size) for size in fast_sizes] == [800] * 7
    assert [fast.steps_at(scale, size) for scale, size in enumerate(fast_sizes)] == [(3, 3)] * 4 + [(1, 1)] * 3
    assert [fast.width(scale) for scale in range(7)] == [32] * 5 + [64] * 2
    # at 64 px nothing is cropped and the pyramid is the paper's
    assert plan_for(186, 248, fast.replace(max_size=64)).sizes == plan_for(186, 248, paper.replace(max_size=64)).sizes
    original = preset("original")
    assert all(getattr(fast, name) == getattr(original, name) for name in ("fresh_fake", "redraw_reconstruction_noise"))
    assert [paper.iterations_at(size) for size in paper_sizes] == [2000] * 9
    assert training_flops(paper, paper_sizes) > 40 * training_flops(fast, fast_sizes)


def test_original_preset_is_the_paper_preset_as_the_official_code_trains_it():
    original, paper = preset("original"), preset("paper")
    assert original.redraw_reconstruction_noise and not original.fresh_fake
    assert original.replace(redraw_reconstruction_noise=False, fresh_fake=True) == paper


def test_quick_preset_is_smaller():
    quick = preset("quick")
    assert quick.max_size == 128 and quick.iterations < 2000


@pytest.mark.parametrize("changes, flag", [
    ({"iterations": -5}, "--iterations"),
    ({"iterations": 0}, "--iterations"),
    ({"scale_factor": 1.0}, "--scale-factor"),
    ({"scale_factor": 0.0}, "--scale-factor"),
    ({"scale_factor": 1.5}, "--scale-factor"),
    ({"min_size": 5}, "--min-size"),
    ({"max_size": 20, "min_size": 25}, "--max-size"),
    ({"generator_learning_rate": float("nan")}, "--generator-learning-rate"),
    ({"beta2": 1.0}, "--beta2"),
    ({"seed": -1}, "--seed"),
    ({"coarse_scales": -1}, "--coarse-scales"),
    ({"coarse_steps": 0}, "--coarse-steps"),
    ({"uncropped_scale_factor": 1.0}, "--uncropped-scale-factor"),
    ({"uncropped_scale_factor": -0.5}, "--uncropped-scale-factor"),
])
def test_invalid_values_name_their_flag(changes, flag):
    with pytest.raises(ConfigError, match=flag):
        TrainConfig().replace(**changes).validate()


def test_coarse_scales_take_their_own_steps_and_arithmetic():
    config = TrainConfig(critic_steps=1, generator_steps=2, coarse_scales=2, coarse_steps=3)
    assert [config.steps_at(scale, (25, 34)) for scale in range(4)] == [(3, 3), (3, 3), (1, 2), (1, 2)]
    assert TrainConfig().steps_at(0, (25, 34)) == (3, 3)
    sizes = [(25, 34), (33, 44), (43, 58)]
    plain = config.replace(coarse_scales=0)
    # Scale 0 makes 6 steps an iteration instead of 3; scale 2 is untouched.
    assert training_flops(config, sizes[:1]) > 1.8 * training_flops(plain, sizes[:1])
    assert training_flops(config, sizes, first_scale=2) == training_flops(plain, sizes, first_scale=2)


def test_json_round_trip():
    config = TrainConfig(iterations=7, seed=11, scale_factor=0.7)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_unknown_keys_and_presets_are_errors():
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({"iterations": 3, "colour": "blue"})
    with pytest.raises(ConfigError, match="--preset"):
        preset("slow")


def test_replace_keeps_values_given_as_none():
    assert TrainConfig().replace(iterations=None, max_size=64) == TrainConfig(max_size=64)
