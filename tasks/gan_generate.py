"""Images from a trained multi-image GAN: one PNG per seed (seed0007.png), and a grid of them.

A seed names a latent z (see `latent`) and, unless `noise_seed` fixes them, the noise inputs of the
synthesis too, so each file depends on its seed alone. Every task on a multi-image generator takes the
generator module itself, any with the multi-image Generator interface (map, synthesize, z_dim, num_ws,
w_avg, image_channels, resolution; see singan/models): loading runs is not a task's business.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from singan.device import make_generator
from singan.errors import ConfigError
from singan.images import image_grid, save_image

# psi: 1 leaves w as it is, 0 gives the average image; above 1 exaggerates (StyleGAN's truncation trick).
TRUNCATION_RANGE = (0.0, 2.0)
GRID_FILE = "grid.png"
SEED_LIMIT = 2**63


def latent(seed: int, z_dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The latent z [1, z_dim] of a seed: standard normal from a torch.Generator seeded with it.

    Drawn on the CPU and then moved, so that a seed names the same z on every device.
    """
    return torch.randn(1, z_dim, generator=make_generator(torch.device("cpu"), seed)).to(device)


def module_device(module: nn.Module) -> torch.device:
    """Where the module's weights are (the CPU for a module without any)."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device("cpu")


def check_seeds(seeds: Sequence[int], flag: str = "--seeds", least: int = 1) -> None:
    if len(seeds) < least:
        raise ConfigError(f"{flag} needs at least {least} seed(s) (got {len(seeds)})")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
            raise ConfigError(f"{flag}: seeds are integers from 0 to 2**63 - 1 (got {seed!r})")


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


def render(generator: nn.Module, ws: torch.Tensor, noise_seed: int) -> torch.Tensor:
    """The images of styles ws [N, num_ws, w_dim], their noise inputs drawn from a generator seeded with noise_seed."""
    return generator.synthesize(ws, generator=make_generator(module_device(generator), noise_seed))


def styles(generator: nn.Module, seed: int, truncation: float = 1.0,
           truncation_cutoff: int | None = None) -> torch.Tensor:
    """The styles ws [1, num_ws, w_dim] of a seed."""
    z = latent(seed, generator.z_dim, module_device(generator))
    return generator.map(z, truncation=truncation, truncation_cutoff=truncation_cutoff)


@torch.no_grad()
def generated_images(generator: nn.Module, seeds: Sequence[int], *, truncation: float = 1.0,
                     truncation_cutoff: int | None = None,
                     noise_seed: int | None = None) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (seed, image [1, C, R, R]) per seed; the noise inputs come from the seed, or all from `noise_seed`.

    One image per synthesis call: the noise of a batch comes from one torch.Generator, so batching would
    make an image depend on its neighbours in the batch.
    """
    check_seeds(seeds)
    check_truncation(generator, truncation, truncation_cutoff)
    for seed in seeds:
        ws = styles(generator, seed, truncation, truncation_cutoff)
        yield seed, render(generator, ws, seed if noise_seed is None else noise_seed)


def generate_images(generator: nn.Module, seeds: Sequence[int], out: str | Path, *, truncation: float = 1.0,
                    truncation_cutoff: int | None = None, grid: bool = False,
                    noise_seed: int | None = None) -> list[Path]:
    """Write <out>/seed0007.png per seed, and <out>/grid.png of them all when `grid`; returns the paths."""
    if noise_seed is not None:
        check_seeds([noise_seed], "--noise-seed")
    folder, written, images = Path(out), [], []
    for seed, image in generated_images(generator, seeds, truncation=truncation,
                                        truncation_cutoff=truncation_cutoff, noise_seed=noise_seed):
        written.append(folder / f"seed{seed:04d}.png")
        save_image(written[-1], image)
        if grid:
            images.append(image)
    if grid:
        written.append(folder / GRID_FILE)
        save_image(written[-1], image_grid(torch.cat(images)))
    return written
