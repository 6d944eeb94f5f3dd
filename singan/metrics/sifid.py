"""Single-image FID (SinGAN paper): Frechet distance between the Inception block0 feature statistics
of the real image and of each generated image.

Each spatial position of the 64-channel block0 map is one sample, so a single image gives a Gaussian;
images are taken at their own size, not resized to 299.
"""

from __future__ import annotations

import numpy as np
import torch

from singan.metrics.frechet import frechet_distance, gaussian_statistics
from singan.metrics.inception import InceptionV3


def sifid(network: InceptionV3, real: torch.Tensor, fakes: torch.Tensor) -> torch.Tensor:
    """SIFID [N] (float64) of fakes [N, C, H', W'] against real [1, C, H, W], all in [-1, 1]."""
    if real.dim() != 4 or real.shape[0] != 1:
        raise ValueError(f"expected one real image shaped [1, C, H, W], got {list(real.shape)}")
    if fakes.dim() != 4:
        raise ValueError(f"expected fakes shaped [N, C, H, W], got {list(fakes.shape)}")
    real_mean, real_cov = gaussian_statistics(block0_samples(network, real))
    values = [frechet_distance(real_mean, real_cov, *gaussian_statistics(block0_samples(network, fake[None])))
              for fake in fakes]
    return torch.tensor(values, dtype=torch.float64)


def block0_samples(network: InceptionV3, image: torch.Tensor) -> np.ndarray:
    """[h * w, 64] float64: one row per spatial position of the image's block0 features."""
    with torch.no_grad():
        features = network.block0(image)  # [1, 64, h, w], computed on the network's device
    return features[0].flatten(1).T.double().cpu().numpy()
