"""Super-resolution: upsample step by step, each step refined by the finest generator (SinGAN section 4).

A run made for it is trained on the low-resolution image with the original SR.py's settings: a heavier
reconstruction weight (100), a pyramid of steps of about the upsampling step down to 18 px, and the
original's coarsest-scale reconstruction noise, redrawn at every iteration, which makes the model's samples
stay near the image, so the finest generator is trained on inputs like the ones super-resolution feeds it.
"""

from __future__ import annotations

import math

import torch

from singan.config.singan import TrainConfig
from singan.errors import ConfigError, InputImageError
from singan.models.singan import SinGAN
from singan.pyramid import Size, plan_for, resize, upsample
from singan.memory import check_fits
from singan.seeds import output_generator
from tasks.singan.footprint import check_synthesis_fits, scale_widths, synthesis_bytes

RECONSTRUCTION_WEIGHT = 100.0  # alpha for super-resolution runs (10 for the others)
MIN_SIZE = 18  # the original's smallest coarsest short side for super-resolution runs
NOMINAL_STEP = 2 ** (1 / 3)  # about 1.26: three steps per doubling, six for x4
MAX_FACTOR = 16
MAX_BACK_PROJECTION = 10


def check_factor(factor: float) -> None:
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and 1 <= factor <= MAX_FACTOR):
        raise ConfigError(f"--factor must be from 1 to {MAX_FACTOR} (got {factor})")


def upsampling_steps(factor: float) -> tuple[int, float]:
    """(number of steps, factor per step): steps of about 2 ** (1/3), exactly `factor` in all."""
    check_factor(factor)
    steps = max(1, round(math.log(factor) / math.log(NOMINAL_STEP)))
    return steps, factor ** (1 / steps)


def training_config(base: TrainConfig, factor: float, size: Size) -> TrainConfig:
    """The original SR.py's settings on top of `base` for a low-resolution image of `size` (h, w): alpha
    100, no shrinking, its pyramid, its coarsest-scale reconstruction noise redrawn at every iteration and
    its generator steps on the last critic step's fake (see `original_pyramid_factor` and the README).
    Factors below one nominal step (1.26) train with that step: a pyramid needs steps to learn from."""
    _, step = upsampling_steps(factor)
    step = max(step, NOMINAL_STEP)
    return base.replace(reconstruction_weight=RECONSTRUCTION_WEIGHT, min_size=MIN_SIZE, max_size=max(size),
                        scale_factor=original_pyramid_factor(min(size), step), exact_scale_factor=False,
                        uncropped_scale_factor=0.0,
                        redraw_reconstruction_noise=True, fresh_fake=False)


def original_pyramid_factor(short_side: int, step: float) -> float:
    """The nominal factor for which the usual pyramid rule builds the original's SR pyramid.

    The original counts the whole upsampling steps that fit between 18 px and the short side, trains one
    scale more than that, and recomputes the factor so that the coarsest short side is exactly 18 px
    (62x42 px at x4: 5 scales, factor 0.809 rather than 0.794). The usual rule trains
    ceil(log(18 / short) / log(factor)) + 2 scales, so a factor of (18 / short) ** (1 / steps) gives that.
    """
    smallest = math.ceil(MIN_SIZE * step)
    if short_side < smallest:
        raise InputImageError(f"the image's short side ({short_side} px) is too small for super-resolution: it "
                              f"must be at least {smallest} px (one x{step:.2f} step above {MIN_SIZE} px)")
    steps = math.floor(math.log(short_side / MIN_SIZE) / math.log(step) + 1e-9)
    return (MIN_SIZE / short_side) ** (1 / steps)


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
def super_resolve(model: SinGAN, image: torch.Tensor, factor: float, seed: int = 0,
                  back_projection: int = 0) -> torch.Tensor:
    """`image` [1, C, h, w] upsampled by `factor`: each step bicubic, then the finest generator with fresh noise.

    `back_projection` rounds after every step (0: none, as the paper) pull the result towards agreeing with
    `image` when shrunk back (see `back_project`)."""
    check_rounds(back_projection)
    sizes = step_sizes(tuple(image.shape[-2:]), factor)
    finest = model.num_scales - 1
    check_synthesis_fits(model, sizes, 1, _upscale_request(factor, sizes[-1]), UPSCALE_ADVICE,
                         widths=[scale_widths(model)[finest]] * len(sizes))
    rng = output_generator(seed)
    noises = [model.draw_noise(rng, finest, size) for size in sizes]
    generator, amplitude = model.generators[finest], model.noise_amplitudes[finest]
    if not back_projection:
        return model.cascade([generator] * len(sizes), [amplitude] * len(sizes), noises, sizes,
                             image=upsample(image, sizes[0]))
    current = image
    for noise, size in zip(noises, sizes):
        current = model.cascade([generator], [amplitude], [noise], [size], image=upsample(current, size))
        current = back_project(current, image, back_projection)
    return current


UPSCALE_ADVICE = "lower --factor, or upscale a smaller image"


def _upscale_request(factor: float, size: Size) -> str:
    return f"--factor {factor:g} (a {size[0]}x{size[1]} px result)"


def check_upscale_fits(image: torch.Tensor, factor: float, config: TrainConfig, device: torch.device) -> None:
    """Before a run is trained on `image` [1, C, h, w] with `config`: whether its upscale by `factor` can fit
    on `device` (the finest scale's width is the config's at the last scale of the image's pyramid)."""
    size = tuple(image.shape[-2:])
    width = config.validate().width(plan_for(*size, config).num_scales - 1)
    sizes = step_sizes(size, factor)
    check_fits(synthesis_bytes(image.shape[1], sizes, 1, [width] * len(sizes)), _upscale_request(factor, sizes[-1]),
               UPSCALE_ADVICE, device)


def check_rounds(rounds: int) -> None:
    if not (isinstance(rounds, int) and 0 <= rounds <= MAX_BACK_PROJECTION):
        raise ConfigError(f"--back-projection must be a whole number from 0 to {MAX_BACK_PROJECTION} (got {rounds})")


def back_project(estimate: torch.Tensor, low: torch.Tensor, rounds: int) -> torch.Tensor:
    """Iterative back-projection (Irani and Peleg): add the upsampled difference between `low` and the
    estimate shrunk to its size, `rounds` times. The result, shrunk the way the benchmark's inputs were
    made (bicubic, antialiased), comes back close to `low`; the generator's detail above that band stays.
    It undoes the drift a repeated step accumulates (shapes that grow from step to step)."""
    size, low_size = tuple(estimate.shape[-2:]), tuple(low.shape[-2:])
    for _ in range(rounds):
        estimate = (estimate + resize(low - resize(estimate, low_size), size)).clamp(-1, 1)
    return estimate


def bicubic(image: torch.Tensor, factor: float) -> torch.Tensor:
    """The plain bicubic upscale to the same size, for comparison."""
    return resize(image, output_size(tuple(image.shape[-2:]), factor)).clamp(-1, 1)
