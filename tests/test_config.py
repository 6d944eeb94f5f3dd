import pytest

from singan.config import PRESETS, TrainConfig, preset
from singan.errors import ConfigError


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
])
def test_invalid_values_name_their_flag(changes, flag):
    with pytest.raises(ConfigError, match=flag):
        TrainConfig().replace(**changes).validate()


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
