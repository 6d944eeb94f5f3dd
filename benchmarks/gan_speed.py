"""Seconds per 1000 training images of a multi-image GAN, on random data of the given size (no files needed).

    python benchmarks/gan_speed.py --arch stylegan2 --resolution 256 --batch 32 --paper-sizes --device cuda
    python benchmarks/gan_speed.py --arch stylegan2 --resolution 32 --batch 16            # a CPU-sized check

Times whole training steps (discriminator, generator, the lazy regularisers at their intervals, the moving
average) after a warm-up, with the device synchronised. The published figure for StyleGAN2 (config F, official
TensorFlow code with its CUDA kernels) at 256 px on one V100 is about 22 s per 1000 images. Writes the
"gan_speed_<arch>_<resolution>_<device>" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from report import machine_description, write_section
from singan.device import resolve_device, synchronize
from singan.config.gan import GANConfig
from singan.data.imagefolder import ImageFolderData
from singan.training.architectures import checked, paper_sizes
from singan.training.gan import GANTrainer

PUBLISHED = {("stylegan2", 256): "about 22 s per 1000 images on one V100 (official code, config F)",
             ("stylegan2", 1024): "about 155 s per 1000 images on one V100 (official code, config F)"}


def random_data(count: int, channels: int, resolution: int) -> ImageFolderData:
    images = torch.randint(0, 256, (count, channels, resolution, resolution), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    return ImageFolderData(images=images, files=[], skipped=[], channels=channels, resolution=resolution,
                           root=Path("."))


def seconds_per_kimg(trainer: GANTrainer, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        trainer.step()
    synchronize(trainer.device)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    synchronize(trainer.device)
    return (time.perf_counter() - started) / (steps * trainer.config.batch) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="stylegan2")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--paper-sizes", action="store_true")
    parser.add_argument("--steps", type=int, default=32, help="timed steps (a multiple of 16 covers the lazy R1)")
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--device", default="auto")
    options = parser.parse_args()
    device = resolve_device(options.device)
    config = GANConfig(arch=options.arch, resolution=options.resolution, batch=options.batch, seed=0,
                       phase_kimg=1e-3)  # progressive archs: at the target resolution after the warm-up
    if options.paper_sizes:
        config = config.replace(**paper_sizes(options.arch))
    trainer = GANTrainer(checked(config), random_data(max(64, options.batch), 3, options.resolution), device)
    measured = seconds_per_kimg(trainer, options.steps, options.warmup)
    sizes = "the papers' network sizes" if options.paper_sizes else "the small default sizes"
    published = PUBLISHED.get((options.arch, options.resolution), "none for this configuration")
    print(f"{options.arch} {options.resolution} px, batch {options.batch}, {sizes}: {measured:.1f} s / 1000 images")
    write_section(f"gan_speed_{options.arch}_{options.resolution}_{device.type}", "\n".join([
        f"## Training speed: {options.arch} at {options.resolution} px, batch {options.batch}, {device.type}",
        "",
        f"Machine: {machine_description(device)}.",
        f"Command: `python benchmarks/gan_speed.py --arch {options.arch} --resolution {options.resolution} "
        f"--batch {options.batch}{' --paper-sizes' if options.paper_sizes else ''} --device {device.type}` "
        f"({sizes}; {options.steps} timed steps after {options.warmup}, random data).",
        "",
        f"**{measured:.1f} s per 1000 images.** Published: {published}.",
    ]))


if __name__ == "__main__":
    main()
