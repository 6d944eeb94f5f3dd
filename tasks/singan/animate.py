"""Animation: a random walk in noise space around the reconstruction noise (SinGAN section 4)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from singan.errors import ConfigError
from singan.memory import float_images_bytes
from singan.models.singan import SinGAN
from singan.seeds import output_generator
from tasks.singan.footprint import check_synthesis_fits
from tasks.singan.sample import check_start_scale, default_batch_size

ALPHA = 0.1  # pull towards the reconstruction noise
BETA = 0.9  # momentum of the walk; the original renders 0.80, 0.85, 0.90 and 0.95
START_SCALE = 2
FRAMES = 100
FPS = 10
FIRST_STEP = 0.05  # the walk starts this far from the anchor, as the original


def random_walk(anchor: torch.Tensor, draw, frames: int, alpha: float, beta: float, loop: bool) -> list[torch.Tensor]:
    """Noise maps for `frames` frames around `anchor`; `draw()` gives fresh noise of its shape.

    z_t = alpha * anchor + (1 - alpha) * (z_{t-1} + beta * (z_{t-1} - z_{t-2}) + (1 - beta) * fresh).
    With `loop`, the drift z_T - z_0 is spread evenly over the frames so the last frame leads back to the first.
    """
    before, current = anchor, (1 - FIRST_STEP) * anchor + FIRST_STEP * draw()
    walk = []
    for _ in range(frames + (1 if loop else 0)):
        step = beta * (current - before) + (1 - beta) * draw()
        before, current = current, alpha * anchor + (1 - alpha) * (current + step)
        walk.append(current)
    if loop:
        drift = walk[-1] - walk[0]
        walk = [noise - (index / frames) * drift for index, noise in enumerate(walk[:-1])]
    return walk


def check_walk(frames: int, alpha: float, beta: float) -> None:
    if not 2 <= frames <= 10_000:
        raise ConfigError(f"--frames must be from 2 to 10000 (got {frames})")
    if not 0 <= alpha <= 1:
        raise ConfigError(f"--alpha must be in [0, 1] (got {alpha})")
    if not 0 <= beta < 1:
        raise ConfigError(f"--beta must be in [0, 1) (got {beta})")


def check_animation_fits(model: SinGAN, frames: int, start_scale: int, batch: int) -> None:
    """The walk keeps every frame's noise map of each scale from `start_scale` up, and the frames themselves."""
    walks = sum(float_images_bytes(frames, model.noise_channels(scale), *model.noise_size(model.sizes[scale]))
                for scale in range(start_scale, model.num_scales))
    images = float_images_bytes(frames, model.image_channels, *model.sizes[-1])
    height, width = model.sizes[-1]
    check_synthesis_fits(model, model.sizes, batch, f"--frames {frames} at {height}x{width} px", "lower --frames",
                         extra_bytes=walks + images)


@torch.no_grad()
def animation_frames(model: SinGAN, *, frames: int = FRAMES, start_scale: int = START_SCALE, alpha: float = ALPHA,
                     beta: float = BETA, seed: int = 0, loop: bool = False,
                     batch_size: int | None = None) -> Iterator[torch.Tensor]:
    """Yield `frames` images [1, C, H, W]. Scales below `start_scale` keep the reconstruction noise (the
    layout stays); from it up, each scale walks around its reconstruction noise (z_rec, or zero above 0)."""
    check_start_scale(model, start_scale)
    check_walk(frames, alpha, beta)
    batch = batch_size or default_batch_size(model.device, model.sizes[-1])
    check_animation_fits(model, frames, start_scale, batch)
    rng = output_generator(seed)
    fixed = model.reconstruction_noises(0, start_scale - 1) if start_scale > 0 else []
    walks = []
    for scale in range(start_scale, model.num_scales):
        anchor = model.reconstruction_noise if scale == 0 else \
            torch.zeros_like(model.draw_noise(rng, scale, model.sizes[scale]))
        walks.append(random_walk(anchor, lambda: model.draw_noise(rng, scale, model.sizes[scale]), frames,
                                 alpha, beta, loop))
    for first in range(0, frames, batch):
        last = min(first + batch, frames)
        noises = fixed + [torch.cat(walk[first:last]) for walk in walks]
        yield from model.synthesize(noises, model.sizes).split(1)

