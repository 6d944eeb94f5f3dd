"""StyleGAN v1 (Karras et al. 2019): a mapping network to w, and a style-based synthesis that grows as PGGAN.

Mapping: pixel norm on z, then `mapping_layers` equalized dense layers with a learning-rate multiplier of
0.01 and LeakyReLU(0.2). Synthesis: a learned constant 4x4 input, two layers per resolution, each
conv -> noise -> bias -> LeakyReLU(0.2) -> AdaIN with its own w; nearest upsampling followed by a [1, 2, 1]
blur when growing. The tracked average w gives the truncation trick. The discriminator is PGGAN's, with a
blur before each downsampling (as the official code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from singan.models import pggan
from singan.models.latent import LatentGenerator, MappingNetwork
from singan.models.pggan import ACTIVATION_GAIN, activate, upsample
from singan.models.resolutions import (FIRST_RESOLUTION, block_widths, check_alpha, check_resolution, count_ws,
                                       stage_index)
from singan.nn.layers import EqualConv2d, EqualLinear, NoiseInjection

MAPPING_LR_MUL = 0.01
TRUNCATION_CUTOFF = 8  # the paper's: truncate the styles of the 4x4 to 32x32 layers
BLUR_TAPS = (1, 2, 1)
# Instance norm's epsilon in the official code (torch's default 1e-5 would differ on flat maps).
INSTANCE_NORM_EPSILON = 1e-8


class AdaptiveInstanceNorm(nn.Module):
    """AdaIN: instance norm, then a per-channel scale and shift from affine maps of w (the scale's bias starts at 1)."""

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.scale = EqualLinear(w_dim, channels, bias_init=1.0)
        self.shift = EqualLinear(w_dim, channels)

    def forward(self, features: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """features [N, C, H, W], w [N, w_dim] -> [N, C, H, W]."""
        normalised = F.instance_norm(features, eps=INSTANCE_NORM_EPSILON)
        return normalised * self.scale(w)[:, :, None, None] + self.shift(w)[:, :, None, None]


class StyleEpilogue(nn.Module):
    """What follows every synthesis conv (and the constant): noise -> bias -> LeakyReLU -> AdaIN.
    `noise_size`: the layer's stored noise map of that size (the published networks'), None to draw it."""

    def __init__(self, channels: int, w_dim: int, noise_size: int | None = None):
        super().__init__()
        self.noise = NoiseInjection(channels, constant_size=noise_size)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.style = AdaptiveInstanceNorm(channels, w_dim)

    def forward(self, features: torch.Tensor, w: torch.Tensor, generator) -> torch.Tensor:
        """features [N, C, H, W], w [N, w_dim] -> [N, C, H, W]."""
        features = self.noise(features, generator=generator) + self.bias[:, None, None]
        return self.style(activate(features), w)


class FirstSynthesisBlock(nn.Module):
    """4x4: the learned constant and a 3x3 conv, each followed by the style epilogue (two style inputs)."""

    def __init__(self, channels: int, w_dim: int, constant_noise: bool = False):
        super().__init__()
        noise_size = FIRST_RESOLUTION if constant_noise else None
        # Ones, as the official initialisation.
        self.constant = nn.Parameter(torch.ones(1, channels, FIRST_RESOLUTION, FIRST_RESOLUTION))
        self.epilogue0 = StyleEpilogue(channels, w_dim, noise_size)
        # Biases live in the epilogues: they come after the noise.
        self.conv = EqualConv2d(channels, channels, 3, bias=False, gain=ACTIVATION_GAIN)
        self.epilogue1 = StyleEpilogue(channels, w_dim, noise_size)

    def forward(self, ws: torch.Tensor, generator) -> torch.Tensor:
        """ws [N, 2, w_dim] -> [N, C, 4, 4]."""
        features = self.epilogue0(self.constant.expand(len(ws), -1, -1, -1), ws[:, 0], generator)
        return self.epilogue1(self.conv(features), ws[:, 1], generator)


def fused_upsampling_conv(conv: EqualConv2d, features: torch.Tensor) -> torch.Tensor:
    """The official code's "fused" nearest upsampling and 3x3 convolution (from 128 px on): one stride-2
    transposed convolution with a 4x4 kernel, the sum of the 3x3 kernel at its four one-pixel shifts, taken as
    stored (as TF's conv2d_transpose takes it). [N, C_in, H, W] -> [N, C_out, 2H, 2W]: exactly `conv(upsample(x))`
    with the kernel turned by 180 degrees, so the same stored weights give other images fused and unfused
    (checked against NVlabs' TF code: benchmarks/pretrained_parity.py)."""
    weight = F.pad(conv.effective_weight().transpose(0, 1), (1, 1, 1, 1))  # [C_in, C_out, 5, 5]
    weight = weight[:, :, 1:, 1:] + weight[:, :, :-1, 1:] + weight[:, :, 1:, :-1] + weight[:, :, :-1, :-1]
    return F.conv_transpose2d(features, weight, stride=2, padding=1)


class SynthesisBlock(nn.Module):
    """One doubling: nearest upsample, 3x3 conv, [1, 2, 1] blur, epilogue; then 3x3 conv, epilogue.

    `fused`: the upsampling and the first conv as one transposed convolution (the official networks do so
    from 128 px on); `noise_size`: stored noise maps of that size (the published networks'), None to draw them.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, fused: bool = False,
                 noise_size: int | None = None):
        super().__init__()
        self.fused = fused
        self.conv0 = EqualConv2d(in_channels, out_channels, 3, bias=False, gain=ACTIVATION_GAIN)
        self.blur = pggan.same_size_blur(BLUR_TAPS)
        self.epilogue0 = StyleEpilogue(out_channels, w_dim, noise_size)
        self.conv1 = EqualConv2d(out_channels, out_channels, 3, bias=False, gain=ACTIVATION_GAIN)
        self.epilogue1 = StyleEpilogue(out_channels, w_dim, noise_size)

    def forward(self, features: torch.Tensor, ws: torch.Tensor, generator) -> torch.Tensor:
        """features [N, C_in, H, W], ws [N, 2, w_dim] -> [N, C_out, 2H, 2W]."""
        grown = fused_upsampling_conv(self.conv0, features) if self.fused else self.conv0(upsample(features))
        features = self.epilogue0(self.blur(grown), ws[:, 0], generator)
        return self.epilogue1(self.conv1(features), ws[:, 1], generator)


class Generator(LatentGenerator):
    """StyleGAN v1's generator: z [N, z_dim] -> ws [N, num_ws, w_dim] -> images [N, C, r, r].

    The published networks' options (off for networks trained here): `fused_from`, the first resolution
    whose upsampling conv is fused (the official code: 128; None: none), and `constant_noise`, stored noise
    maps for NoiseSource "const".
    """

    def __init__(self, *, resolution: int, image_channels: int = 3, z_dim: int = 512, w_dim: int = 512,
                 mapping_layers: int = 8, channel_base: int = 16384, channel_max: int = 512,
                 mapping_lr_mul: float = MAPPING_LR_MUL, fused_from: int | None = None,
                 constant_noise: bool = False):
        super().__init__()
        self.resolution = check_resolution(resolution)
        self.image_channels, self.z_dim, self.w_dim = image_channels, z_dim, w_dim
        self.num_ws = count_ws(resolution)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul, ACTIVATION_GAIN, activate)
        widths = block_widths(resolution, channel_base, channel_max)
        self.input_block = FirstSynthesisBlock(widths[0], w_dim, constant_noise)
        sizes = [FIRST_RESOLUTION * 2**index for index in range(1, len(widths))]
        self.blocks = nn.ModuleList([
            SynthesisBlock(coarser, finer, w_dim, fused=fused_from is not None and size >= fused_from,
                           noise_size=size if constant_noise else None)
            for coarser, finer, size in zip(widths, widths[1:], sizes)])
        self.to_rgb = nn.ModuleList([EqualConv2d(width, image_channels, 1) for width in widths])

    def map(self, z: torch.Tensor, truncation: float = 1.0, truncation_cutoff: int | None = None,
            labels: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, z_dim] -> ws [N, num_ws, w_dim]; truncation psi < 1 pulls the first `truncation_cutoff`
        styles (None: the paper's 8) towards the tracked average: w_avg + psi (w - w_avg)."""
        ws = self.mapping(z, labels)[:, None].repeat(1, self.num_ws, 1)
        return self.truncate(ws, truncation, TRUNCATION_CUTOFF if truncation_cutoff is None else truncation_cutoff)

    def synthesize(self, ws: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0,
                   generator=None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images [N, C, r, r] from the blocks up to the stage `resolution` (None = full).
        `generator`: a torch.Generator or a singan.nn.layers.NoiseSource.

        Block k (0 = 4x4) takes styles 2k and 2k + 1. alpha < 1 blends the newest block's image over the
        previous resolution's, upsampled. Noise comes from `generator`, layer by layer from 4x4 up.
        """
        newest, alpha = stage_index(self.resolution, resolution), check_alpha(alpha)
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}] (got {list(ws.shape)})")
        features = self.input_block(ws[:, :2], generator)  # [N, C, 4, 4]
        previous = features
        for index, block in enumerate(self.blocks[:newest], start=1):
            previous, features = features, block(features, ws[:, 2 * index:2 * index + 2], generator)
        images = self.to_rgb[newest](features)
        if newest == 0 or alpha == 1.0:
            return images
        return torch.lerp(upsample(self.to_rgb[newest - 1](previous)), images, alpha)


class Discriminator(pggan.Discriminator):
    """StyleGAN v1's discriminator: PGGAN's, with a [1, 2, 1] blur before each downsampling conv."""

    def __init__(self, *, resolution: int, image_channels: int = 3, channel_base: int = 16384,
                 channel_max: int = 512, mbstd_group_size: int = 4, mbstd_channels: int = 1):
        super().__init__(resolution=resolution, image_channels=image_channels, channel_base=channel_base,
                         channel_max=channel_max, mbstd_group_size=mbstd_group_size,
                         mbstd_channels=mbstd_channels, blur_taps=BLUR_TAPS)
