"""The one seed policy: where seeds come from, how one is turned into random draws, and which seeds are valid.

- A run's seed is the one given, or one drawn here at random; either way it is recorded in run.json.
- Every draw a task's seed names (sample noise, walks, injections, latents, noise inputs) comes from a
  CPU generator and is then moved to the device, so a seed names the same picture on every device.
- Imported networks draw z as NVlabs' scripts do ("nvlabs" seed compatibility): numpy's
  RandomState(seed).randn(1, z_dim), so that seed N gives the image the original code gives for seed N.
- Training draws on its own device (speed matters there), from seeds derived from the run's seed:
  one per SinGAN scale, one per purpose and process of a multi-image run.
"""

from __future__ import annotations

import secrets

import numpy as np
import torch

from singan.errors import ConfigError

# torch.Generator takes seeds below 2**64; run.json and the CLI keep them below 2**63 (signed 64 bits).
SEED_LIMIT = 2**63
# Seeds drawn for the user: short enough to read off run.json and type back.
DRAWN_SEED_LIMIT = 2**31
_CPU = torch.device("cpu")


def resolve_seed(seed: int | None) -> int:
    """The given seed, or a fresh random one."""
    return seed if seed is not None else secrets.randbelow(DRAWN_SEED_LIMIT)


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    """A seeded random source on `device`, so results never depend on torch's global state."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def output_generator(seed: int) -> torch.Generator:
    """The random source of a task's seed: on the CPU, whatever device the task runs on."""
    return make_generator(_CPU, seed)


# numpy's RandomState takes seeds below 2**32.
NVLABS_SEED_LIMIT = 2**32


def nvlabs_state(seed: int) -> np.random.RandomState:
    """The numpy random source NVlabs' generate scripts make of a seed."""
    return np.random.RandomState(seed)


def nvlabs_latent(seed: int, z_dim: int) -> torch.Tensor:
    """z [1, z_dim] as NVlabs' scripts draw it for a seed: RandomState(seed).randn(1, z_dim), in float32."""
    return torch.from_numpy(nvlabs_state(seed).randn(1, z_dim)).to(torch.float32)


def scale_seed(seed: int, scale: int) -> int:
    """An independent seed per SinGAN scale, so a resumed run trains each scale exactly as an uninterrupted one."""
    return int(np.random.SeedSequence([seed, scale]).generate_state(1, dtype=np.uint64)[0] >> 1)


# Offsets that give each process of a multi-image run, and each purpose, its own stream from the run seed.
RANK_STRIDE = 1_000_003


def stream_seed(seed: int | None, rank: int, offset: int) -> int:
    """The seed of one random stream of a multi-image run: process `rank`, purpose (or position) `offset`."""
    return ((seed or 0) + rank * RANK_STRIDE + offset) % SEED_LIMIT


def check_seeds(seeds, flag: str = "--seeds", least: int = 1) -> None:
    """At least `least` seeds, each an integer in [0, SEED_LIMIT)."""
    if len(seeds) < least:
        raise ConfigError(f"{flag} needs at least {least} seed(s) (got {len(seeds)})")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
            raise ConfigError(f"{flag}: seeds are integers from 0 to 2**63 - 1 (got {seed!r})")
