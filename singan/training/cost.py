"""Arithmetic of one SinGAN training iteration, counted from the layer shapes, and a time estimate."""

from __future__ import annotations

import time

import torch

from singan.config.singan import TrainConfig
from singan.device import synchronize
from singan.models.singan import KERNEL_SIZE, NUM_LAYERS, PADDING, SinGAN, new_networks
from singan.pyramid import Size
from singan.seeds import make_generator


def _convolution_flops(channels: list[int], size: Size, border: int) -> float:
    """Multiply-adds x 2 of NUM_LAYERS valid 3x3 convolutions whose input is `size` grown by `border`."""
    height, width = size[0] + 2 * border, size[1] + 2 * border
    total = 0.0
    for in_channels, out_channels in zip(channels, channels[1:]):
        height, width = height - (KERNEL_SIZE - 1), width - (KERNEL_SIZE - 1)
        total += 2 * KERNEL_SIZE**2 * in_channels * out_channels * height * width
    return total


def generator_flops(image_channels: int, width: int, size: Size) -> float:
    return _convolution_flops([image_channels] + [width] * (NUM_LAYERS - 1) + [image_channels], size, PADDING)


def critic_flops(image_channels: int, width: int, size: Size) -> float:
    return _convolution_flops([image_channels] + [width] * (NUM_LAYERS - 1) + [1], size, 0)


def iteration_flops(config: TrainConfig, sizes: list[Size], scale: int, image_channels: int = 3) -> float:
    """Floating-point operations of one training iteration at `scale` (a backward pass counts as 2 forwards).

    Critic step: the fake (G), critic on real, fake and interpolate (3 D), their backward (2 x 2 D),
    the penalty's input gradient with its graph (2 D) and its backward (4 D), plus a fresh coarser
    sample through the frozen scales (always whole). With --crop-size, the scale's own networks see the window
    only. Generator step: fake and reconstruction (2 G), critic (D),
    the critic's input gradient (D), both generator backwards (2 x 2 G). Without --fresh-fake the adversarial
    part is computed once per iteration on the last critic step's fake (critic, its input gradient and one
    generator backward: 2 D + 2 G) and each step adds only the reconstruction (G and its backward, 3 G).
    """
    trained = trained_size(config, sizes[scale])
    g = generator_flops(image_channels, config.width(scale), trained)
    d = critic_flops(image_channels, config.width(scale), trained)
    coarser = sum(generator_flops(image_channels, config.width(k), sizes[k]) for k in range(scale))
    critic_step = coarser + g + 13 * d
    critic_steps, generator_steps = config.steps_at(scale, sizes[scale])
    if config.fresh_fake:
        return critic_steps * critic_step + generator_steps * (6 * g + 2 * d)
    return critic_steps * critic_step + generator_steps * 3 * g + 2 * g + 2 * d


def trained_size(config: TrainConfig, size: Size) -> Size:
    """The size a scale's networks see in one iteration: the whole scale, or the --crop-size window."""
    if config.crop_size == 0:
        return tuple(size)
    return (min(config.crop_size, size[0]), min(config.crop_size, size[1]))


def training_flops(config: TrainConfig, sizes: list[Size], first_scale: int = 0, image_channels: int = 3) -> float:
    return sum(config.iterations_at(sizes[scale]) * iteration_flops(config, sizes, scale, image_channels)
               for scale in range(first_scale, len(sizes)))


def time_iteration(width: int, size: Size, device: torch.device, repeats: int = 2) -> float:
    """Seconds of one real training iteration (one critic and one generator step) on a throwaway scale."""
    from singan.training.singan import ScaleTrainer  # local: the trainer module imports this one

    rng = make_generator(device, 0)
    model = SinGAN(3).to(device)
    model.reconstruction_noise = torch.randn(1, 1, *size, generator=rng, device=device)
    generator, critic = new_networks(3, width, rng)
    real = torch.rand(1, 3, *size, generator=rng, device=device) * 2 - 1
    trainer = ScaleTrainer(model, real, generator, critic, _probe_config(width), rng)
    return seconds_per_iteration(trainer, repeats)


def seconds_per_iteration(trainer, repeats: int, min_seconds: float = 0.0) -> float:
    """Mean wall-clock seconds of `trainer.iteration()` after one warm-up (allocations, kernel choice),
    over at least `repeats` iterations and `min_seconds`."""
    device = trainer.real.device
    trainer.iteration()
    synchronize(device)
    started, done = time.perf_counter(), 0
    while done < repeats or time.perf_counter() - started < min_seconds:
        trainer.iteration()
        done += 1
        synchronize(device)
    return (time.perf_counter() - started) / done


def _probe_config(width: int) -> TrainConfig:
    return TrainConfig(base_channels=width, max_channels=width, critic_steps=1, generator_steps=1)


def estimate_seconds(config: TrainConfig, sizes: list[Size], device: torch.device, first_scale: int = 0,
                     image_channels: int = 3) -> float:
    """Training time from the FLOP count, with throughput and per-iteration overhead measured here (~1 s)."""
    return seconds_at_rates(config, sizes, machine_rates(config, device), first_scale, image_channels)


def machine_rates(config: TrainConfig, device: torch.device) -> tuple[float, float]:
    """(FLOP per second at the config's widest scales, seconds of overhead per critic or generator step),
    measured on throwaway scales of the config's widths."""
    large, small = (48, 48), (16, 16)
    large_seconds = time_iteration(config.max_channels, large, device)
    small_seconds = time_iteration(config.base_channels, small, device)
    throughput = iteration_flops(_probe_config(config.max_channels), [large], 0) / large_seconds
    small_flops = iteration_flops(_probe_config(config.base_channels), [small], 0)
    return throughput, max(small_seconds - small_flops / throughput, 0.0) / 2


def seconds_at_rates(config: TrainConfig, sizes: list[Size], rates: tuple[float, float], first_scale: int = 0,
                     image_channels: int = 3) -> float:
    """The cost model's training time at the given `machine_rates`."""
    throughput, overhead_per_step = rates
    steps = sum(sum(config.steps_at(scale, sizes[scale])) * config.iterations_at(sizes[scale])
                for scale in range(first_scale, len(sizes)))
    return training_flops(config, sizes, first_scale, image_channels) / throughput + overhead_per_step * steps
