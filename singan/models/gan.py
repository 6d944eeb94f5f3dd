"""What the three multi-image architectures share: building them from a GANConfig, and style mixing."""

from __future__ import annotations

import torch
from torch import nn

from singan.gan_config import GANConfig
from singan.models.latent import LatentGenerator


def _sizes(config: GANConfig) -> dict:
    sizes = {"resolution": config.resolution, "image_channels": config.image_channels, "z_dim": config.z_dim,
             "channel_base": config.channel_base, "channel_max": config.channel_max}
    if config.arch != "pggan":
        sizes.update(w_dim=config.w_dim, mapping_layers=config.mapping_layers)
    return sizes


def build_generator(config: GANConfig) -> nn.Module:
    """The generator of `config.arch`, freshly initialised (seed torch's global state first to fix it)."""
    return _module(config.arch).Generator(**_sizes(config))


def build_discriminator(config: GANConfig) -> nn.Module:
    sizes = {key: value for key, value in _sizes(config).items()
             if key in ("resolution", "image_channels", "channel_base", "channel_max")}
    return _module(config.arch).Discriminator(**sizes)


def _module(arch: str):
    # Imported on demand so that each architecture's file stays independent of the others.
    if arch == "pggan":
        from singan.models import pggan
        return pggan
    if arch == "stylegan":
        from singan.models import stylegan
        return stylegan
    from singan.models import stylegan2
    return stylegan2


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

    def map(self, z: torch.Tensor, truncation: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
        return self.generator.map(z, truncation=truncation, truncation_cutoff=truncation_cutoff)

    def synthesize(self, ws: torch.Tensor, *, resolution: int | None = None, alpha: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator.synthesize(ws, resolution=self.resolution, alpha=self.alpha, generator=generator)

    def update_w_avg(self, ws: torch.Tensor, beta: float = 0.995) -> None:
        self.generator.update_w_avg(ws, beta)
