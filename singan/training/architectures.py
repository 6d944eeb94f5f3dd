"""The multi-image architectures: the one table to extend. Each entry names the architecture's networks,
its training recipe (singan.training.objective) and its published network sizes.

To add an architecture: its networks in singan/models/, its Objective in singan/training/, one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from singan.config.gan import GANConfig
from singan.errors import ConfigError
from singan.memory import FLOAT_BYTES, check_fits
from singan.models import pggan, stylegan, stylegan2
from singan.models.resolutions import block_resolutions, channels_at
from singan.training.objective import Objective
from singan.training.pggan import PGGANObjective
from singan.training.stylegan import StyleGANObjective
from singan.training.stylegan2 import StyleGAN2Objective


@dataclass(frozen=True)
class Architecture:
    generator: type[nn.Module]
    discriminator: type[nn.Module]
    objective: type[Objective]
    # A mapping network from z to styles: --w-dim and --mapping-layers apply.
    style_based: bool
    # The papers' channel base (with z and w of 512 and at most 512 channels).
    paper_channel_base: int


ARCHITECTURES = {
    "pggan": Architecture(pggan.Generator, pggan.Discriminator, PGGANObjective, False, 16384),
    "stylegan": Architecture(stylegan.Generator, stylegan.Discriminator, StyleGANObjective, True, 16384),
    "stylegan2": Architecture(stylegan2.Generator, stylegan2.Discriminator, StyleGAN2Objective, True, 32768),
}


def architecture_of(config: GANConfig) -> Architecture:
    try:
        return ARCHITECTURES[config.arch]
    except (KeyError, TypeError):
        raise ConfigError(f"--arch must be one of {', '.join(ARCHITECTURES)} (got {config.arch!r})") from None


def checked(config: GANConfig) -> GANConfig:
    """The configuration, validated: a known architecture, the shared settings, then that architecture's own."""
    architecture = architecture_of(config)
    config.validate()
    for problem in architecture.objective(config).problems():
        raise ConfigError(problem)
    return config


def objective_of(config: GANConfig, device: torch.device = torch.device("cpu")) -> Objective:
    """The training recipe of the configuration's architecture (its defaults, schedule and losses)."""
    return architecture_of(config).objective(config, device)


def paper_sizes(name: str) -> dict:
    """The published network sizes of an architecture: z and w 512, at most 512 channels, its channel base."""
    return {"z_dim": 512, "w_dim": 512, "channel_max": 512,
            "channel_base": architecture_of(GANConfig(arch=name)).paper_channel_base}


def _network_sizes(config: GANConfig) -> dict:
    """What both networks' constructors take."""
    return {"resolution": config.resolution, "image_channels": config.image_channels,
            "channel_base": config.channel_base, "channel_max": config.channel_max}


def build_generator(config: GANConfig) -> nn.Module:
    """The generator of the configuration's architecture, freshly initialised (seed torch's global state first
    to fix it)."""
    architecture = architecture_of(config)
    sizes = _network_sizes(config) | {"z_dim": config.z_dim}
    if architecture.style_based:
        sizes |= {"w_dim": config.w_dim, "mapping_layers": config.mapping_layers}
    return architecture.generator(**sizes)


def build_discriminator(config: GANConfig) -> nn.Module:
    return architecture_of(config).discriminator(**_network_sizes(config))


# What one training step keeps at the least, per image and per element of every block's feature maps: 8
# floats (a few saved tensors per layer of each network, for the backward passes). Measured on a CPU at
# 64 px: 43 (pggan) to 72 (stylegan) floats, so a request refused for it is clearly impossible, not tight;
# StyleGAN2 at 1024 px with the papers' sizes counts about 2 GB per image.
ACTIVATION_BYTES = 8 * FLOAT_BYTES
# Weights, gradients and Adam's two moments of both trained networks.
TRAINED_COPIES = 4


def training_memory_bytes(config: GANConfig, local_batch: int) -> int:
    """A low estimate of what training the configuration takes on one process with `local_batch` images:
    the networks' weights and optimiser state, and the activations of one step."""
    features = sum(channels_at(size, config.channel_base, config.channel_max) * size * size
                   for size in block_resolutions(config.resolution))
    # Built on the meta device: the parameters are counted without allocating them.
    with torch.device("meta"):
        generator, discriminator = build_generator(config), build_discriminator(config)
    generator_weights, discriminator_weights = _parameter_count(generator), _parameter_count(discriminator)
    # The generator's moving average is one more copy of its weights.
    weights = TRAINED_COPIES * (generator_weights + discriminator_weights) + generator_weights
    return FLOAT_BYTES * weights + local_batch * features * ACTIVATION_BYTES


def check_training_fits(config: GANConfig, processes: int, device: torch.device) -> None:
    """Refuse, before the data or a network is loaded, a batch or network size the device cannot hold."""
    local_batch = max(1, config.batch // max(1, processes))
    widest = max(channels_at(size, config.channel_base, config.channel_max)
                 for size in block_resolutions(config.resolution))
    share = f", {local_batch} per process" if processes > 1 else ""
    check_fits(training_memory_bytes(config, local_batch),
               f"--batch {config.batch}{share} at {config.resolution} px (up to {widest} channels)",
               "lower --batch, or --channel-max or --resolution", device)


def _parameter_count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
