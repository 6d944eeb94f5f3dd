"""Quality figures of a trained run: patch SWD against the training image, diversity, and SIFID."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from singan.errors import ConfigError
from singan.memory import check_fits, float_images_bytes
from singan.metrics.diversity import diversity
from singan.metrics.inception import InceptionV3
from singan.metrics.sifid import sifid
from singan.metrics.swd import PATCHES_PER_IMAGE, SWDResult, patch_swd
from singan.models.singan import SinGAN
from singan.seeds import output_generator
from tasks.singan.sample import check_start_scale, sample_images

NUM_SAMPLES = 50


@dataclass(frozen=True)
class Evaluation:
    """What `singan eval` reports; `sifid` is None when no Inception network was given."""

    num: int
    seed: int
    start_scale: int
    swd: SWDResult
    reconstruction_swd: SWDResult
    diversity: float
    sifid: float | None = None

    def to_dict(self) -> dict:
        return {"num": self.num, "seed": self.seed, "start_scale": self.start_scale,
                "patches_per_image": PATCHES_PER_IMAGE, "swd": self.swd.to_dict(),
                "reconstruction_swd": self.reconstruction_swd.to_dict(), "diversity": self.diversity,
                "sifid_computed": self.sifid is not None, "sifid": self.sifid}


def check_options(model: SinGAN, num: int, start_scale: int) -> None:
    """Refuse bad options before any work (or file) is done."""
    if num < 2:
        raise ConfigError(f"--num must be at least 2: diversity compares samples (got {num})")
    check_start_scale(model, start_scale)
    # Every sample is kept, and again in the batch the metrics compare.
    height, width = model.sizes[-1]
    check_fits(2 * float_images_bytes(num, model.image_channels, height, width),
               f"--num {num} at {height}x{width} px", "lower --num", model.device)


@torch.no_grad()
def evaluate(model: SinGAN, real: torch.Tensor, num: int = NUM_SAMPLES, seed: int = 0, start_scale: int = 0,
             inception: InceptionV3 | None = None) -> Evaluation:
    """Draw `num` samples (seeds seed .. seed + num - 1, at the training size, from `start_scale`) and
    measure them against the training image `real` (at the finest size); the patch draws of SWD come from
    `seed` too.

    The reconstruction's SWD (its patches drawn num x 128 times from the one image) is a sanity row:
    a well-trained run reproduces its image, so it should read about 1x the floor (what an exact copy scores).
    """
    check_options(model, num, start_scale)
    real = real.to(model.device)
    seeds = list(range(seed, seed + num))
    samples = torch.cat([image for _, image in sample_images(model, seeds, start_scale=start_scale)])
    generator = output_generator(seed)
    swd = patch_swd(real, samples, generator)
    reconstruction = patch_swd(real, model.reconstruct(), generator, patches_per_image=num * PATCHES_PER_IMAGE)
    return Evaluation(num, seed, start_scale, swd, reconstruction, diversity(samples, real),
                      _mean_sifid(inception, real, samples))


def _mean_sifid(inception: InceptionV3 | None, real: torch.Tensor, samples: torch.Tensor) -> float | None:
    return None if inception is None else float(sifid(inception, real, samples).mean())

