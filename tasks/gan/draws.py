"""How a seed becomes a generator's inputs: its latent z, its noise inputs, and the class of a conditional
network. Every multi-image task draws through a `Draws`.

- seed_compat "singan" (networks trained here): z from a torch CPU generator seeded with the seed, noise from
  another (singan.seeds); "nvlabs" (imported networks): z = numpy.random.RandomState(seed).randn(1, z_dim), as
  NVlabs' generate scripts draw it, so seed N gives the network's image for seed N there.
- noise "random": fresh noise per image (under nvlabs, drawn from the same RandomState after z, as the TF
  StyleGAN2 `run_generator.py`); "const": the network's stored noise maps (stylegan2-ada-pytorch's default,
  TF's randomize_noise=False), or one fixed draw where a network stores none; "none": no noise.
- label: the class of a conditional network (one-hot), required by it and refused by the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from singan.device import module_device
from singan.errors import ConfigError
from singan.nn.layers import NOISE_MODES, NoiseSource
from singan.seeds import NVLABS_SEED_LIMIT, nvlabs_latent, nvlabs_state, output_generator

SEED_COMPATS = ("singan", "nvlabs")
# The draw that stands in for stored noise maps in networks that have none.
CONST_NOISE_SEED = 0


def check_choices(seed_compat: str | None, noise: str | None) -> None:
    """--seed-compat and --noise, each one of its choices or None (the network's default): checked before a
    network is read, which can take seconds."""
    if seed_compat is not None and seed_compat not in SEED_COMPATS:
        raise ConfigError(f"--seed-compat must be singan or nvlabs (got {seed_compat!r})")
    if noise is not None and noise not in NOISE_MODES:
        raise ConfigError(f"--noise must be one of {', '.join(NOISE_MODES)} (got {noise!r})")


@dataclass(frozen=True)
class Draws:
    seed_compat: str = "singan"
    noise: str = "random"
    label: int | None = None

    def __post_init__(self):
        check_choices(self.seed_compat, self.noise)

    def check(self, generator: nn.Module, seeds) -> None:
        """Refuse, before any work, seeds numpy cannot take and a class the network does not have."""
        if self.seed_compat == "nvlabs" and any(seed >= NVLABS_SEED_LIMIT for seed in seeds):
            raise ConfigError(f"--seed-compat nvlabs: numpy's RandomState takes seeds below 2**32 "
                              f"(got {max(seeds)})")
        count = getattr(generator, "label_count", 0)
        if count and self.label is None:
            raise ConfigError(f"this network is conditional ({count} classes): give --class 0 to {count - 1}")
        if self.label is not None and not count:
            raise ConfigError("--class: this network is not conditional; leave --class out")
        if self.label is not None and not (isinstance(self.label, int) and 0 <= self.label < count):
            raise ConfigError(f"--class must be from 0 to {count - 1} (got {self.label!r})")

    def latent(self, seed: int, z_dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """The latent z [1, z_dim] of a seed, drawn on the CPU and moved to `device`."""
        if self.seed_compat == "nvlabs":
            return nvlabs_latent(seed, z_dim).to(device)
        return torch.randn(1, z_dim, generator=output_generator(seed)).to(device)

    def labels(self, generator: nn.Module, count: int) -> torch.Tensor | None:
        """One-hot labels [count, label_count] of the chosen class, or None for an unconditional network."""
        if self.label is None:
            return None
        labels = torch.zeros(count, generator.label_count, device=module_device(generator))
        labels[:, self.label] = 1
        return labels

    def noise_source(self, noise_seed: int, z_dim: int) -> NoiseSource | torch.Generator:
        """The noise of one synthesis call whose draws the seed `noise_seed` names: a torch.Generator for our
        random noise (what every synthesize takes), else a NoiseSource."""
        if self.noise == "random" and self.seed_compat == "singan":
            return output_generator(noise_seed)
        if self.noise == "random":
            state = nvlabs_state(noise_seed)
            state.randn(1, z_dim)  # z came first from this state, as in the TF script
            return NoiseSource("random", numpy_state=state)
        # Layers without stored maps (networks trained here) get one fixed draw under "const", the same for
        # every image.
        return NoiseSource(self.noise, output_generator(CONST_NOISE_SEED))


def map_latents(generator: nn.Module, z: torch.Tensor, draws: Draws, truncation: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
    """Styles ws [N, num_ws, w_dim] of latents z [N, z_dim], with the draws' class for a conditional network."""
    labels = draws.labels(generator, len(z))
    # Only a conditional network is handed labels, so that any generator with map(z, truncation, cutoff) works.
    conditional = {} if labels is None else {"labels": labels}
    return generator.map(z, truncation=truncation, truncation_cutoff=truncation_cutoff, **conditional)

