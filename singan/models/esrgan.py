"""The ESRGAN family's generators: RRDBNet (ESRGAN, Real-ESRGAN and its x2/x1 "plus" models), SRVGGNetCompact
(Real-ESRGAN's small general and anime-video models), the SRGAN paper's SRResNet and BasicSR's MSRResNet.

Layer names follow BasicSR's (`conv_first`, `body.i.rdb1.conv1`, `conv_body`, `conv_up1`, ...), so that a
BasicSR or Real-ESRGAN state dict loads as it is; the older ESRGAN layouts are renamed to these by
`singan.models.esrgan_layouts`. The networks take and return images in [0, 1], as the published weights do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.2
# Both residual levels of RRDB scale their branch by this before adding it (ESRGAN's residual scaling).
RESIDUAL_SCALE = 0.2
# Dense convolutions start as Kaiming-normal weights times this (ESRGAN's small initialisation).
DENSE_INIT_SCALE = 0.1
RRDB_SCALES = (1, 2, 4)
# The x2 and x1 models see their input pixel-unshuffled by this factor (Real-ESRGAN x2plus).
UNSHUFFLE = {1: 4, 2: 2, 4: 1}


def _activate(features: torch.Tensor) -> torch.Tensor:
    # In place when no gradient is kept (upscaling): the full-resolution maps are the largest tensors.
    return F.leaky_relu(features, LEAKY_SLOPE, inplace=not torch.is_grad_enabled())


def _small_kaiming(module: nn.Module) -> None:
    """Kaiming-normal weights times DENSE_INIT_SCALE and zero biases, for every conv in `module`."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight)
            layer.weight.data.mul_(DENSE_INIT_SCALE)
            nn.init.zeros_(layer.bias)


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, the k-th seeing the input and every earlier output (densely connected); the fifth
    maps back to `features` channels and is added, scaled, to the input."""

    def __init__(self, features: int = 64, growth: int = 32):
        super().__init__()
        for index in range(1, 6):
            width_in = features + (index - 1) * growth
            width_out = growth if index < 5 else features
            setattr(self, f"conv{index}", nn.Conv2d(width_in, width_out, 3, padding=1))
        _small_kaiming(self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        seen = [features]
        for index in range(1, 5):
            seen.append(_activate(getattr(self, f"conv{index}")(torch.cat(seen, dim=1))))
        return features + RESIDUAL_SCALE * self.conv5(torch.cat(seen, dim=1))


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, their output scaled and added to the input."""

    def __init__(self, features: int = 64, growth: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(features, growth)
        self.rdb2 = ResidualDenseBlock(features, growth)
        self.rdb3 = ResidualDenseBlock(features, growth)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features + RESIDUAL_SCALE * self.rdb3(self.rdb2(self.rdb1(features)))


class RRDBNet(nn.Module):
    """ESRGAN's generator: a first conv, `blocks` RRDBs and a conv (a long skip around them), two nearest x2
    upsamplings with a conv each, an HR conv and the last conv. For `scale` 2 or 1 the input is
    pixel-unshuffled first (by 2 or 4), so the network's own upsampling is always x4."""

    def __init__(self, scale: int = 4, image_channels: int = 3, features: int = 64, blocks: int = 23,
                 growth: int = 32):
        super().__init__()
        if scale not in RRDB_SCALES:
            raise ValueError(f"RRDBNet scales are {RRDB_SCALES}, not {scale}")
        self.scale, self.image_channels = scale, image_channels
        self.unshuffle = UNSHUFFLE[scale]
        self.conv_first = nn.Conv2d(image_channels * self.unshuffle**2, features, 3, padding=1)
        self.body = nn.Sequential(*(RRDB(features, growth) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(features, features, 3, padding=1)
        self.conv_up1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv_up2 = nn.Conv2d(features, features, 3, padding=1)
        self.conv_hr = nn.Conv2d(features, features, 3, padding=1)
        self.conv_last = nn.Conv2d(features, image_channels, 3, padding=1)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (the pixel-unshuffle factor)."""
        return self.unshuffle

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            images = F.pixel_unshuffle(images, self.unshuffle)
        features = self.conv_first(images)
        features = features + self.conv_body(self.body(features))
        for conv in (self.conv_up1, self.conv_up2):
            features = _activate(conv(F.interpolate(features, scale_factor=2, mode="nearest")))
        return self.conv_last(_activate(self.conv_hr(features)))


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact model: convs with PReLU at the input's size, a conv to `scale`^2 sub-pixels per
    channel and a pixel shuffle, plus the nearest-upsampled input (the network learns the residual).

    `body` alternates convs (even indices) and PReLUs (odd), as the published files name them."""

    multiple = 1

    def __init__(self, scale: int = 4, image_channels: int = 3, features: int = 64, convs: int = 16):
        super().__init__()
        self.scale, self.image_channels = scale, image_channels
        layers: list[nn.Module] = [nn.Conv2d(image_channels, features, 3, padding=1), nn.PReLU(features)]
        for _ in range(convs):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.PReLU(features)]
        layers.append(nn.Conv2d(features, image_channels * scale**2, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        detail = F.pixel_shuffle(self.body(images), self.scale)
        return detail + F.interpolate(images, scale_factor=self.scale, mode="nearest")


class ResidualBlock(nn.Module):
    """SRResNet's block: conv, batch norm, PReLU, conv, batch norm, added to the input; without batch norm
    (MSRResNet's) conv, ReLU, conv."""

    def __init__(self, features: int, batch_norm: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        if batch_norm:
            self.bn1, self.bn2, self.prelu = nn.BatchNorm2d(features), nn.BatchNorm2d(features), nn.PReLU(features)
        self.batch_norm = batch_norm

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.batch_norm:
            return features + self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(features)))))
        return features + self.conv2(F.relu(self.conv1(features)))


def _upsampling_steps(scale: int) -> list[int]:
    if scale not in (2, 3, 4):
        raise ValueError(f"SRResNet scales are 2, 3 and 4, not {scale}")
    return [3] if scale == 3 else [2] * (scale // 2)


class SRResNet(nn.Module):
    """The SRGAN paper's generator: a 9x9 conv with PReLU, residual blocks with batch norm, a conv with batch
    norm and a long skip, pixel-shuffle x2 steps (x3 for scale 3) with PReLU, a 9x9 conv."""

    multiple = 1

    def __init__(self, scale: int = 4, image_channels: int = 3, features: int = 64, blocks: int = 16):
        super().__init__()
        self.scale, self.image_channels, self.steps = scale, image_channels, _upsampling_steps(scale)
        self.conv_first = nn.Conv2d(image_channels, features, 9, padding=4)
        self.prelu_first = nn.PReLU(features)
        self.body = nn.Sequential(*(ResidualBlock(features, batch_norm=True) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(features, features, 3, padding=1)
        self.bn_body = nn.BatchNorm2d(features)
        self.upsample = nn.ModuleList(nn.Conv2d(features, features * step**2, 3, padding=1) for step in self.steps)
        self.prelu_up = nn.ModuleList(nn.PReLU(features) for _ in self.steps)
        self.conv_last = nn.Conv2d(features, image_channels, 9, padding=4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        first = self.prelu_first(self.conv_first(images))
        features = first + self.bn_body(self.conv_body(self.body(first)))
        for conv, activation, step in zip(self.upsample, self.prelu_up, self.steps):
            features = activation(F.pixel_shuffle(conv(features), step))
        return self.conv_last(features)


class MSRResNet(nn.Module):
    """BasicSR's modified SRResNet: no batch norm, LeakyReLU 0.1, residual blocks without a long-skip conv,
    pixel-shuffle steps, an HR conv and the last conv, plus the bilinearly upsampled input (BasicSR's names:
    `upconv1`, `upconv2`)."""

    multiple = 1

    def __init__(self, scale: int = 4, image_channels: int = 3, features: int = 64, blocks: int = 16):
        super().__init__()
        self.scale, self.image_channels, self.steps = scale, image_channels, _upsampling_steps(scale)
        self.conv_first = nn.Conv2d(image_channels, features, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(features, batch_norm=False) for _ in range(blocks)))
        for index, step in enumerate(self.steps, start=1):
            setattr(self, f"upconv{index}", nn.Conv2d(features, features * step**2, 3, padding=1))
        self.conv_hr = nn.Conv2d(features, features, 3, padding=1)
        self.conv_last = nn.Conv2d(features, image_channels, 3, padding=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.body(F.leaky_relu(self.conv_first(images), 0.1))
        for index, step in enumerate(self.steps, start=1):
            features = F.leaky_relu(F.pixel_shuffle(getattr(self, f"upconv{index}")(features), step), 0.1)
        output = self.conv_last(F.leaky_relu(self.conv_hr(features), 0.1))
        return output + F.interpolate(images, scale_factor=self.scale, mode="bilinear", align_corners=False)
