"""Images from a trained multi-image GAN, one per seed.

A seed names a latent z and, unless `noise_seed` fixes them, the noise inputs of the synthesis too, so each
image depends on its seed alone, on every device; how it draws them (ours, or NVlabs' way, stored or no noise,
the class of a conditional network) is the task's `Draws` (tasks.gan.draws).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from singan.device import module_device
from singan.errors import ConfigError
from singan.memory import check_fits, float_images_bytes
from singan.seeds import check_seeds
from tasks.gan.draws import Draws, map_latents

# psi: 1 leaves w as it is, 0 gives the average image; above 1 exaggerates (StyleGAN's truncation trick).
TRUNCATION_RANGE = (0.0, 2.0)


def latent(seed: int, z_dim: int, device: torch.device | str = "cpu", draws: Draws = Draws()) -> torch.Tensor:
    """The latent z [1, z_dim] of a seed: standard normal drawn on the CPU as `draws` says, then moved."""
    return draws.latent(seed, z_dim, device)


def check_truncation(generator: nn.Module, truncation: float, truncation_cutoff: int | None = None) -> None:
    """psi within TRUNCATION_RANGE, and only for a generator that tracks the average w (not pggan)."""
    low, high = TRUNCATION_RANGE
    if not low <= truncation <= high:
        raise ConfigError(f"--trunc must be from {low:g} to {high:g} (got {truncation})")
    if truncation != 1 and getattr(generator, "w_avg", None) is None:
        raise ConfigError(f"--trunc {truncation:g}: this generator has no mapping network and no average w "
                          f"to truncate towards (pggan); use --trunc 1")
    if truncation_cutoff is not None and not 1 <= truncation_cutoff <= generator.num_ws:
        raise ConfigError(f"--trunc-cutoff must be from 1 to {generator.num_ws}, the generator's style layers "
                          f"(got {truncation_cutoff})")


def check_images_fit(generator: nn.Module, count: int, copies: int, what: str, advice: str) -> None:
    """Refuse a task that keeps `copies` of `count` generated images at once (a grid, a video's frames)
    beyond what the generator's device can hold."""
    size = generator.resolution
    check_fits(copies * float_images_bytes(count, generator.image_channels, size, size), what, advice,
               module_device(generator))


def render(generator: nn.Module, ws: torch.Tensor, noise_seed: int, draws: Draws = Draws()) -> torch.Tensor:
    """The images of styles ws [N, num_ws, w_dim], their noise inputs as `draws` says, named by noise_seed."""
    return generator.synthesize(ws, generator=draws.noise_source(noise_seed, generator.z_dim))


def styles(generator: nn.Module, seed: int, truncation: float = 1.0, truncation_cutoff: int | None = None,
           draws: Draws = Draws()) -> torch.Tensor:
    """The styles ws [1, num_ws, w_dim] of a seed."""
    z = latent(seed, generator.z_dim, module_device(generator), draws)
    return map_latents(generator, z, draws, truncation, truncation_cutoff)


@torch.no_grad()
def generated_images(generator: nn.Module, seeds: Sequence[int], *, truncation: float = 1.0,
                     truncation_cutoff: int | None = None, noise_seed: int | None = None,
                     draws: Draws = Draws()) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (seed, image [1, C, R, R]) per seed; the noise inputs come from the seed, or all from `noise_seed`.

    One image per synthesis call: the noise of a batch comes from one torch.Generator, so batching would
    make an image depend on its neighbours in the batch.
    """
    check_seeds(seeds)
    check_truncation(generator, truncation, truncation_cutoff)
    draws.check(generator, list(seeds) + ([] if noise_seed is None else [noise_seed]))
    for seed in seeds:
        ws = styles(generator, seed, truncation, truncation_cutoff, draws)
        yield seed, render(generator, ws, seed if noise_seed is None else noise_seed, draws)

