"""Interpolation videos: a closed loop through the latents of a few seeds, as the PGGAN and StyleGAN videos.

Between consecutive seeds the path is spherical in z (where the latents live: a Gaussian's mass lies near
a sphere) and linear in w (the intermediate latent space, which StyleGAN learns to be flat), the two
interpolations of StyleGAN's perceptual path length. Every frame uses the same noise inputs, so that
only the latent moves and nothing flickers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from singan.device import module_device
from singan.errors import ConfigError
from singan.seeds import check_seeds
from tasks.gan.draws import Draws, map_latents
from tasks.gan.generate import check_images_fit, check_truncation, latent, render

SPACES = ("w", "z")
FRAMES = 60
FPS = 30
MAX_FRAMES = 10_000
# Below this sine of the angle between two vectors, the great circle through them is not defined.
PARALLEL_SINE = 1e-6


def lerp(first: torch.Tensor, second: torch.Tensor, t: float) -> torch.Tensor:
    """The straight line: `first` at t = 0, `second` at t = 1."""
    return first + (second - first) * t


def slerp(first: torch.Tensor, second: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation along the last dimension: `first` at t = 0, `second` at t = 1, turning at a
    constant rate through the angle between them (the norm stays 1 between unit vectors).

    Parallel and opposite vectors, which span no unique plane, are interpolated linearly.
    """
    first_unit = first / first.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    second_unit = second / second.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    angle = torch.arccos((first_unit * second_unit).sum(dim=-1, keepdim=True).clamp(-1, 1))
    sine = torch.sin(angle)
    safe_sine = torch.where(sine > PARALLEL_SINE, sine, torch.ones_like(sine))
    spherical = (torch.sin((1 - t) * angle) * first + torch.sin(t * angle) * second) / safe_sine
    return torch.where(sine > PARALLEL_SINE, spherical, lerp(first, second, t))


def default_space(generator: nn.Module) -> str:
    """w for the style-based generators (they have an average w), z for pggan."""
    return "z" if getattr(generator, "w_avg", None) is None else "w"


def loop_positions(count: int, frames: int) -> list[tuple[int, float]]:
    """(segment, t) of each frame of a loop through `count` latents: segment s runs from latent s to latent
    s + 1 (the last back to the first), and the frames split the loop evenly, the first at latent 0."""
    positions = []
    for frame in range(frames):
        segment, remainder = divmod(frame * count, frames)
        positions.append((segment, remainder / frames))
    return positions


def check_interpolation(generator: nn.Module, seeds: Sequence[int], frames: int, space: str,
                        truncation: float) -> None:
    check_seeds(seeds, least=2)
    if not len(seeds) <= frames <= MAX_FRAMES:
        raise ConfigError(f"--frames must be from the number of seeds ({len(seeds)}) to {MAX_FRAMES} (got {frames})")
    if space not in SPACES:
        raise ConfigError(f"--space must be w or z (got {space!r})")
    check_truncation(generator, truncation)
    # Every frame is kept until the video is written.
    check_images_fit(generator, frames, 1, f"--frames {frames} at {generator.resolution} px", "lower --frames")


@torch.no_grad()
def interpolation_frames(generator: nn.Module, seeds: Sequence[int], frames: int = FRAMES, *,
                         space: str | None = None, truncation: float = 1.0,
                         noise_seed: int = 0, draws: Draws = Draws()) -> list[torch.Tensor]:
    """`frames` images [1, C, R, R] along a closed loop through the seeds' latents in order; the frame after
    the last would be the first again. `space` None: w for style-based generators, z for pggan."""
    space = default_space(generator) if space is None else space
    check_interpolation(generator, seeds, frames, space, truncation)
    check_seeds([noise_seed], "--noise-seed")
    draws.check(generator, list(seeds) + [noise_seed])
    latents = [latent(seed, generator.z_dim, module_device(generator), draws) for seed in seeds]
    if space == "w":
        latents = [map_latents(generator, z, draws, truncation) for z in latents]
    images = []
    for segment, t in loop_positions(len(seeds), frames):
        first, second = latents[segment], latents[(segment + 1) % len(seeds)]
        ws = lerp(first, second, t) if space == "w" else map_latents(generator, slerp(first, second, t), draws,
                                                                     truncation)
        images.append(render(generator, ws, noise_seed, draws))
    return images

