import math

import pytest
import torch
import torch.nn.functional as F

from singan.errors import ConfigError
from singan.models import pggan

# Tiny: 4x4 -> 16x16, channels 32, 32, 16.
SIZES = {"resolution": 16, "image_channels": 3, "channel_base": 256, "channel_max": 32}
Z_DIM = 32
STAGES = [(resolution, alpha) for resolution in (4, 8, 16) for alpha in (0.0, 0.5, 1.0)]


def tiny_networks(seed: int = 0) -> tuple[pggan.Generator, pggan.Discriminator]:
    torch.manual_seed(seed)
    return pggan.Generator(z_dim=Z_DIM, **SIZES), pggan.Discriminator(**SIZES)


def latents(count: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(count, Z_DIM, generator=torch.Generator().manual_seed(seed))


def upsampled(images: torch.Tensor) -> torch.Tensor:
    return F.interpolate(images, scale_factor=2, mode="nearest")


@pytest.mark.parametrize("resolution, alpha", STAGES)
def test_every_stage_gives_images_of_its_resolution_and_one_score_each(resolution, alpha):
    generator, discriminator = tiny_networks()
    images = generator(latents(), resolution=resolution, alpha=alpha)
    assert images.shape == (4, 3, resolution, resolution)
    scores = discriminator(images, resolution=resolution, alpha=alpha)
    assert scores.shape == (4,) and torch.isfinite(scores).all()


def test_full_resolution_is_the_default_stage():
    generator, discriminator = tiny_networks()
    z = latents()
    assert torch.equal(generator(z), generator(z, resolution=16, alpha=1.0))
    images = generator(z)
    assert torch.equal(discriminator(images), discriminator(images, resolution=16))


@pytest.mark.parametrize("resolution", [8, 16])
def test_generator_at_alpha_zero_is_the_previous_resolution_upsampled(resolution):
    generator, _ = tiny_networks()
    ws = generator.map(latents())
    faded = generator.synthesize(ws, resolution=resolution, alpha=0.0)
    previous = generator.synthesize(ws, resolution=resolution // 2, alpha=1.0)
    assert torch.equal(faded, upsampled(previous))


def test_generator_fade_in_is_a_linear_blend():
    generator, _ = tiny_networks()
    ws = generator.map(latents())
    ends = [generator.synthesize(ws, resolution=16, alpha=alpha) for alpha in (0.0, 1.0)]
    middle = generator.synthesize(ws, resolution=16, alpha=0.25)
    torch.testing.assert_close(middle, torch.lerp(ends[0], ends[1], 0.25))


@pytest.mark.parametrize("resolution", [8, 16])
def test_discriminator_at_alpha_zero_is_the_previous_one_on_pooled_images(resolution):
    _, discriminator = tiny_networks()
    images = torch.randn(4, 3, resolution, resolution)
    faded = discriminator(images, resolution=resolution, alpha=0.0)
    previous = discriminator(F.avg_pool2d(images, 2), resolution=resolution // 2, alpha=1.0)
    assert torch.equal(faded, previous)


def test_map_pixel_normalises_z_into_one_style():
    generator, _ = tiny_networks()
    ws = generator.map(latents() * 7)
    assert ws.shape == (4, 1, Z_DIM) and generator.num_ws == 1 and generator.w_dim == Z_DIM
    torch.testing.assert_close(ws.square().mean(dim=-1), torch.ones(4, 1))


def test_pggan_has_no_truncation_and_no_average_w():
    generator, _ = tiny_networks()
    # The message names the flag the CLI has: --trunc.
    with pytest.raises(ConfigError, match="truncation trick: --trunc must be 1"):
        generator.map(latents(), truncation=0.7)
    with pytest.raises(ConfigError, match="truncation"):
        generator(latents(), truncation=0.5)
    assert generator.w_avg is None and "w_avg" not in generator.state_dict()
    before = {name: value.clone() for name, value in generator.state_dict().items()}
    generator.update_w_avg(generator.map(latents()))
    assert all(torch.equal(before[name], value) for name, value in generator.state_dict().items())


def test_layer_widths_follow_channels_at():
    generator, discriminator = tiny_networks()
    # min(256 // r, 32) at r = 4, 8, 16
    assert [layer.in_channels for layer in generator.to_rgb] == [32, 32, 16]
    assert [layer.out_channels for layer in discriminator.from_rgb] == [32, 32, 16]
    assert generator.input_block.dense.out_features == 32 * 16


def test_weights_are_stored_unit_normal_and_scaled_at_run_time():
    generator, discriminator = tiny_networks()
    weights = torch.cat([block.conv1.weight.flatten() for block in generator.blocks])
    assert weights.std().item() == pytest.approx(1.0, rel=0.1)
    conv = generator.blocks[0].conv0
    assert conv.weight_scale == pytest.approx(math.sqrt(2) / math.sqrt(32 * 9))
    # The output layers: toRGB and the score have gain 1.
    assert generator.to_rgb[0].weight_scale == pytest.approx(1 / math.sqrt(32))
    assert discriminator.final.score.weight_scale == pytest.approx(1 / math.sqrt(32))


def gradient_holders(module: torch.nn.Module) -> tuple[set[str], set[str]]:
    """Names of the parameters that got a (finite) gradient, and of those that got none."""
    reached = {name for name, value in module.named_parameters()
               if value.grad is not None and torch.isfinite(value.grad).all()}
    return reached, {name for name, _ in module.named_parameters()} - reached


def test_gradients_reach_every_parameter_used_at_full_resolution():
    generator, discriminator = tiny_networks()
    discriminator(generator(latents())).sum().backward()
    for module, rgb in ((generator, "to_rgb"), (discriminator, "from_rgb")):
        reached, missed = gradient_holders(module)
        # Only the lower resolutions' image layers are unused once the last block has faded in.
        assert missed == {f"{rgb}.{index}.{kind}" for index in (0, 1) for kind in ("weight", "bias")}


def test_fading_in_also_trains_the_previous_image_layers():
    generator, discriminator = tiny_networks()
    discriminator(generator(latents(), alpha=0.5), alpha=0.5).sum().backward()
    for module, rgb in ((generator, "to_rgb"), (discriminator, "from_rgb")):
        assert gradient_holders(module)[1] == {f"{rgb}.0.weight", f"{rgb}.0.bias"}


def test_minibatch_stddev_groups_of_four():
    _, discriminator = tiny_networks()
    assert discriminator.final.stddev.group_size == 4
    assert discriminator(torch.randn(3, 3, 16, 16)).shape == (3,)  # a smaller batch is one group
    with pytest.raises(ValueError, match="group"):
        discriminator(torch.randn(6, 3, 16, 16))


def test_grayscale_networks():
    sizes = {**SIZES, "image_channels": 1}
    images = pggan.Generator(z_dim=Z_DIM, **sizes)(latents(2))
    assert images.shape == (2, 1, 16, 16)
    assert pggan.Discriminator(**sizes)(images).shape == (2,)


@pytest.mark.parametrize("resolution", [4, 12, 0, 24])
def test_resolution_must_be_a_power_of_two_of_at_least_8(resolution):
    with pytest.raises(ConfigError, match="--resolution"):
        pggan.Generator(**{**SIZES, "resolution": resolution})
    with pytest.raises(ConfigError, match="--resolution"):
        pggan.Discriminator(**{**SIZES, "resolution": resolution})


def test_bad_stages_and_inputs_are_refused():
    generator, discriminator = tiny_networks()
    with pytest.raises(ValueError, match="stage resolution"):
        generator(latents(), resolution=32)
    with pytest.raises(ValueError, match="alpha"):
        generator(latents(), alpha=1.5)
    with pytest.raises(ValueError, match=r"\[N, C, 8, 8\]"):
        discriminator(torch.randn(4, 3, 16, 16), resolution=8)
