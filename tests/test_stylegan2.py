import math

import pytest
import torch
import torch.nn.functional as F

from singan.errors import ConfigError
from singan.models import stylegan2
from singan.nn.layers import ModulatedConv2d, NoiseInjection, Upsample2d, fir_kernel, scaled_leaky_relu, upfirdn2d

# Tiny: 4x4 -> 16x16 with 32, 32, 16 channels, a 2-layer mapping network.
SIZES = {"resolution": 16, "image_channels": 3, "channel_base": 256, "channel_max": 32}
Z_DIM = W_DIM = 32


def tiny_generator(seed: int = 0, **changes) -> stylegan2.Generator:
    torch.manual_seed(seed)
    return stylegan2.Generator(**{**SIZES, "z_dim": Z_DIM, "w_dim": W_DIM, "mapping_layers": 2, **changes})


def tiny_discriminator(seed: int = 0, **changes) -> stylegan2.Discriminator:
    torch.manual_seed(seed)
    return stylegan2.Discriminator(**{**SIZES, **changes})


def noisy_generator(**changes) -> stylegan2.Generator:
    """A generator whose noise inputs matter (their strengths start at 0)."""
    generator = tiny_generator(**changes)
    with torch.no_grad():
        for layer in generator.modules():
            if isinstance(layer, NoiseInjection):
                layer.strength.fill_(0.5)
    return generator


def latents(count: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(count, Z_DIM, generator=torch.Generator().manual_seed(seed))


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("resolution", [8, 16])
def test_images_of_the_full_resolution_and_one_score_each(resolution):
    images = tiny_generator(resolution=resolution)(latents(), generator=seeded(0))
    assert images.shape == (4, 3, resolution, resolution) and torch.isfinite(images).all()
    scores = tiny_discriminator(resolution=resolution)(images)
    assert scores.shape == (4,) and torch.isfinite(scores).all()


def test_grayscale_images():
    images = tiny_generator(image_channels=1)(latents(2), generator=seeded(0))
    assert images.shape == (2, 1, 16, 16)
    assert tiny_discriminator(image_channels=1)(images).shape == (2,)


@pytest.mark.parametrize("resolution, num_ws", [(8, 4), (16, 6), (32, 8)])
def test_one_style_per_conv_plus_the_last_to_rgb(resolution, num_ws):
    generator = tiny_generator(resolution=resolution)
    assert generator.num_ws == num_ws
    assert generator.map(latents()).shape == (4, num_ws, W_DIM)
    assert stylegan2.count_ws(1024) == 18


def test_each_layer_reads_its_documented_style_slot():
    generator = tiny_generator()
    received = []
    hooks = [layer.register_forward_pre_hook(lambda module, inputs: received.append(inputs[1][0, 0].item()))
             for layer in generator.modules() if isinstance(layer, ModulatedConv2d)]
    ws = torch.arange(generator.num_ws, dtype=torch.float32)[None, :, None].repeat(2, 1, W_DIM)
    generator.synthesize(ws, generator=seeded(0))
    for hook in hooks:
        hook.remove()
    # 4x4: conv 0, ToRGB 1; 8x8: conv0 1, conv1 2, ToRGB 3; 16x16: conv0 3, conv1 4, ToRGB 5.
    assert received == [0, 1, 1, 2, 3, 3, 4, 5]


def test_every_style_slot_changes_the_image():
    generator, ws = tiny_generator(), tiny_generator().map(latents(2))
    reference = generator.synthesize(ws, generator=seeded(0))
    for index in range(generator.num_ws):
        changed = ws.clone()
        changed[:, index] += 1.0
        assert not torch.allclose(generator.synthesize(changed, generator=seeded(0)), reference)


def test_images_follow_the_latent_and_noise_seeds():
    generator = noisy_generator()
    first = generator(latents(seed=1), generator=seeded(5))
    assert torch.equal(first, generator(latents(seed=1), generator=seeded(5)))
    assert not torch.allclose(first, generator(latents(seed=1), generator=seeded(6)))
    assert not torch.allclose(first, generator(latents(seed=2), generator=seeded(5)))


def test_noise_strengths_start_at_zero():
    generator = tiny_generator()
    strengths = [layer.strength for layer in generator.modules() if isinstance(layer, NoiseInjection)]
    assert len(strengths) == 5 and all(strength.shape == () and strength.item() == 0 for strength in strengths)
    assert torch.equal(generator(latents(), generator=seeded(5)), generator(latents(), generator=seeded(6)))


def test_truncation_to_zero_gives_one_image_for_every_latent():
    generator = noisy_generator()
    with torch.no_grad():
        generator.w_avg.normal_()
    first = generator(latents(1, seed=1), truncation=0.0, generator=seeded(3))
    second = generator(latents(1, seed=2), truncation=0.0, generator=seeded(3))
    assert torch.allclose(first, second, atol=1e-6)
    assert not torch.allclose(first, generator(latents(1, seed=1), generator=seeded(3)))


def test_truncation_cutoff_limits_the_layers_pulled_to_the_average():
    generator = tiny_generator()
    with torch.no_grad():
        generator.w_avg.normal_()
    plain = generator.map(latents())
    truncated = generator.map(latents(), truncation=0.5, truncation_cutoff=2)
    assert torch.allclose(truncated[:, :2], generator.w_avg + 0.5 * (plain[:, :2] - generator.w_avg), atol=1e-6)
    assert torch.equal(truncated[:, 2:], plain[:, 2:])


def test_w_avg_moves_towards_the_batch_mean():
    generator = tiny_generator()
    ws = generator.map(latents())
    generator.update_w_avg(ws, beta=0.9)
    assert torch.allclose(generator.w_avg, 0.1 * ws.mean(dim=(0, 1)), atol=1e-6)
    assert "w_avg" in generator.state_dict()


def to_rgb_contributions(generator: stylegan2.Generator, ws: torch.Tensor) -> tuple[torch.Tensor, list]:
    """The generator's images and each ToRGB's output, coarse to fine."""
    contributions = []
    hooks = [layer.register_forward_hook(lambda module, inputs, output: contributions.append(output))
             for layer in generator.modules() if isinstance(layer, stylegan2.ToRGB)]
    images = generator.synthesize(ws, generator=seeded(0))
    for hook in hooks:
        hook.remove()
    return images, contributions


def test_skip_generator_sums_the_upsampled_to_rgb_outputs():
    generator = noisy_generator()
    images, contributions = to_rgb_contributions(generator, generator.map(latents(2)))
    assert [part.shape[-1] for part in contributions] == [4, 8, 16]
    upsample = Upsample2d(stylegan2.BLUR_TAPS)
    expected = contributions[0]
    for part in contributions[1:]:
        expected = upsample(expected) + part
    assert torch.allclose(images, expected, atol=1e-5)


def test_with_only_the_last_to_rgb_the_image_is_its_output():
    generator = noisy_generator()
    with torch.no_grad():
        for block in [generator.input_block, *generator.blocks[:-1]]:
            block.to_rgb.conv.weight.zero_()
            block.to_rgb.bias.zero_()
    images, contributions = to_rgb_contributions(generator, generator.map(latents(2)))
    assert contributions[0].abs().max() == 0
    assert torch.allclose(images, contributions[-1], atol=1e-6)


def scale_styles(convolution: ModulatedConv2d, factor: float) -> None:
    """Multiply the styles the affine map produces by `factor`."""
    with torch.no_grad():
        convolution.affine.weight.mul_(factor)
        convolution.affine.bias.mul_(factor)


def test_demodulation_makes_the_conv_blind_to_the_style_scale_but_not_to_rgb():
    generator = tiny_generator()
    features, w = torch.randn(2, 32, 4, 4, generator=seeded(0)), torch.randn(2, W_DIM, generator=seeded(1))
    convolution, to_rgb = generator.input_block.conv.conv, generator.input_block.to_rgb.conv
    before_conv, before_rgb = convolution(features, w), to_rgb(features, w)
    scale_styles(convolution, 3.0)
    scale_styles(to_rgb, 3.0)
    assert torch.allclose(convolution(features, w), before_conv, atol=1e-5)
    assert torch.allclose(to_rgb(features, w), 3.0 * before_rgb, atol=1e-5)


def test_residual_block_sums_its_branches_times_sqrt_half():
    torch.manual_seed(0)
    block = stylegan2.DiscriminatorBlock(8, 16)
    with torch.no_grad():
        block.conv0.bias.normal_()
        block.conv1.bias.normal_()
    features = torch.randn(2, 8, 8, 8, generator=seeded(1))
    residual = scaled_leaky_relu(block.conv1(block.blur(scaled_leaky_relu(block.conv0(features)))))
    # The skip: the [1, 3, 3, 1] filter with stride 2, then the 1x1 conv with equalized weights, no bias.
    skip = F.conv2d(upfirdn2d(features, fir_kernel((1, 3, 3, 1)), down=2, padding=1), block.skip.weight / math.sqrt(8))
    assert residual.shape == skip.shape == (2, 16, 4, 4)
    assert torch.allclose(block(features), (residual + skip) * math.sqrt(0.5), atol=1e-5)


def test_progressive_stages_are_refused():
    generator, discriminator = tiny_generator(), tiny_discriminator()
    ws = generator.map(latents())
    with pytest.raises(ValueError, match="progressively"):
        generator.synthesize(ws, resolution=8)
    with pytest.raises(ValueError, match="progressively"):
        generator(latents(), resolution=4)
    with pytest.raises(ValueError, match="progressively"):
        discriminator(torch.zeros(4, 3, 8, 8), resolution=8)
    # The full resolution is accepted and alpha is ignored.
    images = generator.synthesize(ws, resolution=16, alpha=0.3, generator=seeded(0))
    assert torch.equal(images, generator.synthesize(ws, generator=seeded(0)))
    assert torch.equal(discriminator(images, resolution=16, alpha=0.3), discriminator(images))


def test_bad_sizes_are_refused():
    with pytest.raises(ConfigError, match="--resolution"):
        tiny_generator(resolution=24)
    with pytest.raises(ConfigError, match="--resolution"):
        tiny_discriminator(resolution=4)
    generator = tiny_generator()
    with pytest.raises(ValueError, match="ws must be"):
        generator.synthesize(torch.zeros(2, 5, W_DIM))
    with pytest.raises(ValueError, match="images must be"):
        tiny_discriminator()(torch.zeros(4, 3, 8, 8))


def assert_every_parameter_learns(module: torch.nn.Module) -> None:
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_gradients_reach_every_parameter():
    generator, discriminator = tiny_generator(), tiny_discriminator()
    images = generator(latents(), generator=seeded(0))
    (discriminator(images).sum() + (images * torch.randn_like(images)).sum()).backward()
    assert_every_parameter_learns(generator)
    assert_every_parameter_learns(discriminator)


def test_path_length_gradient_through_the_styles():
    generator = tiny_generator()
    ws = generator.map(latents(2)).detach().requires_grad_(True)
    images = generator.synthesize(ws, generator=seeded(0))
    (gradient,) = torch.autograd.grad((images * torch.randn_like(images)).sum(), ws, create_graph=True)
    assert gradient.shape == ws.shape and gradient.abs().sum() > 0
    gradient.square().sum().backward()
    assert generator.input_block.conv.conv.weight.grad is not None
