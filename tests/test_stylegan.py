import pytest
import torch
import torch.nn.functional as F

from singan.errors import ConfigError
from singan.models import pggan, stylegan
from singan.nn.layers import Blur, NoiseInjection

# Tiny: 4x4 -> 16x16, channels 32, 32, 16, a 2-layer mapping network.
SIZES = {"resolution": 16, "image_channels": 3, "channel_base": 256, "channel_max": 32}
Z_DIM = W_DIM = 32
STAGES = [(resolution, alpha) for resolution in (4, 8, 16) for alpha in (0.0, 0.5, 1.0)]


def tiny_generator(seed: int = 0, **changes) -> stylegan.Generator:
    torch.manual_seed(seed)
    return stylegan.Generator(**{**SIZES, "z_dim": Z_DIM, "w_dim": W_DIM, "mapping_layers": 2, **changes})


def tiny_discriminator(seed: int = 0) -> stylegan.Discriminator:
    torch.manual_seed(seed)
    return stylegan.Discriminator(**SIZES)


def noisy_generator() -> stylegan.Generator:
    """A generator whose noise inputs matter (their strengths start at 0)."""
    generator = tiny_generator()
    with torch.no_grad():
        for layer in generator.modules():
            if isinstance(layer, NoiseInjection):
                layer.strength.fill_(0.5)
    return generator


def latents(count: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(count, Z_DIM, generator=torch.Generator().manual_seed(seed))


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("resolution, alpha", STAGES)
def test_every_stage_gives_images_of_its_resolution_and_one_score_each(resolution, alpha):
    images = tiny_generator()(latents(), resolution=resolution, alpha=alpha, generator=seeded(0))
    assert images.shape == (4, 3, resolution, resolution)
    scores = tiny_discriminator()(images, resolution=resolution, alpha=alpha)
    assert scores.shape == (4,) and torch.isfinite(scores).all()


@pytest.mark.parametrize("resolution, num_ws", [(8, 4), (16, 6), (32, 8)])
def test_two_styles_per_resolution_from_4x4(resolution, num_ws):
    generator = tiny_generator(resolution=resolution)
    assert generator.num_ws == num_ws == 2 * resolution.bit_length() - 4
    assert generator.map(latents()).shape == (4, num_ws, W_DIM)
    assert stylegan.count_ws(1024) == 18


def test_noise_follows_the_generator_seed():
    generator = noisy_generator()
    ws = generator.map(latents())
    first = generator.synthesize(ws, generator=seeded(5))
    torch.manual_seed(123)  # the global random state plays no part
    assert torch.equal(first, generator.synthesize(ws, generator=seeded(5)))
    assert not torch.allclose(first, generator.synthesize(ws, generator=seeded(6)))


@pytest.mark.parametrize("resolution", [8, 16])
def test_generator_at_alpha_zero_is_the_previous_resolution_upsampled(resolution):
    generator = noisy_generator()
    ws = generator.map(latents())
    faded = generator.synthesize(ws, resolution=resolution, alpha=0.0, generator=seeded(2))
    previous = generator.synthesize(ws, resolution=resolution // 2, alpha=1.0, generator=seeded(2))
    assert torch.equal(faded, F.interpolate(previous, scale_factor=2, mode="nearest"))


def test_generator_fade_in_is_a_linear_blend():
    generator = noisy_generator()
    ws = generator.map(latents())
    ends = [generator.synthesize(ws, alpha=alpha, generator=seeded(3)) for alpha in (0.0, 1.0)]
    middle = generator.synthesize(ws, alpha=0.75, generator=seeded(3))
    torch.testing.assert_close(middle, torch.lerp(ends[0], ends[1], 0.75))


@pytest.mark.parametrize("resolution", [8, 16])
def test_discriminator_at_alpha_zero_is_the_previous_one_on_pooled_images(resolution):
    discriminator = tiny_discriminator()
    images = torch.randn(4, 3, resolution, resolution)
    faded = discriminator(images, resolution=resolution, alpha=0.0)
    previous = discriminator(F.avg_pool2d(images, 2), resolution=resolution // 2, alpha=1.0)
    assert torch.equal(faded, previous)


def test_discriminator_is_pggans_with_a_blur_before_downsampling():
    discriminator = tiny_discriminator()
    assert isinstance(discriminator, pggan.Discriminator)
    assert all(isinstance(block.blur, Blur) and block.blur.taps == (1, 2, 1) for block in discriminator.blocks)
    assert not any(isinstance(layer, Blur) for layer in pggan.Discriminator(**SIZES).modules())


def test_truncation_zero_gives_the_average_w_on_the_cut_layers():
    generator = tiny_generator()
    with torch.no_grad():
        generator.w_avg.copy_(torch.randn(W_DIM))
    z = latents()
    free, cut = generator.map(z), generator.map(z, truncation=0.0, truncation_cutoff=2)
    assert torch.equal(cut[:, :2], generator.w_avg.expand(4, 2, W_DIM))
    assert torch.equal(cut[:, 2:], free[:, 2:])
    # The default cutoff (8) covers all 6 layers of a 16x16 generator.
    assert torch.equal(generator.map(z, truncation=0.0), generator.w_avg.expand(4, 6, W_DIM))
    half = generator.map(z, truncation=0.5)
    torch.testing.assert_close(half, (free + generator.w_avg) / 2)


def test_w_avg_starts_at_zero_and_moves_towards_the_batch_mean():
    generator = tiny_generator()
    assert torch.equal(generator.w_avg, torch.zeros(W_DIM)) and "w_avg" in generator.state_dict()
    ws = torch.full((4, generator.num_ws, W_DIM), 2.0)
    generator.update_w_avg(ws)
    torch.testing.assert_close(generator.w_avg, torch.full((W_DIM,), 0.01))
    generator.update_w_avg(ws, beta=0.0)
    torch.testing.assert_close(generator.w_avg, torch.full((W_DIM,), 2.0))


def test_mapping_weights_are_stored_divided_by_the_learning_rate_multiplier():
    generator = tiny_generator()
    mapping = torch.cat([layer.weight.flatten() for layer in generator.mapping.layers])
    assert all(layer.lr_mul == 0.01 for layer in generator.mapping.layers)
    assert mapping.std().item() == pytest.approx(100.0, rel=0.1)
    # The synthesis layers learn at the normal rate; the mapping's output is still of unit scale.
    assert generator.input_block.epilogue0.style.scale.weight.std().item() == pytest.approx(1.0, rel=0.2)
    assert 0.1 < generator.mapping(latents()).std().item() < 10
    plain = tiny_generator(mapping_lr_mul=1.0)
    assert torch.cat([layer.weight.flatten() for layer in plain.mapping.layers]).std().item() == pytest.approx(
        1.0, rel=0.1)


def test_synthesis_starts_as_the_paper_does():
    generator = tiny_generator()
    assert torch.equal(generator.input_block.constant, torch.ones(1, 32, 4, 4))
    style = generator.blocks[0].epilogue1.style
    assert torch.equal(style.scale.effective_bias(), torch.ones(32))
    assert torch.equal(style.shift.effective_bias(), torch.zeros(32))
    strengths = [layer.strength for layer in generator.modules() if isinstance(layer, NoiseInjection)]
    assert len(strengths) == generator.num_ws
    assert all(strength.shape == (layer_width,) and not strength.any()
               for strength, layer_width in zip(strengths, [32, 32, 32, 32, 16, 16]))


def gradient_misses(module: torch.nn.Module) -> set[str]:
    """Names of the parameters that got no (finite) gradient."""
    return {name for name, value in module.named_parameters()
            if value.grad is None or not torch.isfinite(value.grad).all()}


def test_gradients_reach_every_parameter_used_at_full_resolution():
    generator, discriminator = tiny_generator(), tiny_discriminator()
    discriminator(generator(latents(), generator=seeded(0))).sum().backward()
    # Only the lower resolutions' image layers are unused once the last block has faded in.
    for module, rgb in ((generator, "to_rgb"), (discriminator, "from_rgb")):
        assert gradient_misses(module) == {f"{rgb}.{index}.{kind}" for index in (0, 1) for kind in ("weight", "bias")}
    assert generator.mapping.layers[0].weight.grad.abs().sum() > 0


def test_styles_must_cover_every_layer():
    generator = tiny_generator()
    with pytest.raises(ValueError, match=r"ws must be \[N, 6, 32\]"):
        generator.synthesize(torch.zeros(2, 4, W_DIM))


def test_resolution_must_be_a_power_of_two_of_at_least_8():
    with pytest.raises(ConfigError, match="--resolution"):
        tiny_generator(resolution=48)
    with pytest.raises(ConfigError, match="--resolution"):
        stylegan.Discriminator(**{**SIZES, "resolution": 4})
