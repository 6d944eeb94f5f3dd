"""The shared GAN layers against their papers' definitions: statistics, hand computations and references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from singan.nn.layers import (Blur, Downsample2d, EqualConv2d, EqualLinear, MinibatchStdDev, ModulatedConv2d,
                              NoiseInjection, PixelNorm, ScaledLeakyReLU, Upsample2d, fir_kernel, minibatch_stddev,
                              modulate, pixel_norm, scaled_leaky_relu, upfirdn2d)


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----- equalized learning rate ------------------------------------------------------------------------

@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_equal_linear_keeps_unit_variance_times_gain_squared(gain):
    layer = EqualLinear(256, 256, gain=gain)
    output = layer(torch.randn(512, 256, generator=generator(1)))
    assert output.var().item() == pytest.approx(gain ** 2, rel=0.1)


def test_equal_linear_is_a_plain_linear_with_the_effective_weight_and_bias():
    layer = EqualLinear(8, 5, bias_init=0.5, lr_mul=0.01, gain=2.0)
    x = torch.randn(3, 8)
    weight = layer.weight.detach() * 2.0 * 0.01 / math.sqrt(8)
    assert torch.allclose(layer(x), F.linear(x, weight, torch.full((5,), 0.5)), atol=1e-6)
    # Stored N(0, 1) / lr_mul, bias stored bias_init / lr_mul.
    assert layer.weight.std().item() == pytest.approx(100, rel=0.5)
    assert torch.allclose(layer.bias.detach(), torch.full((5,), 50.0))


def test_equal_linear_without_bias():
    layer = EqualLinear(4, 3, bias=False)
    assert layer.bias is None
    assert torch.allclose(layer(torch.zeros(2, 4)), torch.zeros(2, 3))


@pytest.mark.parametrize("lr_mul", [1.0, 0.01])
def test_equal_linear_gradient_on_the_stored_weight_is_the_runtime_scale_times_the_plain_one(lr_mul):
    layer = EqualLinear(6, 4, lr_mul=lr_mul, gain=math.sqrt(2))
    x, target = torch.randn(5, 6), torch.randn(5, 4)
    effective = layer.effective_weight().detach().requires_grad_()
    bias = layer.effective_bias().detach().requires_grad_()
    F.mse_loss(F.linear(x, effective, bias), target).backward()
    F.mse_loss(layer(x), target).backward()
    scale = math.sqrt(2) * lr_mul / math.sqrt(6)
    assert torch.allclose(layer.weight.grad, effective.grad * scale, atol=1e-7)
    assert torch.allclose(layer.bias.grad, bias.grad * lr_mul, atol=1e-7)


def adam_step_of_the_effective_weight(lr_mul: float) -> float:
    """How far one Adam step moves the effective weight, relative to the effective weight's own size."""
    layer = EqualLinear(16, 8, lr_mul=lr_mul)
    before = layer.effective_weight().detach().clone()
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3, eps=1e-12)
    layer(torch.randn(4, 16)).square().mean().backward()
    optimizer.step()
    change = (layer.effective_weight().detach() - before).abs()
    # Adam's first step moves each stored weight by lr: the effective one by lr times the runtime scale.
    assert torch.allclose(change, torch.full_like(change, 1e-3 * lr_mul / 4), rtol=0.05)
    return (change.mean() / before.abs().mean()).item()


def test_lr_mul_scales_the_effective_learning_rate():
    ratio = adam_step_of_the_effective_weight(0.01) / adam_step_of_the_effective_weight(1.0)
    assert ratio == pytest.approx(0.01, rel=0.5)


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_equal_conv_keeps_unit_variance_times_gain_squared(gain):
    layer = EqualConv2d(16, 32, 3, padding=0, gain=gain)
    output = layer(torch.randn(16, 16, 10, 10, generator=generator(1)))
    assert output.var().item() == pytest.approx(gain ** 2, rel=0.15)


def test_equal_conv_is_a_plain_conv_with_the_effective_weight():
    layer = EqualConv2d(3, 4, 3, stride=2, gain=math.sqrt(2), lr_mul=0.1)
    with torch.no_grad():
        layer.bias.fill_(3.0)
    x = torch.randn(2, 3, 8, 8)
    weight = layer.weight.detach() * math.sqrt(2) * 0.1 / math.sqrt(27)
    expected = F.conv2d(x, weight, torch.full((4,), 0.3), stride=2, padding=1)
    assert torch.allclose(layer(x), expected, atol=1e-5)
    assert layer(x).shape == (2, 4, 4, 4)


def test_equal_conv_default_padding_keeps_the_size_and_bias_starts_at_zero():
    layer = EqualConv2d(2, 3, 5)
    assert layer.padding == 2 and layer(torch.randn(1, 2, 7, 9)).shape == (1, 3, 7, 9)
    assert torch.equal(layer.bias, torch.zeros(3))
    assert EqualConv2d(2, 3, 1, bias=False).bias is None


def test_equal_conv_gradient_is_scaled_by_the_runtime_scale():
    layer = EqualConv2d(2, 3, 3, lr_mul=0.5)
    x = torch.randn(2, 2, 5, 5)
    effective = layer.effective_weight().detach().requires_grad_()
    F.conv2d(x, effective, padding=1).square().sum().backward()
    layer(x).square().sum().backward()
    assert torch.allclose(layer.weight.grad, effective.grad * 0.5 / math.sqrt(18), atol=1e-6)


def test_equalized_layers_describe_themselves():
    assert "lr_mul=0.01" in repr(EqualLinear(4, 5, lr_mul=0.01))
    text = repr(EqualConv2d(3, 8, 3, gain=math.sqrt(2)))
    assert "3, 8, kernel_size=3" in text and "gain=1.414" in text


# ----- pixel norm and activation ----------------------------------------------------------------------

def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 7, 4, 5) * torch.rand(3, 1, 4, 5) * 10
    mean_square = pixel_norm(x).square().mean(dim=1)
    assert torch.allclose(mean_square, torch.ones_like(mean_square), atol=1e-5)
    assert torch.allclose(PixelNorm()(x), pixel_norm(x))


def test_pixel_norm_on_feature_vectors_is_scale_invariant_and_safe_at_zero():
    z = torch.randn(4, 16)
    assert torch.allclose(pixel_norm(5 * z), pixel_norm(z), atol=1e-6)
    assert torch.allclose(pixel_norm(z).square().mean(dim=1), torch.ones(4), atol=1e-5)
    assert torch.equal(pixel_norm(torch.zeros(2, 3)), torch.zeros(2, 3))


def test_scaled_leaky_relu():
    x = torch.tensor([-1.0, 0.0, 2.0])
    expected = torch.tensor([-0.2, 0.0, 2.0]) * math.sqrt(2)
    assert torch.allclose(scaled_leaky_relu(x), expected)
    assert torch.allclose(ScaledLeakyReLU(slope=0.1, gain=1.0)(x), F.leaky_relu(x, 0.1))
    assert "slope=0.2" in repr(ScaledLeakyReLU())


# ----- minibatch standard deviation ------------------------------------------------------------------

@pytest.mark.parametrize("num_channels", [1, 2])
def test_minibatch_stddev_appends_channels(num_channels):
    x = torch.randn(8, 4, 3, 3)
    output = minibatch_stddev(x, num_channels=num_channels)
    assert output.shape == (8, 4 + num_channels, 3, 3)
    assert torch.equal(output[:, :4], x)


def test_minibatch_stddev_matches_a_hand_computation():
    # Batch 2 < group 4: one group of 2. Feature 0 takes 0 and 2 (std 1), feature 1 takes 2 and 2 (std 0).
    x = torch.tensor([[[[0.0, 2.0]]], [[[2.0, 2.0]]]])
    output = minibatch_stddev(x)
    expected = (math.sqrt(1 + 1e-8) + math.sqrt(1e-8)) / 2
    assert torch.allclose(output[:, 1], torch.full((2, 1, 2), expected))


def test_minibatch_stddev_groups_are_strided_as_the_official_code():
    x = torch.randn(8, 6, 2, 3)
    output = MinibatchStdDev(group_size=4, num_channels=2)(x)
    groups = 8 // 4
    for first in range(groups):
        members = x[first::groups].reshape(4, 2, 3, 2, 3)  # [group, slice, channels in slice, H, W]
        spread = (members.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
        assert torch.allclose(output[first::groups, 6:], spread[None, :, None, None].expand(4, 2, 2, 3), atol=1e-6)


def test_minibatch_stddev_rejects_a_batch_that_does_not_split_into_groups():
    with pytest.raises(ValueError, match="batch size 6"):
        minibatch_stddev(torch.randn(6, 2, 2, 2), group_size=4)
    with pytest.raises(ValueError, match="channels"):
        minibatch_stddev(torch.randn(4, 3, 2, 2), num_channels=2)
    assert minibatch_stddev(torch.randn(3, 2, 2, 2), group_size=4).shape == (3, 3, 2, 2)
    assert "group_size=4" in repr(MinibatchStdDev())


# ----- FIR resampling --------------------------------------------------------------------------------

def test_fir_kernel_is_the_normalised_outer_product():
    kernel = fir_kernel((1, 3, 3, 1))
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    assert kernel.shape == (4, 4)
    assert torch.allclose(kernel, torch.outer(taps, taps) / 64)
    assert fir_kernel(torch.ones(2, 3)).sum().item() == pytest.approx(1.0)


def test_upfirdn2d_with_a_unit_kernel_is_the_identity():
    x = torch.randn(2, 3, 5, 4)
    assert torch.equal(upfirdn2d(x, torch.ones(1, 1)), x)


def test_upfirdn2d_is_a_true_convolution():
    # The response to a single unit pixel, fully padded, is the kernel itself, not its mirror image.
    kernel = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    response = upfirdn2d(torch.ones(1, 1, 1, 1), kernel, padding=(2, 2, 1, 1))
    assert torch.equal(response[0, 0], kernel)


def test_upfirdn2d_inserts_zeros_pads_in_f_pad_order_and_strides():
    x = torch.tensor([[[[1.0, 2.0]]]])
    assert torch.equal(upfirdn2d(x, torch.ones(1, 1), up=2)[0, 0], torch.tensor([[1.0, 0, 2, 0], [0, 0, 0, 0]]))
    padded = upfirdn2d(x, torch.ones(1, 1), padding=(1, 0, 0, 2))  # left, right, top, bottom
    assert torch.equal(padded[0, 0], torch.tensor([[0.0, 1, 2], [0, 0, 0], [0, 0, 0]]))
    grid = torch.arange(36.0).reshape(1, 1, 6, 6)
    assert torch.equal(upfirdn2d(grid, torch.ones(1, 1), down=2), grid[..., ::2, ::2])
    assert torch.equal(upfirdn2d(grid, torch.ones(1, 1), padding=-1), grid[..., 1:-1, 1:-1])


@pytest.mark.parametrize("up, down, padding", [(1, 1, (1, 2, 0, 3)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 2, 0))])
def test_upfirdn2d_filters_every_channel_of_every_image_on_its_own(up, down, padding):
    """The depthwise convolution gives, bit for bit, each one-channel map filtered alone."""
    torch.manual_seed(0)
    x, kernel = torch.randn(2, 3, 6, 5), torch.randn(4, 4)
    whole = upfirdn2d(x, kernel, up=up, down=down, padding=padding)
    for image in range(2):
        for channel in range(3):
            alone = upfirdn2d(x[image:image + 1, channel:channel + 1], kernel, up=up, down=down, padding=padding)
            assert torch.equal(whole[image, channel], alone[0, 0])


@pytest.mark.parametrize("up, down, padding", [(1, 1, (1, 2, 0, 3)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 2, 0)),
                                              (3, 2, (0, 0, 1, 1))])
def test_upfirdn2d_output_size(up, down, padding):
    output = upfirdn2d(torch.randn(2, 3, 5, 7), fir_kernel(), up=up, down=down, padding=padding)
    height = (5 * up + padding[2] + padding[3] - 4) // down + 1
    width = (7 * up + padding[0] + padding[1] - 4) // down + 1
    assert output.shape == (2, 3, height, width)


def test_upsample_keeps_a_constant_away_from_the_borders():
    output = Upsample2d()(torch.full((1, 2, 5, 6), 3.0))
    assert output.shape == (1, 2, 10, 12)
    assert torch.allclose(output[..., 2:-2, 2:-2], torch.full((1, 2, 6, 8), 3.0))


def test_upsample_is_bilinear_or_nearest_in_the_interior():
    # Each input pixel lands at the centre of its 2x2 output block, as align_corners=False interpolation.
    x = torch.randn(1, 2, 6, 5)
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(Upsample2d((1, 3, 3, 1))(x)[..., 1:-1, 1:-1], bilinear[..., 1:-1, 1:-1], atol=1e-6)
    nearest = F.interpolate(x, scale_factor=2, mode="nearest")
    assert torch.allclose(Upsample2d((1, 1))(x), nearest, atol=1e-6)


def test_downsample_halves_the_size_and_keeps_a_constant():
    output = Downsample2d()(torch.full((2, 1, 8, 6), -1.5))
    assert output.shape == (2, 1, 4, 3)
    assert torch.allclose(output[..., 1:-1, 1:-1], torch.full((2, 1, 2, 1), -1.5))


def test_downsample_is_aligned_with_average_pooling():
    x = torch.randn(1, 3, 8, 8)
    assert torch.allclose(Downsample2d((1, 1))(x), F.avg_pool2d(x, 2), atol=1e-6)
    # A symmetric filter centred on each 2x2 block gives a linear ramp's block mean.
    rows, columns = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    ramp = (2 * rows - 3 * columns)[None, None]
    assert torch.allclose(Downsample2d()(ramp)[..., 1:-1, 1:-1], F.avg_pool2d(ramp, 2)[..., 1:-1, 1:-1], atol=1e-5)


def test_blur_keeps_a_constant_interior_and_applies_its_gain():
    x = torch.full((1, 1, 7, 7), 2.0)
    output = Blur(padding=(2, 1))(x)
    assert output.shape == x.shape
    assert torch.allclose(output[..., 2:-2, 2:-2], x[..., 2:-2, 2:-2])
    assert torch.allclose(Blur(padding=(2, 1), gain=4)(x), 4 * output)
    assert "padding=(2, 1, 2, 1)" in repr(Blur(padding=(2, 1)))


def test_fir_modules_keep_their_kernel_out_of_the_state_dict_but_follow_dtype():
    blur = Blur(padding=1).to(torch.float64)
    assert blur.kernel.dtype == torch.float64 and "kernel" not in blur.state_dict()
    assert blur(torch.randn(1, 1, 4, 4, dtype=torch.float64)).dtype == torch.float64


# ----- modulation ------------------------------------------------------------------------------------

def test_demodulated_weights_have_unit_norm_per_sample_and_output_channel():
    weight, styles = torch.randn(5, 3, 3, 3), torch.randn(4, 3) * 3
    modulated = modulate(weight, styles)
    assert modulated.shape == (4, 5, 3, 3, 3)
    norms = modulated.square().sum(dim=(2, 3, 4))
    assert torch.allclose(norms, torch.ones(4, 5), atol=1e-5)
    assert torch.allclose(modulate(weight, 7 * styles), modulated, atol=1e-5)


def test_modulation_without_demodulation_scales_input_channels():
    weight, styles = torch.randn(2, 3, 1, 1), torch.tensor([[1.0, 2.0, 0.0]])
    modulated = modulate(weight, styles, demodulate=False)[0]
    assert torch.equal(modulated, weight * torch.tensor([1.0, 2.0, 0.0])[None, :, None, None])


def test_modulated_conv_affine_starts_with_unit_styles():
    layer = ModulatedConv2d(3, 4, 3, style_dim=6)
    assert torch.allclose(layer.affine(torch.zeros(2, 6)), torch.ones(2, 3))
    assert "style_dim=6" in repr(layer) and "upsample=False" in repr(layer)


@pytest.mark.parametrize("demodulate, kernel_size", [(True, 3), (False, 1)])
def test_modulated_conv_equals_a_plain_conv_per_sample(demodulate, kernel_size):
    layer = ModulatedConv2d(3, 4, kernel_size, style_dim=6, demodulate=demodulate)
    x, w = torch.randn(3, 3, 5, 6), torch.randn(3, 6)
    output = layer(x, w)
    weights = layer.modulated_weight(w)
    assert output.shape == (3, 4, 5, 6)
    for sample in range(3):
        expected = F.conv2d(x[sample:sample + 1], weights[sample], padding=kernel_size // 2)
        assert torch.allclose(output[sample:sample + 1], expected, atol=1e-5)


def test_demodulated_conv_keeps_unit_variance():
    layer = ModulatedConv2d(64, 32, 3, style_dim=8)
    x, w = torch.randn(4, 64, 8, 8, generator=generator(1)), torch.randn(4, 8, generator=generator(2))
    assert layer(x, w)[..., 1:-1, 1:-1].var().item() == pytest.approx(1.0, rel=0.15)


def reference_blur(x: torch.Tensor, padding: int, gain: float) -> torch.Tensor:
    """The [1, 3, 3, 1] blur written out by hand: a symmetric kernel, so correlation and convolution agree."""
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(taps, taps) / 64 * gain
    channels = x.shape[1]
    return F.conv2d(F.pad(x, [padding] * 4), kernel.expand(channels, 1, 4, 4), groups=channels)


def test_upsampling_modulated_conv_is_a_transposed_conv_then_blur():
    layer = ModulatedConv2d(3, 4, 3, style_dim=6, upsample=True)
    x, w = torch.randn(2, 3, 5, 4), torch.randn(2, 6)
    output = layer(x, w)
    assert output.shape == (2, 4, 10, 8)
    weights = layer.modulated_weight(w)
    for sample in range(2):
        transposed = F.conv_transpose2d(x[sample:sample + 1], weights[sample].transpose(0, 1), stride=2)
        assert torch.allclose(output[sample:sample + 1], reference_blur(transposed, 1, 4), atol=1e-5)


def test_upsampling_modulated_conv_is_aligned_as_upsample_then_conv():
    # Convolutions commute: away from the borders, transposed conv + blur = FIR upsampling + (true) conv.
    layer = ModulatedConv2d(2, 3, 3, style_dim=4, upsample=True)
    x, w = torch.randn(1, 2, 6, 6), torch.randn(1, 4)
    weight = layer.modulated_weight(w)[0].flip([2, 3])
    expected = F.conv2d(Upsample2d()(x), weight, padding=1)
    assert torch.allclose(layer(x, w)[..., 3:-3, 3:-3], expected[..., 3:-3, 3:-3], atol=1e-5)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_upsampling_modulated_conv_doubles_any_size_and_is_linear_in_x(kernel_size):
    layer = ModulatedConv2d(2, 3, kernel_size, style_dim=4, upsample=True)
    first, second, w = torch.randn(2, 2, 3, 7), torch.randn(2, 2, 3, 7), torch.randn(2, 4)
    output = layer(2 * first - second, w)
    assert output.shape == (2, 3, 6, 14)
    assert torch.allclose(output, 2 * layer(first, w) - layer(second, w), atol=1e-5)


# ----- noise -----------------------------------------------------------------------------------------

def test_noise_with_zero_strength_is_the_identity():
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(NoiseInjection()(x), x)
    assert torch.equal(NoiseInjection(3)(x, noise=torch.randn(2, 1, 4, 4)), x)


def test_noise_is_drawn_from_the_given_generator():
    layer = NoiseInjection()
    with torch.no_grad():
        layer.strength.fill_(1.0)
    x = torch.zeros(2, 3, 4, 5)
    first, again = layer(x, generator=generator(5)), layer(x, generator=generator(5))
    other = layer(x, generator=generator(6))
    assert torch.equal(first, again) and not torch.equal(first, other)
    # One noise image per sample, shared by all channels, N(0, 1).
    assert torch.equal(first, first[:, :1].expand_as(first))
    assert torch.equal(first[:, :1], torch.randn(2, 1, 4, 5, generator=generator(5)))


def test_noise_strength_per_channel_is_learned():
    layer = NoiseInjection(3)
    assert layer.strength.shape == (3,)
    with torch.no_grad():
        layer.strength.copy_(torch.tensor([0.0, 1.0, -2.0]))
    x, noise = torch.randn(2, 3, 4, 4), torch.randn(2, 1, 4, 4)
    expected = x + torch.tensor([0.0, 1.0, -2.0])[None, :, None, None] * noise
    assert torch.allclose(layer(x, noise), expected)
    assert "per channel (3)" in repr(layer)


def test_scalar_noise_strength_gets_a_gradient():
    layer = NoiseInjection()
    layer(torch.zeros(1, 2, 3, 3), noise=torch.ones(1, 1, 3, 3)).sum().backward()
    assert layer.strength.grad.item() == pytest.approx(18.0)
