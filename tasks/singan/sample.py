"""Random samples: fresh noise from a start scale up, at the training size or any other."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from singan.errors import ConfigError
from singan.models.singan import SinGAN
from singan.pyramid import Size, scaled_sizes
from singan.seeds import output_generator
from tasks.singan.footprint import check_synthesis_fits

# Samples generated together on a GPU: enough to fill it, small enough for a laptop GPU's memory.
MAX_BATCH_PIXELS = 4_000_000


@torch.no_grad()
def sample_images(model: SinGAN, seeds: list[int], *, start_scale: int = 0, scale_h: float = 1.0,
                  scale_v: float = 1.0, batch_size: int | None = None,
                  size: Size | None = None) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (seed, [1, C, H, W] image) per seed; the same seed gives the same image with the same batch
    size, whatever other seeds are asked for (its noise is drawn on the CPU, whatever the device).

    Scales below `start_scale` use the reconstruction noise, so the layout of the training image is
    kept up to there. `scale_h` / `scale_v` stretch every scale's noise map, for another size or aspect;
    `size` (height, width), when given, sets the output size exactly and the factors from it.
    """
    if size is not None:
        scale_v, scale_h = size[0] / model.sizes[-1][0], size[1] / model.sizes[-1][1]
    check_start_scale(model, start_scale)
    for factor, flag in ((scale_h, "--scale-h"), (scale_v, "--scale-v")):
        if not (factor > 0 and factor < 64):
            raise ConfigError(f"{flag} must be a positive factor below 64 (got {factor})")
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch must be a positive integer (got {batch_size})")
    sizes = sample_sizes(model, start_scale, scale_h, scale_v, size)
    batch = batch_size or default_batch_size(model.device, sizes[-1])
    check_synthesis_fits(model, sizes, batch, f"{batch} image(s) of {sizes[-1][0]}x{sizes[-1][1]} px at once",
                         "ask for a smaller size (--size, --scale-h, --scale-v) or a smaller --batch")
    for first in range(0, len(seeds), batch):
        chunk = seeds[first:first + batch]
        # Convolution kernels may round differently for another batch size, so the last chunk is
        # padded (repeating its last seed) to keep every image independent of its neighbours.
        padded = chunk + chunk[-1:] * (batch - len(chunk))
        images = model.synthesize(_noises(model, padded, sizes, start_scale), sizes)
        yield from zip(chunk, images.split(1))


def default_batch_size(device: torch.device, size: Size) -> int:
    """One at a time on a CPU, where batching is no faster (slower for large images); more on a GPU."""
    if device.type == "cpu":
        return 1
    return max(1, min(16, MAX_BATCH_PIXELS // (size[0] * size[1])))


def sample_sizes(model: SinGAN, start_scale: int, scale_h: float, scale_v: float,
                 size: Size | None = None) -> list[Size]:
    """Every scale's output size; `size`, when given, is the finest one exactly. The coarsest scale's
    reconstruction noise has the trained size, so when it is used (start_scale > 0) that scale runs
    at the trained size and the next one resizes."""
    sizes = scaled_sizes(model.sizes, scale_v, scale_h)
    if size is not None:
        sizes[-1] = tuple(size)
    if start_scale > 0:
        sizes[0] = model.sizes[0]
    return sizes


def _noises(model: SinGAN, seeds: list[int], sizes: list[Size], start_scale: int) -> list:
    fixed = model.reconstruction_noises(0, start_scale - 1) if start_scale > 0 else []
    per_seed = [_fresh_noises(model, output_generator(seed), sizes, start_scale) for seed in seeds]
    fresh = [torch.cat(maps) for maps in zip(*per_seed)]
    return fixed + fresh


def _fresh_noises(model: SinGAN, rng: torch.Generator, sizes: list[Size], start_scale: int) -> list[torch.Tensor]:
    return [model.draw_noise(rng, scale, sizes[scale]) for scale in range(start_scale, len(sizes))]


def check_start_scale(model: SinGAN, start_scale: int) -> None:
    if not 0 <= start_scale < model.num_scales:
        raise ConfigError(f"--start-scale {start_scale} is outside the pyramid: use 0 to {model.num_scales - 1}")

