"""Quality figures of a multi-image generator against its data set: PGGAN's sliced Wasserstein distance
(no pretrained network needed) and FID (with a local Inception-v3)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from singan.device import module_device
from singan.errors import ConfigError, InputImageError
from singan.images import from_uint8, to_uint8
from singan.memory import check_fits
from singan.metrics.frechet import frechet_distance, gaussian_statistics
from singan.metrics.inception import InceptionV3
from singan.metrics.swd import PATCHES_PER_IMAGE, SWDResult, dataset_swd
from singan.seeds import check_seeds, output_generator
from tasks.gan.draws import Draws, map_latents
from tasks.gan.generate import check_truncation, latent
# Without --num, as many images as the data set has, up to this many (FID tools use 50k, PGGAN's SWD 16k).
DEFAULT_MAX_NUM = 10_000
BATCH_SIZE = 64


@dataclass(frozen=True)
class GANEvaluation:
    """What a generator scores; `fid` is None when no Inception network was given. SWD compares
    `swd_images` generated images with as many real ones, and its floor those with as many others."""

    swd: SWDResult
    fid: float | None
    num_generated: int
    num_real: int
    swd_images: int
    seed: int
    truncation: float

    def to_dict(self) -> dict:
        return {"num_generated": self.num_generated, "num_real": self.num_real, "seed": self.seed,
                "truncation": self.truncation, "swd_images": self.swd_images,
                "patches_per_image": PATCHES_PER_IMAGE, "swd": self.swd.to_dict(),
                "fid_computed": self.fid is not None, "fid": self.fid}


def check_evaluation(generator: nn.Module, reals: torch.Tensor, num: int, truncation: float,
                     batch_size: int = BATCH_SIZE) -> None:
    """Refuse bad options and unusable real images before any work is done."""
    expected = (generator.image_channels, generator.resolution, generator.resolution)
    if reals.dim() != 4 or tuple(reals.shape[1:]) != expected:
        raise InputImageError(f"the real images {tuple(reals.shape)} must be [N, C, H, W] with the generator's "
                              f"{generator.image_channels} channel(s) at {generator.resolution} px")
    if reals.shape[0] < 2:
        raise InputImageError(f"evaluation needs at least 2 real images (got {reals.shape[0]})")
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise ConfigError(f"--num must be at least 2: FID compares feature statistics (got {num})")
    if batch_size < 1:
        raise ConfigError(f"--batch must be a positive integer (got {batch_size})")
    check_truncation(generator, truncation)
    # The generated images are all kept, as uint8 on the CPU.
    size = generator.resolution
    check_fits(num * generator.image_channels * size * size, f"--num {num} at {size} px", "lower --num")


@torch.no_grad()
def generate_uint8(generator: nn.Module, num: int, seed: int = 0, truncation: float = 1.0,
                   batch_size: int = BATCH_SIZE, draws: Draws = Draws()) -> torch.Tensor:
    """`num` images [num, C, R, R] as uint8 on the CPU, from the latents of seeds seed .. seed + num - 1.

    Quantised as the files of generated images would be, so that they meet the reals on equal terms and
    10000 of them fit in memory. The noise inputs come from one generator seeded with `seed`, batch by batch.
    """
    device = module_device(generator)
    seeds = range(seed, seed + num)
    draws.check(generator, [seeds[-1]])
    # One source for every batch, so that each batch gets new noise.
    noise = draws.noise_source(seed, generator.z_dim)
    batches = []
    for first in range(0, num, batch_size):
        z = torch.cat([latent(index, generator.z_dim, device, draws) for index in seeds[first:first + batch_size]])
        images = generator.synthesize(map_latents(generator, z, draws, truncation), generator=noise)
        batches.append(to_uint8(images).cpu())
    return torch.cat(batches)


def evaluate_generator(generator: nn.Module, reals: torch.Tensor, *, num: int | None = None, seed: int = 0,
                       truncation: float = 1.0, inception: InceptionV3 | None = None,
                       batch_size: int = BATCH_SIZE, draws: Draws = Draws()) -> GANEvaluation:
    """SWD and (with `inception`) FID of `num` generated images against the reals [N, C, R, R] (uint8 or floats
    in [-1, 1]). `num` defaults to N, at most DEFAULT_MAX_NUM. SWD uses K = min(N // 2, num) images a side
    (see `dataset_swd`), its patch draws seeded with `seed`; FID uses all images of both sets."""
    num = min(reals.shape[0], DEFAULT_MAX_NUM) if num is None else num
    check_evaluation(generator, reals, num, truncation, batch_size)
    check_seeds([seed], "--seed")
    fakes = generate_uint8(generator, num, seed, truncation, batch_size, draws)
    device = module_device(generator)
    swd = dataset_swd(reals, fakes, output_generator(seed), device=device)
    fid = None if inception is None else fid_score(inception, reals, fakes, batch_size)
    return GANEvaluation(swd, fid, num, reals.shape[0], min(reals.shape[0] // 2, num), seed, truncation)


def fid_score(inception: InceptionV3, reals: torch.Tensor, fakes: torch.Tensor,
              batch_size: int = BATCH_SIZE) -> float:
    """FID: the Frechet distance between the Gaussians of the two sets' Inception pool features."""
    real_statistics = gaussian_statistics(pool_features(inception, reals, batch_size))
    fake_statistics = gaussian_statistics(pool_features(inception, fakes, batch_size))
    return frechet_distance(*real_statistics, *fake_statistics)


@torch.no_grad()
def pool_features(inception: InceptionV3, images: torch.Tensor, batch_size: int = BATCH_SIZE) -> torch.Tensor:
    """[N, 2048] Inception features (float64, CPU) of images [N, C, H, W], `batch_size` at a time
    (grayscale images are repeated to RGB by the network)."""
    features = [inception.pool_features(from_uint8(images[start:start + batch_size])).double().cpu()
                for start in range(0, images.shape[0], batch_size)]
    return torch.cat(features)

