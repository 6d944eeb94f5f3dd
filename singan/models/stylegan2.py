"""StyleGAN2 (Karras et al. 2020, config E/F): modulated convolutions, a "skip" generator, a "resnet" discriminator.

Mapping: pixel norm on z, then `mapping_layers` equalized dense layers (learning rate x 0.01), each followed by
a leaky ReLU scaled by sqrt(2). Synthesis: a learned constant 4x4 input; every layer is a modulated 3x3
convolution with demodulation, then noise (one learned strength, starting at 0), bias and the scaled leaky
ReLU; each resolution after 4x4 starts with an upsampling convolution (transposed conv + FIR blur). Every
resolution has a ToRGB (modulated 1x1 convolution, no demodulation, plus bias) whose image is added to the
FIR-upsampled image of the resolution before ("skip" architecture). No progressive growing.

Style inputs (`num_ws = 2 log2(resolution) - 2`, the official indexing): the 4x4 block's conv takes w[0] and
its ToRGB w[1]; the block at the k-th doubling (k = 1, 2, ...) takes w[2k - 1] for its upsampling conv,
w[2k] for its second conv and w[2k + 1] for its ToRGB. So each ToRGB shares the index of the next block's
first conv, and the last ToRGB has the last index. Mixing styles by layer ranges thus splits coarse/fine.

Discriminator ("resnet"): a 1x1 fromRGB at full resolution only; per resolution down to 8x8 a residual block
(3x3 conv; blur then stride-2 3x3 conv; skip: FIR downsampling then a 1x1 conv without bias; output
(residual + skip) * sqrt(0.5)); at 4x4 minibatch stddev, a 3x3 conv, a dense layer and a dense output.
Equalized learning rate with unit-gain weights everywhere; the activations carry the sqrt(2) gain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from singan.models.latent import LatentGenerator, MappingNetwork
from singan.models.resolutions import FIRST_RESOLUTION, block_widths, check_resolution, count_ws
from singan.nn.layers import (Blur, Downsample2d, EqualConv2d, EqualLinear, MinibatchStdDev, ModulatedConv2d,
                              NoiseInjection, NoiseSource, Upsample2d, scaled_leaky_relu)

MAPPING_LR_MUL = 0.01
BLUR_TAPS = (1, 3, 3, 1)
# The residual discriminator's branches are summed; this keeps the sum's variance that of one branch.
RESIDUAL_GAIN = math.sqrt(0.5)


def refuse_stage(full_resolution: int, resolution: int | None) -> None:
    """StyleGAN2 always runs at its full resolution: any other stage is an error."""
    if resolution is not None and resolution != full_resolution:
        raise ValueError(f"StyleGAN2 does not grow progressively: resolution must be None or {full_resolution} "
                         f"(got {resolution})")


# ---------------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------------

def clamped(features: torch.Tensor, clamp: float | None) -> torch.Tensor:
    """StyleGAN2-ADA's `conv_clamp`: activations limited to [-clamp, clamp] (None: not limited)."""
    return features if clamp is None else features.clamp(-clamp, clamp)


@dataclass(frozen=True)
class LayerOptions:
    """What the published variants change in every synthesis layer: ADA's activation clamp, and stored
    noise maps (the `size` of the layer's output, None for networks trained here, which draw their noise)."""

    conv_clamp: float | None = None
    constant_noise: bool = False

    def noise(self, size: int) -> NoiseInjection:
        return NoiseInjection(constant_size=size if self.constant_noise else None)


class StyledConv(nn.Module):
    """Modulated 3x3 convolution (optionally upsampling x2), then noise, bias and the scaled leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool = False,
                 blur_taps: Sequence[float] = BLUR_TAPS, options: LayerOptions = LayerOptions(),
                 size: int = FIRST_RESOLUTION):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, upsample=upsample, blur_kernel=blur_taps)
        self.noise = options.noise(size)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.clamp = options.conv_clamp

    def forward(self, features: torch.Tensor, w: torch.Tensor, generator) -> torch.Tensor:
        """features [N, C_in, H, W], w [N, w_dim] -> [N, C_out, H, W] (2H, 2W when upsampling)."""
        # Noise and bias sit outside the style block, after the (demodulated) convolution, as in the paper.
        features = self.noise(self.conv(features, w), generator=generator)
        return clamped(scaled_leaky_relu(features + self.bias[:, None, None]), self.clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 convolution without demodulation, plus bias: features -> image contribution."""

    def __init__(self, in_channels: int, image_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        # No demodulation: the image's scale is meant to follow the style.
        self.conv = ModulatedConv2d(in_channels, image_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(image_channels))
        self.clamp = conv_clamp

    def forward(self, features: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """features [N, C, H, W], w [N, w_dim] -> [N, image_channels, H, W]."""
        return clamped(self.conv(features, w) + self.bias[:, None, None], self.clamp)


class InputBlock(nn.Module):
    """4x4: the learned constant, one styled conv and a ToRGB (styles: conv w[0], ToRGB w[1])."""

    def __init__(self, channels: int, image_channels: int, w_dim: int, options: LayerOptions = LayerOptions()):
        super().__init__()
        self.constant = nn.Parameter(torch.randn(1, channels, FIRST_RESOLUTION, FIRST_RESOLUTION))
        self.conv = StyledConv(channels, channels, w_dim, options=options)
        self.to_rgb = ToRGB(channels, image_channels, w_dim, options.conv_clamp)

    def forward(self, ws: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """ws [N, 2, w_dim] -> features [N, C, 4, 4], image [N, image_channels, 4, 4]."""
        features = self.conv(self.constant.expand(len(ws), -1, -1, -1), ws[:, 0], generator)
        return features, self.to_rgb(features, ws[:, 1])


class SynthesisBlock(nn.Module):
    """One doubling: upsampling styled conv, styled conv, ToRGB added to the upsampled image so far.
    Styles: [N, 3, w_dim] for conv0, conv1, ToRGB."""

    def __init__(self, in_channels: int, out_channels: int, image_channels: int, w_dim: int,
                 blur_taps: Sequence[float] = BLUR_TAPS, options: LayerOptions = LayerOptions(), size: int = 8):
        super().__init__()
        self.conv0 = StyledConv(in_channels, out_channels, w_dim, upsample=True, blur_taps=blur_taps,
                                options=options, size=size)
        self.conv1 = StyledConv(out_channels, out_channels, w_dim, options=options, size=size)
        self.to_rgb = ToRGB(out_channels, image_channels, w_dim, options.conv_clamp)
        self.upsample = Upsample2d(blur_taps)

    def forward(self, features: torch.Tensor, image: torch.Tensor, ws: torch.Tensor,
                generator) -> tuple[torch.Tensor, torch.Tensor]:
        """features [N, C_in, H, W], image [N, image_channels, H, W], ws [N, 3, w_dim]
        -> features [N, C_out, 2H, 2W], image [N, image_channels, 2H, 2W]."""
        features = self.conv0(features, ws[:, 0], generator)
        features = self.conv1(features, ws[:, 1], generator)
        return features, self.upsample(image) + self.to_rgb(features, ws[:, 2])


class Generator(LatentGenerator):
    """StyleGAN2's generator: z [N, z_dim] -> ws [N, num_ws, w_dim] -> images [N, image_channels, r, r].

    The published variants' options (off for networks trained here): `conv_clamp` (StyleGAN2-ADA clamps
    every layer's output to +-256), `constant_noise` (stored noise maps, one per layer, for NoiseSource
    "const"), `label_count` (a conditional network: StyleGAN2-ADA's label embedding in the mapping).
    """

    def __init__(self, *, resolution: int, image_channels: int = 3, z_dim: int = 512, w_dim: int = 512,
                 mapping_layers: int = 8, channel_base: int = 32768, channel_max: int = 512,
                 mapping_lr_mul: float = MAPPING_LR_MUL, blur_taps: Sequence[float] = BLUR_TAPS,
                 conv_clamp: float | None = None, constant_noise: bool = False, label_count: int = 0):
        super().__init__()
        self.resolution = check_resolution(resolution)
        self.image_channels, self.z_dim, self.w_dim = image_channels, z_dim, w_dim
        self.label_count = label_count
        self.num_ws = count_ws(resolution)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul, 1.0, scaled_leaky_relu,
                                      label_count)
        widths = block_widths(resolution, channel_base, channel_max)
        options = LayerOptions(conv_clamp, constant_noise)
        self.input_block = InputBlock(widths[0], image_channels, w_dim, options)
        self.blocks = nn.ModuleList([SynthesisBlock(coarser, finer, image_channels, w_dim, blur_taps, options,
                                                    FIRST_RESOLUTION * 2**index)
                                     for index, (coarser, finer) in enumerate(zip(widths, widths[1:]), start=1)])

    def map(self, z: torch.Tensor, truncation: float = 1.0, truncation_cutoff: int | None = None,
            labels: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, z_dim] (and one-hot labels [N, label_count] for a conditional network) -> ws [N, num_ws, w_dim];
        truncation psi < 1 pulls the first `truncation_cutoff` styles (None: all) towards the tracked average:
        w_avg + psi (w - w_avg)."""
        ws = self.mapping(z, labels)[:, None].repeat(1, self.num_ws, 1)
        return self.truncate(ws, truncation, self.num_ws if truncation_cutoff is None else truncation_cutoff)

    def synthesize(self, ws: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0,
                   generator: NoiseSource | torch.Generator | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images [N, image_channels, r, r]. `resolution` must be None or the full
        one and `alpha` is ignored (no progressive growing). Noise comes from `generator` (a torch.Generator
        or a NoiseSource), layer by layer from 4x4 up. See the module docstring for which style each layer
        takes."""
        refuse_stage(self.resolution, resolution)
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}] (got {list(ws.shape)})")
        features, image = self.input_block(ws[:, :2], generator)  # [N, C, 4, 4], [N, image_channels, 4, 4]
        for index, block in enumerate(self.blocks, start=1):
            features, image = block(features, image, ws[:, 2 * index - 1:2 * index + 2], generator)
        return image


# ---------------------------------------------------------------------------------------------------
# Discriminator
# ---------------------------------------------------------------------------------------------------

class DiscriminatorBlock(nn.Module):
    """Residual block, [N, C_in, H, W] -> [N, C_out, H/2, W/2]: (residual + skip) * sqrt(0.5), where
    residual = 3x3 conv, blur, stride-2 3x3 conv (each with the scaled leaky ReLU) and
    skip = FIR downsampling, 1x1 conv without bias or activation."""

    def __init__(self, in_channels: int, out_channels: int, blur_taps: Sequence[float] = BLUR_TAPS):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        # Padded so that the blur and an unpadded stride-2 3x3 conv halve the size exactly.
        excess = len(blur_taps) - 2
        self.blur = Blur(blur_taps, padding=((excess + 1) // 2 + 1, excess // 2 + 1))
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, stride=2, padding=0)
        self.skip_downsample = Downsample2d(blur_taps)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[N, C_in, H, W] -> [N, C_out, H/2, W/2]."""
        residual = scaled_leaky_relu(self.conv0(features))
        residual = scaled_leaky_relu(self.conv1(self.blur(residual)))
        skip = self.skip(self.skip_downsample(features))
        return (residual + skip) * RESIDUAL_GAIN


class DiscriminatorEpilogue(nn.Module):
    """4x4: minibatch stddev, 3x3 conv, dense (C * 4 * 4 -> C), dense to one score."""

    def __init__(self, channels: int, mbstd_group_size: int = 4, mbstd_channels: int = 1):
        super().__init__()
        self.stddev = MinibatchStdDev(mbstd_group_size, mbstd_channels)
        self.conv = EqualConv2d(channels + mbstd_channels, channels, 3)
        self.dense = EqualLinear(channels * FIRST_RESOLUTION * FIRST_RESOLUTION, channels)
        self.output = EqualLinear(channels, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[N, C, 4, 4] -> scores [N]."""
        features = scaled_leaky_relu(self.conv(self.stddev(features)))  # [N, C, 4, 4]
        features = scaled_leaky_relu(self.dense(features.flatten(1)))  # [N, C]
        return self.output(features)[:, 0]


class Discriminator(nn.Module):
    """StyleGAN2's residual discriminator: images [N, image_channels, r, r] -> scores [N]."""

    def __init__(self, *, resolution: int, image_channels: int = 3, channel_base: int = 32768,
                 channel_max: int = 512, mbstd_group_size: int = 4, mbstd_channels: int = 1,
                 blur_taps: Sequence[float] = BLUR_TAPS):
        super().__init__()
        self.resolution = check_resolution(resolution)
        self.image_channels = image_channels
        widths = block_widths(resolution, channel_base, channel_max)[::-1]  # resolution, ..., 8, 4
        self.from_rgb = EqualConv2d(image_channels, widths[0], 1)
        self.blocks = nn.ModuleList([DiscriminatorBlock(finer, coarser, blur_taps)
                                     for finer, coarser in zip(widths, widths[1:])])
        self.epilogue = DiscriminatorEpilogue(widths[-1], mbstd_group_size, mbstd_channels)

    def forward(self, images: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        """images [N, image_channels, r, r] -> scores [N]; `resolution` must be None or the full one, `alpha`
        is ignored."""
        refuse_stage(self.resolution, resolution)
        expected = (self.image_channels, self.resolution, self.resolution)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f"images must be [N, {', '.join(map(str, expected))}] (got {list(images.shape)})")
        features = scaled_leaky_relu(self.from_rgb(images))  # [N, C, r, r]
        for block in self.blocks:
            features = block(features)
        return self.epilogue(features)
