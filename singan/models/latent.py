"""What the multi-image generators share: z -> styles ws -> images, truncation towards a tracked mean w, style
mixing, and holding a progressively grown generator at the stage its training reached."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from singan.errors import ConfigError
from singan.nn.layers import EqualLinear, pixel_norm


class MappingNetwork(nn.Module):
    """z [N, z_dim] -> pixel norm -> `layers` dense layers (learning rate x lr_mul), each followed by
    `activation` -> w [N, w_dim]. StyleGAN puts the sqrt(2) gain in the layers (`gain`) and uses a plain
    leaky ReLU; StyleGAN2 keeps unit-gain layers and scales the activation instead.

    A conditional network (`label_count` classes, StyleGAN2-ADA) embeds the one-hot label with a plain dense
    layer to w_dim features, normalises them as z, and feeds both, side by side, to the first layer.
    """

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float, gain: float,
                 activation: Callable[[torch.Tensor], torch.Tensor], label_count: int = 0):
        super().__init__()
        self.label_count = label_count
        self.embed = EqualLinear(label_count, w_dim) if label_count else None
        sizes = [z_dim + (w_dim if label_count else 0)] + [w_dim] * layers
        self.layers = nn.ModuleList([EqualLinear(in_size, out_size, lr_mul=lr_mul, gain=gain)
                                     for in_size, out_size in zip(sizes, sizes[1:])])
        self.activation = activation

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """[N, z_dim] (and one-hot labels [N, label_count] for a conditional network) -> [N, w_dim]."""
        features = pixel_norm(z)
        if self.embed is not None:
            features = torch.cat([features, pixel_norm(self.embed(check_labels(labels, self.label_count, z)))], 1)
        elif labels is not None:
            raise ConfigError("--class: this network is not conditional; leave --class out")
        for layer in self.layers:
            features = self.activation(layer(features))
        return features


def check_labels(labels: torch.Tensor | None, label_count: int, z: torch.Tensor) -> torch.Tensor:
    """The labels [N, label_count] a conditional network needs, one per latent."""
    if labels is None:
        raise ConfigError(f"this network is conditional ({label_count} classes): give --class 0 to "
                          f"{label_count - 1}")
    if labels.shape != (len(z), label_count):
        raise ValueError(f"labels must be [{len(z)}, {label_count}] (got {list(labels.shape)})")
    return labels.to(z)


class LatentGenerator(nn.Module):
    """A generator with `map(z, truncation, truncation_cutoff, labels) -> ws [N, num_ws, w_dim]` and
    `synthesize(ws, *, resolution, alpha, generator) -> images`; subclasses set num_ws, w_dim and w_avg.
    `label_count` > 0: a conditional network, whose map needs one-hot labels; `generator` is a torch.Generator
    or a singan.nn.layers.NoiseSource (random, stored or no noise)."""

    label_count = 0

    def forward(self, z: torch.Tensor, *, truncation: float = 1.0, resolution: int | None = None,
                alpha: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """z [N, z_dim] -> images [N, image_channels, r, r]."""
        return self.synthesize(self.map(z, truncation), resolution=resolution, alpha=alpha, generator=generator)

    def truncate(self, ws: torch.Tensor, truncation: float, cutoff: int) -> torch.Tensor:
        """The truncation trick: w_avg + psi (w - w_avg) on the styles below layer `cutoff`."""
        if truncation == 1.0:
            return ws
        layers = torch.arange(self.num_ws, device=ws.device)[None, :, None]
        return torch.where(layers < cutoff, torch.lerp(self.w_avg.expand_as(ws), ws, truncation), ws)

    @torch.no_grad()
    def update_w_avg(self, ws: torch.Tensor, beta: float = 0.995) -> None:
        """Move the tracked average w towards this batch's mean: w_avg = lerp(mean, w_avg, beta).

        ws: [N, num_ws, w_dim] (averaged over the batch and the layers) or [N, w_dim].
        """
        self.w_avg.copy_(torch.lerp(ws.reshape(-1, self.w_dim).mean(0), self.w_avg, beta))


def mix_styles(ws_first: torch.Tensor, ws_second: torch.Tensor, crossover: int) -> torch.Tensor:
    """Styles [N, num_ws, w_dim] from the first latent before layer `crossover` and the second from it on."""
    layers = torch.arange(ws_first.shape[1], device=ws_first.device)[None, :, None]
    return torch.where(layers < crossover, ws_first, ws_second)


class StagedGenerator(LatentGenerator):
    """A progressively grown generator held at the stage its training reached (its resolution and fade-in),
    with the common generator interface, so tasks can use a run that stopped before the target resolution."""

    def __init__(self, generator: nn.Module, resolution: int, alpha: float):
        super().__init__()
        self.generator = generator
        self.resolution, self.alpha = resolution, alpha
        self.image_channels, self.z_dim, self.num_ws = generator.image_channels, generator.z_dim, generator.num_ws
        self.w_dim = getattr(generator, "w_dim", generator.z_dim)

    @property
    def w_avg(self):
        return self.generator.w_avg

    @property
    def label_count(self) -> int:
        return getattr(self.generator, "label_count", 0)

    def map(self, z: torch.Tensor, truncation: float = 1.0, truncation_cutoff: int | None = None,
            labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator.map(z, truncation=truncation, truncation_cutoff=truncation_cutoff, labels=labels)

    def synthesize(self, ws: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator.synthesize(ws, resolution=self.resolution, alpha=self.alpha, generator=generator)

    def update_w_avg(self, ws: torch.Tensor, beta: float = 0.995) -> None:
        self.generator.update_w_avg(ws, beta)
