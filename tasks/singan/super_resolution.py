"""Super-resolution: upsample step by step, each step refined by the finest generator (SinGAN section 4).

A run made for it is trained on the low-resolution image with a heavier reconstruction weight and a
pyramid factor equal to one upsampling step, so the finest generator learns exactly the step it repeats.
"""

from __future__ import annotations

import math

import torch

from singan.config.singan import TrainConfig
from singan.errors import ConfigError
from singan.models.singan import SinGAN
from singan.pyramid import Size, resize, upsample
from singan.seeds import output_generator

RECONSTRUCTION_WEIGHT = 100.0  # alpha for super-resolution runs (10 for the others)
MIN_SIZE = 18  # the original's smallest coarsest short side for super-resolution runs
NOMINAL_STEP = 2 ** (1 / 3)  # about 1.26: three steps per doubling, six for x4
MAX_FACTOR = 16


def check_factor(factor: float) -> None:
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and 1 <= factor <= MAX_FACTOR):
        raise ConfigError(f"--factor must be from 1 to {MAX_FACTOR} (got {factor})")


def upsampling_steps(factor: float) -> tuple[int, float]:
    """(number of steps, factor per step): steps of about 2 ** (1/3), exactly `factor` in all."""
    check_factor(factor)
    steps = max(1, round(math.log(factor) / math.log(NOMINAL_STEP)))
    return steps, factor ** (1 / steps)


def training_config(base: TrainConfig, factor: float, size: Size) -> TrainConfig:
    """The super-resolution settings on top of `base` for a low-resolution image of `size` (h, w): alpha
    100, no shrinking, and a pyramid whose factor is exactly one upsampling step (the coarsest short
    side at least 18 px, as the original's), so the finest generator learns the step it repeats.
    Factors below one nominal step (1.26) train with that step: a pyramid needs steps to learn from."""
    _, step = upsampling_steps(factor)
    step = max(step, NOMINAL_STEP)
    return base.replace(reconstruction_weight=RECONSTRUCTION_WEIGHT, scale_factor=1 / step, min_size=MIN_SIZE,
                        exact_scale_factor=True, max_size=max(size))


def is_super_resolution_run(config: TrainConfig) -> bool:
    return config.reconstruction_weight >= RECONSTRUCTION_WEIGHT


def output_size(size: Size, factor: float) -> Size:
    return (round(size[0] * factor), round(size[1] * factor))


def step_sizes(size: Size, factor: float) -> list[Size]:
    """The image's size after every step, the last exactly `output_size`."""
    steps, step = upsampling_steps(factor)
    # Rounded like the last size, so no step is larger than the result, even for a few pixels.
    return [output_size(size, step ** index) for index in range(1, steps)] + [output_size(size, factor)]


@torch.no_grad()
def super_resolve(model: SinGAN, image: torch.Tensor, factor: float, seed: int = 0) -> torch.Tensor:
    """`image` [1, C, h, w] upsampled by `factor`: each step bicubic, then the finest generator with fresh noise."""
    sizes = step_sizes(tuple(image.shape[-2:]), factor)
    finest = model.num_scales - 1
    rng = output_generator(seed)
    noises = [model.draw_noise(rng, finest, size) for size in sizes]
    generators = [model.generators[finest]] * len(sizes)
    amplitudes = [model.noise_amplitudes[finest]] * len(sizes)
    return model.cascade(generators, amplitudes, noises, sizes, image=upsample(image, sizes[0]))


def bicubic(image: torch.Tensor, factor: float) -> torch.Tensor:
    """The plain bicubic upscale to the same size, for comparison."""
    return resize(image, output_size(tuple(image.shape[-2:]), factor)).clamp(-1, 1)
