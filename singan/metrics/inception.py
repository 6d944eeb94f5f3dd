"""The Inception-v3 that FID tools use, written here so its standard weights load without torchvision.

This is the network behind `pt_inception-2015-12-05-6726825d.pth` (pytorch-fid's port of the TensorFlow
graph of 2015-12-05). It differs from torchvision's ImageNet Inception-v3 in ways that change the
features: the average pools of Mixed_5b-5d, Mixed_6b-6e and Mixed_7b leave padding out of the mean,
Mixed_7c pools its last branch with a max instead of an average, and the classifier has 1008 classes.
The names of parameters and buffers match that file's keys, so it loads strictly. The network only
ever evaluates: batch norms always use their stored statistics and keep no `num_batches_tracked`.

Nothing is ever downloaded: `load_inception` takes a local file and explains what it expects.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from singan.errors import ConfigError, InputImageError
from singan.tensorfile import TensorFileError, compare_tensors, read_tensors

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_INPUT_SIZE = 299
# The smallest side block0 accepts: a 3x3 stride-2 conv, a 3x3 conv, a padded 3x3 conv, a 3x3 stride-2 pool.
BLOCK0_MIN_SIZE = 11
# PyTorch's batch norm counter: not part of the FID file, dropped when a file carries it.
_BATCH_COUNTER_SUFFIX = ".num_batches_tracked"


class FrozenBatchNorm2d(nn.Module):
    """A batch norm that always normalises with its stored statistics (eps 0.001, as in the TF graph).

    Written out instead of nn.BatchNorm2d so that the state dict holds exactly the FID file's four
    tensors per layer, and so that `.train()` cannot make a feature network depend on its batch.
    """

    def __init__(self, channels: int, eps: float = 0.001):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(features, self.running_mean, self.running_var, self.weight, self.bias,
                            training=False, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm, ReLU: the unit every Inception layer is made of."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              bias=False)
        self.bn = FrozenBatchNorm2d(out_channels)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(features)))


def average_pool_3x3() -> nn.Module:
    """The TF graph's branch pool: a padded 3x3 mean that does not count the padding."""
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """Mixed_5b-5d: 1x1, 5x5, double 3x3 and pooled branches at 35x35."""

    def __init__(self, in_channels: int, pool_channels: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.pool = average_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, pool_channels, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        branches = [
            self.branch1x1(features),
            self.branch5x5_2(self.branch5x5_1(features)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(features))),
            self.branch_pool(self.pool(features)),
        ]
        return torch.cat(branches, dim=1)


class InceptionB(nn.Module):
    """Mixed_6a: the stride-2 reduction from 35x35 to 17x17."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        branches = [
            self.branch3x3(features),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(features))),
            F.max_pool2d(features, 3, stride=2),
        ]
        return torch.cat(branches, dim=1)


class InceptionC(nn.Module):
    """Mixed_6b-6e: factorised 7x7 branches (1x7 then 7x1) at 17x17."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        middle = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, middle, 1)
        self.branch7x7_2 = BasicConv2d(middle, middle, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(middle, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, middle, 1)
        self.branch7x7dbl_2 = BasicConv2d(middle, middle, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(middle, middle, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(middle, middle, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(middle, 192, (1, 7), padding=(0, 3))
        self.pool = average_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        double = features
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        branches = [
            self.branch1x1(features),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(features))),
            double,
            self.branch_pool(self.pool(features)),
        ]
        return torch.cat(branches, dim=1)


class InceptionD(nn.Module):
    """Mixed_7a: the stride-2 reduction from 17x17 to 8x8."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        seven = features
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            seven = layer(seven)
        branches = [
            self.branch3x3_2(self.branch3x3_1(features)),
            seven,
            F.max_pool2d(features, 3, stride=2),
        ]
        return torch.cat(branches, dim=1)


class InceptionE(nn.Module):
    """Mixed_7b/7c: split 1x3 / 3x1 branches at 8x8; `max_pool` picks 7c's max-pooled last branch."""

    def __init__(self, in_channels: int, max_pool: bool):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.pool = nn.MaxPool2d(3, stride=1, padding=1) if max_pool else average_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(features)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(features))
        branches = [
            self.branch1x1(features),
            self.branch3x3_2a(single), self.branch3x3_2b(single),
            self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
            self.branch_pool(self.pool(features)),
        ]
        return torch.cat(branches, dim=1)


class InceptionV3(nn.Module):
    """The FID Inception-v3. Inputs are the package's images: [N, 3 or 1, H, W] floats in [-1, 1].

    The FID graph itself expects [-1, 1], so images go in unchanged (grayscale is repeated to RGB).
    """

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_channels=32)
        self.Mixed_5c = InceptionA(256, pool_channels=64)
        self.Mixed_5d = InceptionA(288, pool_channels=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        # The ImageNet classifier: unused for features, kept so the FID file loads strictly.
        self.fc = nn.Linear(2048, 1008)

    def block0(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 64, h, w] features after the first max pool, at the image's own size (what SIFID uses)."""
        images = self._prepare(images)
        if min(images.shape[-2:]) < BLOCK0_MIN_SIZE:
            size = "x".join(str(side) for side in images.shape[-2:])
            raise InputImageError(f"an image of {size} px is too small for Inception features: "
                                  f"both sides must be at least {BLOCK0_MIN_SIZE} px")
        return self._stem(images)

    def pool_features(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 2048] after the final global average pool, from images resized to 299x299 (what FID uses)."""
        images = self._prepare(images)
        images = F.interpolate(images, size=(FID_INPUT_SIZE, FID_INPUT_SIZE), mode="bilinear",
                               align_corners=False)
        features = self._stem(images)
        features = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(features)), 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            features = block(features)
        return torch.flatten(F.adaptive_avg_pool2d(features, 1), 1)

    def _stem(self, images: torch.Tensor) -> torch.Tensor:
        features = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(images)))
        return F.max_pool2d(features, 3, stride=2)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Move images to the network's device and dtype, and make grayscale RGB."""
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images shaped [N, 1 or 3, H, W], got {list(images.shape)}")
        weight = self.Conv2d_1a_3x3.conv.weight
        images = images.to(device=weight.device, dtype=weight.dtype)
        return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def load_inception(path: str | Path, device: torch.device | str = "cpu") -> InceptionV3:
    """The FID Inception-v3 from a local `.pth` or `.safetensors` file, frozen and in eval mode.

    A `.pth` is read with weights_only=True, so a file that would run code when read is refused.
    Any problem with the file is a ConfigError naming the file and the file we expect.
    """
    path = Path(path)
    state = _read_tensors(path)
    network = InceptionV3()
    network.load_state_dict(_matching_state(state, network, path), strict=True)
    network.requires_grad_(False)
    return network.eval().to(device)


def _problem(path: Path, what: str) -> ConfigError:
    return ConfigError(f"--inception-weights {path}: {what}; pass the FID Inception-v3 weights file "
                       f"{FID_WEIGHTS_NAME} (or a .safetensors file with the same tensors)")


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The file's name -> tensor mapping; only plain tensors, never arbitrary objects."""
    try:
        return read_tensors(path)
    except TensorFileError as error:
        raise _problem(path, error.reason) from None


def _matching_state(state: dict[str, torch.Tensor], network: nn.Module, path: Path) -> dict[str, torch.Tensor]:
    """The file's tensors, checked against the network's names and shapes before anything loads."""
    state = {name: value for name, value in state.items() if not name.endswith(_BATCH_COUNTER_SUFFIX)}
    # Any float dtype loads: load_state_dict casts to the network's float32.
    mismatch = compare_tensors(state, network.state_dict(), match_dtype=False)
    if mismatch:
        raise _problem(path, "not the FID Inception-v3: " + mismatch.describe())
    return state
