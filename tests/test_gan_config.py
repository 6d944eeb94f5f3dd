"""GANConfig validation and defaults, and the progressive-growing schedule."""

import math

import pytest
import torch

from singan.config.gan import GANConfig
from singan.errors import ConfigError
from singan.models.resolutions import Stage, channels_at
from singan.training.architectures import checked, objective_of, paper_sizes
from singan.training.progressive import images_at_stage


def stage_at(config: GANConfig, images_seen: int) -> Stage:
    return objective_of(config).stage(images_seen)


@pytest.mark.parametrize("changes, flag", [
    ({"arch": "biggan"}, "--arch"),
    ({"resolution": 48}, "--resolution"),
    ({"resolution": 4}, "--resolution"),
    ({"resolution": 2048}, "--resolution"),
    ({"batch": 0}, "--batch"),
    ({"kimg": -1.0}, "--kimg"),
    ({"lr": 0.0}, "--lr"),
    ({"beta2": 1.0}, "--beta2"),
    ({"mixing_probability": 1.5}, "--mixing-probability"),
    ({"square": "stretch"}, "--square"),
    ({"arch": "stylegan2", "batch": 1, "pl_batch_shrink": 2}, "--pl-batch-shrink"),
    ({"phase_kimg": float("nan")}, "--phase-kimg"),
])
def test_bad_values_name_their_flag(changes, flag):
    with pytest.raises(ConfigError, match=flag):
        checked(GANConfig().replace(**changes))


def test_unknown_option_is_refused():
    with pytest.raises(ConfigError, match="unknown"):
        GANConfig().replace(colour=3)


def test_json_round_trip():
    config = GANConfig(arch="pggan", resolution=32, seed=5, lr=0.01)
    assert GANConfig.from_dict(config.to_dict()) == config


def test_paper_defaults_of_the_architectures():
    assert objective_of(GANConfig(arch="pggan")).learning_rate() == 0.001
    assert objective_of(GANConfig(arch="stylegan2")).learning_rate() == 0.0025
    assert objective_of(GANConfig(arch="stylegan2", resolution=1024)).learning_rate() == 0.002
    assert objective_of(GANConfig(arch="stylegan")).r1_weight() == 10.0
    # StyleGAN2's heuristic: 0.0002 res^2 / batch (10 at 1024 px with batch 32 is about 6.6).
    assert objective_of(GANConfig(arch="stylegan2", resolution=256, batch=32)).r1_weight() == pytest.approx(0.4096)
    assert (GANConfig().beta1, GANConfig().beta2) == (0.0, 0.99)
    assert paper_sizes("stylegan2")["channel_max"] == 512


def test_ema_half_life():
    config = GANConfig(batch=32, ema_kimg=10)
    beta = config.ema_beta(images_seen=10**6)
    # After 10k images (10000 / 32 steps) the old weights count half.
    assert beta ** (10_000 / 32) == pytest.approx(0.5)
    ramped = GANConfig(batch=32, ema_kimg=10, ema_rampup=0.05)
    assert ramped.ema_beta(images_seen=1000) < beta


def test_channels_halve_with_resolution_and_are_capped():
    assert [channels_at(resolution, 4096, 128) for resolution in (4, 16, 32, 64, 128)] == [128, 128, 128, 64, 32]


def test_progressive_schedule_fades_in_then_stabilises():
    config = GANConfig(arch="pggan", resolution=16, phase_kimg=1)
    assert stage_at(config, 0) == Stage(4, 1.0)
    assert stage_at(config, 999) == Stage(4, 1.0)
    assert stage_at(config, 1000) == Stage(8, 0.0)
    assert stage_at(config, 1500) == Stage(8, 0.5)
    assert stage_at(config, 2000) == Stage(8, 1.0)
    assert stage_at(config, 3250) == Stage(16, 0.25)
    assert stage_at(config, 4000) == Stage(16, 1.0)
    assert stage_at(config, 10**7) == Stage(16, 1.0)


def test_stylegan2_trains_at_full_resolution_from_the_start():
    assert stage_at(GANConfig(arch="stylegan2", resolution=32), 0) == Stage(32, 1.0)


def test_reals_are_shrunk_and_faded_like_the_generator():
    images = torch.rand(2, 3, 16, 16)
    shown = images_at_stage(images, Stage(8, 1.0))
    assert shown.shape == (2, 3, 8, 8)
    assert torch.allclose(shown, torch.nn.functional.avg_pool2d(images, 2))
    coarse = images_at_stage(images, Stage(16, 0.0))
    # alpha 0: the 8 px version, upsampled by repetition.
    assert torch.allclose(coarse[:, :, ::2, ::2], coarse[:, :, 1::2, 1::2])
    half = images_at_stage(images, Stage(16, 0.5))
    assert torch.allclose(half, (coarse + images) / 2)
    assert math.isclose(float(images_at_stage(images, Stage(16, 1.0)).sub(images).abs().max()), 0.0)
