"""PGGAN (Karras et al. 2018): a generator and a discriminator that grow from 4x4, one resolution at a time.

Equalized learning rate everywhere (weights N(0, 1), scaled at run time by gain / sqrt(fan_in): gain sqrt(2)
before a LeakyReLU(0.2), 1 for the output layers); pixel norm on z and after every generator convolution;
nearest-neighbour upsampling and average-pool downsampling; minibatch standard deviation in the
discriminator's last block. While a new resolution fades in (alpha 0 -> 1), both networks blend it with the
previous one. The progressive helpers here are shared with StyleGAN v1 (`singan.models.stylegan`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from singan.errors import ConfigError
from singan.models.latent import LatentGenerator
from singan.models.resolutions import FIRST_RESOLUTION, block_widths, check_alpha, check_resolution, stage_index
from singan.nn.layers import Blur, EqualConv2d, EqualLinear, MinibatchStdDev, pixel_norm

LEAKY_SLOPE = 0.2
# He initialisation's gain for the layers followed by a LeakyReLU; output layers use 1.
ACTIVATION_GAIN = math.sqrt(2)


def upsample(images: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x: [N, C, H, W] -> [N, C, 2H, 2W]."""
    return F.interpolate(images, scale_factor=2, mode="nearest")


def activate(features: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(features, LEAKY_SLOPE)


class FirstBlock(nn.Module):
    """4x4: z as a 1x1 map through a dense layer to 4x4 (the paper's 4x4 transposed conv), then a 3x3 conv."""

    def __init__(self, z_dim: int, channels: int):
        super().__init__()
        # gain sqrt(2) / 4 as the official code (it matches the original Theano release's initialisation).
        self.dense = EqualLinear(z_dim, channels * FIRST_RESOLUTION**2, gain=ACTIVATION_GAIN / 4)
        self.conv = EqualConv2d(channels, channels, 3, gain=ACTIVATION_GAIN)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """[N, z_dim] -> [N, C, 4, 4]."""
        features = self.dense(latents).view(len(latents), -1, FIRST_RESOLUTION, FIRST_RESOLUTION)
        features = pixel_norm(activate(features))
        return pixel_norm(activate(self.conv(features)))


class GrowBlock(nn.Module):
    """One doubling of the generator: nearest upsample, then two 3x3 convs, each with LeakyReLU and pixel norm."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, out_channels, 3, gain=ACTIVATION_GAIN)
        self.conv1 = EqualConv2d(out_channels, out_channels, 3, gain=ACTIVATION_GAIN)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[N, C_in, H, W] -> [N, C_out, 2H, 2W]."""
        features = pixel_norm(activate(self.conv0(upsample(features))))
        return pixel_norm(activate(self.conv1(features)))


class Generator(LatentGenerator):
    """PGGAN's generator: z [N, z_dim] -> images [N, C, r, r] at the training stage's resolution r."""

    def __init__(self, *, resolution: int, image_channels: int = 3, z_dim: int = 512, channel_base: int = 16384,
                 channel_max: int = 512):
        super().__init__()
        self.resolution = check_resolution(resolution)
        self.image_channels = image_channels
        self.z_dim = self.w_dim = z_dim
        self.num_ws = 1
        # No mapping network, so no average w to truncate towards.
        self.register_buffer("w_avg", None)
        widths = block_widths(resolution, channel_base, channel_max)
        self.input_block = FirstBlock(z_dim, widths[0])
        self.blocks = nn.ModuleList([GrowBlock(coarser, finer) for coarser, finer in zip(widths, widths[1:])])
        self.to_rgb = nn.ModuleList([EqualConv2d(width, image_channels, 1) for width in widths])

    def map(self, z: torch.Tensor, truncation: float = 1.0, truncation_cutoff: int | None = None,
            labels: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, z_dim] -> ws [N, 1, z_dim]: the pixel-normalised latent (the paper's latent normalisation)."""
        if labels is not None:
            raise ConfigError("--class: this network is not conditional; leave --class out")
        if truncation != 1.0:
            raise ConfigError(f"pggan has no truncation trick: --trunc must be 1 (got {truncation})")
        return pixel_norm(z)[:, None]

    def synthesize(self, ws: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """ws [N, 1, z_dim] -> images [N, C, r, r] from the blocks up to the stage `resolution` (None = full).

        alpha < 1 blends the newest block's image over the previous resolution's, upsampled; PGGAN has no
        noise inputs, so `generator` is unused.
        """
        newest, alpha = stage_index(self.resolution, resolution), check_alpha(alpha)
        features = self.input_block(ws[:, 0])  # [N, C, 4, 4]
        previous = features
        for block in self.blocks[:newest]:
            previous, features = features, block(features)
        images = self.to_rgb[newest](features)
        if newest == 0 or alpha == 1.0:
            return images
        return torch.lerp(upsample(self.to_rgb[newest - 1](previous)), images, alpha)

    def update_w_avg(self, ws: torch.Tensor, beta: float = 0.995) -> None:
        """Nothing to track: PGGAN has no w space."""


class DiscriminatorBlock(nn.Module):
    """One halving of the discriminator: two 3x3 convs with LeakyReLU, then a 2x average pool.

    `blur_taps` blurs between the two convs (StyleGAN v1 blurs before every downsampling).
    """

    def __init__(self, in_channels: int, out_channels: int, blur_taps: tuple[int, ...] | None = None):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3, gain=ACTIVATION_GAIN)
        self.blur = nn.Identity() if blur_taps is None else same_size_blur(blur_taps)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, gain=ACTIVATION_GAIN)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[N, C_in, H, W] -> [N, C_out, H/2, W/2]."""
        features = activate(self.conv0(features))
        features = activate(self.conv1(self.blur(features)))
        return F.avg_pool2d(features, 2)


def same_size_blur(taps: tuple[int, ...]) -> nn.Module:
    """An FIR blur with `taps` that keeps the size (odd tap counts)."""
    return Blur(taps, padding=(len(taps) // 2, len(taps) // 2))


class FinalBlock(nn.Module):
    """4x4: minibatch stddev, a 3x3 conv, a 4x4 conv over the whole map (a dense layer), a linear score."""

    def __init__(self, channels: int, group_size: int, stddev_channels: int):
        super().__init__()
        self.stddev = MinibatchStdDev(group_size, stddev_channels)
        self.conv = EqualConv2d(channels + stddev_channels, channels, 3, gain=ACTIVATION_GAIN)
        self.dense = EqualLinear(channels * FIRST_RESOLUTION**2, channels, gain=ACTIVATION_GAIN)
        self.score = EqualLinear(channels, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[N, C, 4, 4] -> scores [N]."""
        features = activate(self.conv(self.stddev(features)))
        features = activate(self.dense(features.flatten(1)))
        return self.score(features)[:, 0]


class Discriminator(nn.Module):
    """PGGAN's discriminator (critic): images [N, C, r, r] at the training stage's resolution -> scores [N]."""

    def __init__(self, *, resolution: int, image_channels: int = 3, channel_base: int = 16384,
                 channel_max: int = 512, mbstd_group_size: int = 4, mbstd_channels: int = 1,
                 blur_taps: tuple[int, ...] | None = None):
        super().__init__()
        self.resolution = check_resolution(resolution)
        self.image_channels = image_channels
        widths = block_widths(resolution, channel_base, channel_max)
        self.from_rgb = nn.ModuleList([EqualConv2d(image_channels, width, 1, gain=ACTIVATION_GAIN)
                                       for width in widths])
        # blocks[index - 1] takes block `index`'s features [2^(index+2) px] down to the next-coarser block's.
        self.blocks = nn.ModuleList([DiscriminatorBlock(finer, coarser, blur_taps)
                                     for coarser, finer in zip(widths, widths[1:])])
        self.final = FinalBlock(widths[0], mbstd_group_size, mbstd_channels)

    def forward(self, images: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        """images [N, C, r, r] -> scores [N], r the stage `resolution` (None = full).

        alpha < 1 blends the newest block's features over the previous resolution's block fed with the images
        average-pooled 2x (at 4x4 there is nothing to blend, and alpha is ignored).
        """
        newest, alpha = stage_index(self.resolution, resolution), check_alpha(alpha)
        size = FIRST_RESOLUTION * 2**newest
        if images.ndim != 4 or images.shape[-2:] != (size, size):
            raise ValueError(f"discriminator input must be [N, C, {size}, {size}] (got {list(images.shape)})")
        features = self._from_rgb(newest, images)
        for index in range(newest, 0, -1):
            features = self.blocks[index - 1](features)
            if index == newest and alpha < 1.0:
                coarser = self._from_rgb(newest - 1, F.avg_pool2d(images, 2))
                features = torch.lerp(coarser, features, alpha)
        return self.final(features)

    def _from_rgb(self, index: int, images: torch.Tensor) -> torch.Tensor:
        return activate(self.from_rgb[index](images))
