"""Layers shared by the multi-image GANs: one small module per paper idea, pure PyTorch, any device.

Equalized learning rate (PGGAN): weights are stored ~N(0, 1) and scaled by `gain / sqrt(fan_in)` at run
time, so that every layer learns at the same pace under Adam. Pixel norm and minibatch standard deviation
(PGGAN), noise injection (StyleGAN), modulated convolution with demodulation and FIR resampling (StyleGAN2).
Tensors are [N, C, H, W] images or [N, F] feature vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_TAPS = (1, 3, 3, 1)
# Inside the square roots of pixel norm, minibatch stddev and demodulation (the papers' value).
EPSILON = 1e-8


# ---------------------------------------------------------------------------------------------------
# Equalized learning rate
# ---------------------------------------------------------------------------------------------------

class EqualLinear(nn.Module):
    """Fully connected layer with an equalized learning rate; no activation inside.

    The stored weight is N(0, 1) / lr_mul and is used times `gain * lr_mul / sqrt(in_features)`; the stored
    bias is `bias_init / lr_mul`, used times lr_mul. So the layer starts as a plain one with He-scaled
    weights and bias `bias_init`, while Adam moves it `lr_mul` times as fast (StyleGAN's mapping: 0.01).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, gain: float = 1.0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.lr_mul, self.gain = lr_mul, gain
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.weight_scale = gain * lr_mul / math.sqrt(in_features)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul)) if bias else None

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer computes with, [out_features, in_features]."""
        return self.weight * self.weight_scale

    def effective_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias * self.lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in_features] -> [N, out_features]."""
        return F.linear(x, self.effective_weight(), self.effective_bias())

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"lr_mul={self.lr_mul:g}, gain={self.gain:.4g}")


class EqualConv2d(nn.Module):
    """2D convolution with an equalized learning rate (fan_in = in_channels * k * k); no activation inside.

    `padding=None` keeps the size at stride 1 (kernel_size // 2). The bias starts at 0.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | None = None, bias: bool = True, gain: float = 1.0, lr_mul: float = 1.0):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self.lr_mul, self.gain = lr_mul, gain
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) / lr_mul)
        self.weight_scale = gain * lr_mul / math.sqrt(in_channels * kernel_size * kernel_size)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer computes with, [out_channels, in_channels, k, k]."""
        return self.weight * self.weight_scale

    def effective_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias * self.lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, in_channels, H, W] -> [N, out_channels, H', W']."""
        return F.conv2d(x, self.effective_weight(), self.effective_bias(), stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}, gain={self.gain:.4g}, lr_mul={self.lr_mul:g}")


# ---------------------------------------------------------------------------------------------------
# Normalisation and activation
# ---------------------------------------------------------------------------------------------------

def pixel_norm(x: torch.Tensor, eps: float = EPSILON) -> torch.Tensor:
    """Each pixel's feature vector (dim 1) scaled to unit mean square: x * rsqrt(mean_c(x^2) + eps)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


class FunctionModule(nn.Module):
    """The module form of a layer function with fixed keyword settings: attributes of the module, which its
    repr shows."""

    def __init__(self, function, **settings):
        super().__init__()
        self.function, self.setting_names = function, tuple(settings)
        for name, value in settings.items():
            setattr(self, name, value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x, **{name: getattr(self, name) for name in self.setting_names})

    def extra_repr(self) -> str:
        values = {name: getattr(self, name) for name in self.setting_names}
        return ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                         for name, value in values.items())


class PixelNorm(FunctionModule):
    """Module form of `pixel_norm`."""

    def __init__(self, eps: float = EPSILON):
        super().__init__(pixel_norm, eps=eps)


def scaled_leaky_relu(x: torch.Tensor, slope: float = 0.2, gain: float = math.sqrt(2)) -> torch.Tensor:
    """Leaky ReLU times `gain`: StyleGAN2 keeps unit-gain weights and restores the variance here."""
    return F.leaky_relu(x, slope) * gain


class ScaledLeakyReLU(FunctionModule):
    """Module form of `scaled_leaky_relu`."""

    def __init__(self, slope: float = 0.2, gain: float = math.sqrt(2)):
        super().__init__(scaled_leaky_relu, slope=slope, gain=gain)


# ---------------------------------------------------------------------------------------------------
# Minibatch standard deviation
# ---------------------------------------------------------------------------------------------------

def minibatch_stddev(x: torch.Tensor, group_size: int = 4, num_channels: int = 1) -> torch.Tensor:
    """[N, C, H, W] -> [N, C + num_channels, H, W]: appends the spread of the features across the batch.

    As the official code: the batch is split into groups of min(group_size, N) samples (sample i joins
    the groups' i % (N / group)-th), the standard deviation over each group is taken per feature (eps 1e-8
    inside the square root), averaged over H, W and each of the `num_channels` slices of C, and appended
    as `num_channels` constant maps to every sample of the group.
    """
    batch, channels, height, width = x.shape
    group = min(group_size, batch)
    if batch % group:
        raise ValueError(f"minibatch stddev: the batch size {batch} is not a multiple of the group size {group}")
    if channels % num_channels:
        raise ValueError(f"minibatch stddev: {channels} channels do not split into {num_channels} equal slices")
    grouped = x.reshape(group, -1, num_channels, channels // num_channels, height, width)
    variance = (grouped - grouped.mean(dim=0)).square().mean(dim=0)  # [n, F, c, H, W]
    spread = (variance + EPSILON).sqrt().mean(dim=(2, 3, 4))  # [n, F]
    maps = spread.reshape(-1, num_channels, 1, 1).repeat(group, 1, height, width)  # [N, F, H, W]
    return torch.cat([x, maps], dim=1)


class MinibatchStdDev(FunctionModule):
    """Module form of `minibatch_stddev`."""

    def __init__(self, group_size: int = 4, num_channels: int = 1):
        super().__init__(minibatch_stddev, group_size=group_size, num_channels=num_channels)


# ---------------------------------------------------------------------------------------------------
# FIR resampling (upfirdn2d)
# ---------------------------------------------------------------------------------------------------

def fir_kernel(taps: Sequence[float] | torch.Tensor = DEFAULT_TAPS) -> torch.Tensor:
    """A 2D FIR kernel [k, k] normalised to sum 1: the outer product of 1D taps (or 2D taps as given)."""
    kernel = torch.as_tensor(taps, dtype=torch.float32)
    if kernel.dim() == 1:
        kernel = torch.outer(kernel, kernel)
    if kernel.dim() != 2:
        raise ValueError(f"FIR taps must be 1D or 2D, got shape {tuple(kernel.shape)}")
    return kernel / kernel.sum()


def four_sided(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """Padding as (left, right, top, bottom), F.pad's order, from an int, a (before, after) pair used on
    both axes, or four values. Negative values crop."""
    if isinstance(padding, int):
        return (padding,) * 4
    padding = tuple(int(value) for value in padding)
    if len(padding) == 2:
        return padding + padding
    if len(padding) == 4:
        return padding
    raise ValueError(f"padding must be an int, a (before, after) pair or four values, got {padding}")


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              padding: int | Sequence[int] = (0, 0, 0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, convolve each channel with `kernel` [kh, kw], keep every `down`-th pixel.

    The kernel is used as given (no normalisation, no gain) in a true convolution (flipped, unlike
    F.conv2d's correlation). The output is [N, C, (H*up + top + bottom - kh) // down + 1, likewise W].
    """
    batch, channels, height, width = x.shape
    if up > 1:
        # Each pixel followed by up - 1 zeros along both axes.
        spread = x.new_zeros(batch, channels, height, up, width, up)
        spread[:, :, :, 0, :, 0] = x
        x = spread.reshape(batch, channels, height * up, width * up)
    x = F.pad(x, four_sided(padding))
    # One depthwise convolution (the kernel per channel): the same sums as a one-channel convolution over
    # the channels folded into the batch, which CPUs run through an im2col buffer 16 times the image's size
    # (2.2 GB for a 1024 px layer of 32 channels) and 5 times slower.
    weight = kernel.to(x).flip([0, 1])[None, None].expand(channels, 1, *kernel.shape)
    return F.conv2d(x, weight, stride=down, groups=channels)


class Upsample2d(nn.Module):
    """x`factor` upsampling with a FIR filter: zero insertion, then the kernel times factor^2 (so a
    constant stays constant). [N, C, H, W] -> [N, C, factor H, factor W], each input pixel at the centre
    of the factor x factor output pixels it becomes; taps (1, 3, 3, 1) give bilinear, (1, 1) nearest."""

    def __init__(self, taps: Sequence[float] = DEFAULT_TAPS, factor: int = 2):
        super().__init__()
        self.taps, self.factor = tuple(taps), factor
        self.register_buffer("kernel", fir_kernel(taps) * factor ** 2, persistent=False)
        excess = len(self.taps) - factor
        self.padding = ((excess + 1) // 2 + factor - 1, excess // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, padding=self.padding)

    def extra_repr(self) -> str:
        return f"taps={self.taps}, factor={self.factor}"


class Downsample2d(nn.Module):
    """/`factor` downsampling with a FIR filter: blur, then every factor-th pixel.
    [N, C, H, W] -> [N, C, H / factor, W / factor]; taps (1, 1) give average pooling."""

    def __init__(self, taps: Sequence[float] = DEFAULT_TAPS, factor: int = 2):
        super().__init__()
        self.taps, self.factor = tuple(taps), factor
        self.register_buffer("kernel", fir_kernel(taps), persistent=False)
        excess = len(self.taps) - factor
        self.padding = ((excess + 1) // 2, excess // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, down=self.factor, padding=self.padding)

    def extra_repr(self) -> str:
        return f"taps={self.taps}, factor={self.factor}"


class Blur(nn.Module):
    """FIR filter without resampling: pad by `padding` (int, (before, after) or (left, right, top, bottom))
    and convolve with the normalised kernel times `gain` (factor^2 after a stride-factor transposed conv)."""

    def __init__(self, taps: Sequence[float] = DEFAULT_TAPS, padding: int | Sequence[int] = 0, gain: float = 1):
        super().__init__()
        self.taps, self.padding, self.gain = tuple(taps), four_sided(padding), gain
        self.register_buffer("kernel", fir_kernel(taps) * gain, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, padding=self.padding)

    def extra_repr(self) -> str:
        return f"taps={self.taps}, padding={self.padding}, gain={self.gain:g}"


# ---------------------------------------------------------------------------------------------------
# Modulated convolution and noise (StyleGAN / StyleGAN2)
# ---------------------------------------------------------------------------------------------------

def modulate(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, eps: float = EPSILON) -> torch.Tensor:
    """One weight per sample: weight [O, I, k, k] times styles [N, I] over the input channels, then (with
    demodulation) each output channel scaled to unit L2 norm: w'' = w' * rsqrt(sum_{I,k,k} w'^2 + eps).
    Returns [N, O, I, k, k]."""
    modulated = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        modulated = modulated * torch.rsqrt(modulated.square().sum(dim=(2, 3, 4), keepdim=True) + eps)
    return modulated


class ModulatedConv2d(nn.Module):
    """StyleGAN2's convolution whose weight is modulated per sample by a style from w (and demodulated).

    Owns its affine map w -> styles (`EqualLinear(style_dim, in_channels, bias_init=1)`); no bias, noise
    or activation inside (StyleGAN2 applies those after it). Runs as one grouped convolution with the batch
    folded into the groups. `upsample=True`: a stride-2 transposed convolution followed by the FIR blur
    (x4), [N, I, H, W] -> [N, O, 2H, 2W], aligned as `Upsample2d` followed by a convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False, blur_kernel: Sequence[float] = DEFAULT_TAPS):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.style_dim, self.demodulate, self.upsample = style_dim, demodulate, upsample
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_scale = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.affine = EqualLinear(style_dim, in_channels, bias_init=1.0)
        if upsample:
            # The transposed convolution gives 2H + k - 2 rows; this padding brings the blur's output to 2H.
            excess = len(blur_kernel) - 2 - (kernel_size - 1)
            self.blur = Blur(blur_kernel, padding=((excess + 1) // 2 + 1, excess // 2 + 1), gain=4)

    def modulated_weight(self, w: torch.Tensor) -> torch.Tensor:
        """The per-sample weights [N, O, I, k, k] for styles w [N, style_dim]."""
        return modulate(self.weight * self.weight_scale, self.affine(w), self.demodulate)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x [N, in_channels, H, W], w [N, style_dim] -> [N, out_channels, H, W] (2H, 2W when upsampling)."""
        batch, _, height, width = x.shape
        weight = self.modulated_weight(w)
        folded = x.reshape(1, batch * self.in_channels, height, width)
        if self.upsample:
            return self._upsampled(folded, weight, batch)
        weight = weight.reshape(batch * self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        out = F.conv2d(folded, weight, padding=self.kernel_size // 2, groups=batch)
        return out.reshape(batch, self.out_channels, height, width)

    def _upsampled(self, folded: torch.Tensor, weight: torch.Tensor, batch: int) -> torch.Tensor:
        # conv_transpose2d wants [in, out / groups, k, k] per group: swap O and I within each sample.
        weight = weight.transpose(1, 2).reshape(batch * self.in_channels, self.out_channels,
                                                self.kernel_size, self.kernel_size)
        out = F.conv_transpose2d(folded, weight, stride=2, groups=batch)
        return self.blur(out.reshape(batch, self.out_channels, out.shape[-2], out.shape[-1]))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"style_dim={self.style_dim}, demodulate={self.demodulate}, upsample={self.upsample}")


NOISE_MODES = ("random", "const", "none")


@dataclass
class NoiseSource:
    """Where the noise layers of one synthesis call take their noise from.

    mode "random": fresh N(0, 1) maps, from `numpy_state` when given (the NVlabs TF scripts draw them with
    numpy, after z, from the seed's RandomState), else from `generator` (torch's default source when None);
    "const": each layer's stored map (the published networks' noise buffers), or, for a layer that stores
    none, a draw as in "random"; "none": no noise is added.
    """

    mode: str = "random"
    generator: torch.Generator | None = None
    numpy_state: object | None = None  # a numpy.random.RandomState

    def __post_init__(self):
        if self.mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {', '.join(NOISE_MODES)} (got {self.mode!r})")

    def draw(self, batch: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """A fresh noise map [batch, 1, height, width] on `like`'s device and dtype."""
        if self.numpy_state is not None:
            # One map shared by the batch, as the TF scripts' noise variables [1, 1, r, r].
            drawn = torch.from_numpy(self.numpy_state.randn(1, 1, height, width)).to(like.dtype)
            return drawn.expand(batch, -1, -1, -1).to(like.device)
        device = like.device if self.generator is None else self.generator.device
        noise = torch.randn(batch, 1, height, width, generator=self.generator, device=device, dtype=like.dtype)
        return noise.to(like.device)


def as_noise_source(source: NoiseSource | torch.Generator | None) -> NoiseSource:
    """A synthesis call's noise argument as a NoiseSource: a bare torch.Generator means random noise from it."""
    return source if isinstance(source, NoiseSource) else NoiseSource("random", source)


class NoiseInjection(nn.Module):
    """Adds N(0, 1) noise [N, 1, H, W] times a learned strength that starts at 0: one scalar
    (channels=None, StyleGAN2) or one per channel (StyleGAN).

    `constant_size` r gives the layer a stored noise map [1, 1, r, r] (buffer `constant`), as the published
    networks carry, which a NoiseSource of mode "const" uses.
    """

    def __init__(self, channels: int | None = None, constant_size: int | None = None):
        super().__init__()
        self.channels = channels
        self.strength = nn.Parameter(torch.zeros(() if channels is None else (channels,)))
        stored = None if constant_size is None else torch.randn(1, 1, constant_size, constant_size)
        self.register_buffer("constant", stored)  # None: no buffer, nothing in the state dict

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None,
                generator: NoiseSource | torch.Generator | None = None) -> torch.Tensor:
        """x [N, C, H, W]; noise [N, 1, H, W], or from `generator`: a NoiseSource, or a torch.Generator (on its
        own device, a task's seed on the CPU) or None (torch's default source) for random noise; moved to x's
        device."""
        if noise is None:
            source = as_noise_source(generator)
            if source.mode == "none":
                return x
            batch, _, height, width = x.shape
            if source.mode == "const" and self.constant is not None:
                noise = self.constant.to(x.dtype).expand(batch, -1, -1, -1)
            else:
                noise = source.draw(batch, height, width, x)
        strength = self.strength if self.channels is None else self.strength.reshape(1, -1, 1, 1)
        return x + strength * noise

    def extra_repr(self) -> str:
        stored = "" if self.constant is None else f", stored noise {self.constant.shape[-1]} px"
        kind = "one scalar" if self.channels is None else f"per channel ({self.channels})"
        return f"strength={kind}{stored}"
