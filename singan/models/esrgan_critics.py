"""The ESRGAN family's discriminators: ESRGAN's VGG-style one (one score per 128 px image) and Real-ESRGAN's
U-Net with spectral norm (one logit per pixel). Layer names follow BasicSR's, so its `*_netD.pth` files
load as they are (spectral norm kept as `weight_orig`, `weight_u`, `weight_v`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

LEAKY_SLOPE = 0.2
VGG_STYLE_INPUT = 128
# Channels of the VGG-style discriminator's five stages; each stage halves the size.
VGG_STYLE_WIDTHS = (1, 2, 4, 8, 8)


class VGGStyleDiscriminator(nn.Module):
    """A 3x3 conv, then per stage a 3x3 conv and a stride-2 4x4 conv with batch norm and LeakyReLU (64 ->
    512 channels), 4x4x512 features, a linear layer to 100 and one to a score."""

    def __init__(self, image_channels: int = 3, features: int = 64, input_size: int = VGG_STYLE_INPUT):
        super().__init__()
        if input_size % 32:
            raise ValueError(f"the VGG-style discriminator takes sides that are multiples of 32, not {input_size}")
        self.input_size = input_size
        widths = [features * factor for factor in VGG_STYLE_WIDTHS]
        previous = image_channels
        for stage, width in enumerate(widths):
            # Stage 0's first conv has a bias and no batch norm, as BasicSR's.
            setattr(self, f"conv{stage}_0", nn.Conv2d(previous, width, 3, padding=1, bias=stage == 0))
            if stage:
                setattr(self, f"bn{stage}_0", nn.BatchNorm2d(width, affine=True))
            setattr(self, f"conv{stage}_1", nn.Conv2d(width, width, 4, stride=2, padding=1, bias=False))
            setattr(self, f"bn{stage}_1", nn.BatchNorm2d(width, affine=True))
            previous = width
        self.stages = len(widths)
        side = input_size // 2**len(widths)
        self.linear1 = nn.Linear(widths[-1] * side * side, 100)
        self.linear2 = nn.Linear(100, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"the VGG-style discriminator takes {self.input_size} px images, "
                             f"not {tuple(images.shape[-2:])}")
        features = images
        for stage in range(self.stages):
            features = getattr(self, f"conv{stage}_0")(features)
            if stage:
                features = getattr(self, f"bn{stage}_0")(features)
            features = F.leaky_relu(features, LEAKY_SLOPE)
            features = F.leaky_relu(getattr(self, f"bn{stage}_1")(getattr(self, f"conv{stage}_1")(features)),
                                    LEAKY_SLOPE)
        features = F.leaky_relu(self.linear1(features.flatten(1)), LEAKY_SLOPE)
        return self.linear2(features)


class UNetDiscriminatorSN(nn.Module):
    """Real-ESRGAN's discriminator: a conv, three spectral-norm stride-2 4x4 convs down (64 -> 512), three
    bilinear x2 steps up with spectral-norm convs and skip sums, two more spectral-norm convs and a conv to
    one logit per pixel. Sides must be multiples of 8."""

    multiple = 8

    def __init__(self, image_channels: int = 3, features: int = 64, skip_connection: bool = True):
        super().__init__()
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(image_channels, features, 3, padding=1)
        self.conv1 = spectral_norm(nn.Conv2d(features, features * 2, 4, 2, 1, bias=False))
        self.conv2 = spectral_norm(nn.Conv2d(features * 2, features * 4, 4, 2, 1, bias=False))
        self.conv3 = spectral_norm(nn.Conv2d(features * 4, features * 8, 4, 2, 1, bias=False))
        self.conv4 = spectral_norm(nn.Conv2d(features * 8, features * 4, 3, 1, 1, bias=False))
        self.conv5 = spectral_norm(nn.Conv2d(features * 4, features * 2, 3, 1, 1, bias=False))
        self.conv6 = spectral_norm(nn.Conv2d(features * 2, features, 3, 1, 1, bias=False))
        self.conv7 = spectral_norm(nn.Conv2d(features, features, 3, 1, 1, bias=False))
        self.conv8 = spectral_norm(nn.Conv2d(features, features, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(features, 1, 3, 1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] % self.multiple or images.shape[-2] % self.multiple:
            raise ValueError(f"the U-Net discriminator takes sides that are multiples of {self.multiple}, "
                             f"not {tuple(images.shape[-2:])}")
        down = [F.leaky_relu(self.conv0(images), LEAKY_SLOPE)]
        for conv in (self.conv1, self.conv2, self.conv3):
            down.append(F.leaky_relu(conv(down[-1]), LEAKY_SLOPE))
        features = down[-1]
        for conv, skip in ((self.conv4, down[2]), (self.conv5, down[1]), (self.conv6, down[0])):
            features = F.interpolate(features, scale_factor=2, mode="bilinear", align_corners=False)
            features = F.leaky_relu(conv(features), LEAKY_SLOPE)
            if self.skip_connection:
                features = features + skip
        features = F.leaky_relu(self.conv7(features), LEAKY_SLOPE)
        features = F.leaky_relu(self.conv8(features), LEAKY_SLOPE)
        return self.conv9(features)
