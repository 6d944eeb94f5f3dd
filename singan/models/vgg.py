"""VGG19's convolutional part, for perceptual losses: the layers named as the papers name them (conv5_4,
relu5_4, ...), laid out as torchvision's `features.N` so the standard ImageNet weights load as they are.

The weights are never downloaded: they come from a local file read through `singan.tensorfile`
(safetensors, or `.pth` with `weights_only=True`), and `vgg_state` keeps the `features.N` tensors of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Convs per block of VGG19 (64, 128, 256, 512, 512 channels).
BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
# What the ImageNet weights expect of an input in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names() -> list[str]:
    """The names of `features`' entries in order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ..."""
    names = []
    for block, (_, convs) in enumerate(BLOCKS, start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return names


NAMES = layer_names()


class VGG19Features(nn.Module):
    """`features` as torchvision lays it out (convs at 0, 2, 5, ...), returning the outputs of `layers`."""

    def __init__(self, layers: tuple[str, ...] = ("conv5_4",), normalize: bool = True):
        super().__init__()
        unknown = [name for name in layers if name not in NAMES]
        if unknown:
            raise ValueError(f"unknown VGG19 layer(s) {', '.join(unknown)}; they are named like conv5_4 or relu5_4")
        self.layers, self.normalize = tuple(layers), normalize
        last = max(NAMES.index(name) for name in layers)
        modules, previous = [], 3
        for name in NAMES[:last + 1]:
            if name.startswith("conv"):
                width = BLOCKS[int(name[4]) - 1][0]
                modules.append(nn.Conv2d(previous, width, 3, padding=1))
                previous = width
            elif name.startswith("relu"):
                modules.append(nn.ReLU())
            else:
                modules.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*modules)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Images in [0, 1], [N, 3, H, W] (grayscale [N, 1, H, W] is repeated) -> {layer: features}."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        features = (images - self.mean) / self.std if self.normalize else images
        found = {}
        for name, module in zip(NAMES, self.features):
            features = module(features)
            if name in self.layers:
                found[name] = features
        return found


def vgg_state(tensors: dict[str, torch.Tensor], model: VGG19Features) -> dict[str, torch.Tensor]:
    """The `features.N` tensors `model` holds, from a torchvision-layout VGG19 state dict (others ignored)."""
    wanted = model.state_dict()
    return {key: tensors[key] for key in wanted if key in tensors}


def perceptual_distance(vgg: VGG19Features, fake: torch.Tensor, real: torch.Tensor,
                        weights: dict[str, float]) -> torch.Tensor:
    """Sum over layers of weight x mean absolute difference of the features (the L1 of ESRGAN)."""
    fake_features, real_features = vgg(fake), vgg(real.detach())
    return sum(weight * F.l1_loss(fake_features[name], real_features[name]) for name, weight in weights.items())
