"""Diversity of samples as the SinGAN paper defines it (section 4, "Diversity")."""

from __future__ import annotations

import torch

from singan.errors import ConfigError


def diversity(samples: torch.Tensor, real: torch.Tensor) -> float:
    """How much samples [N, C, H, W] vary, relative to how much the training image [1, C, H', W'] varies.

    Per pixel and channel, the standard deviation over the N samples; averaged over pixels and channels;
    divided by the standard deviation of all the training image's values. Both are population standard
    deviations (unbiased=False), so N identical samples give exactly 0 and the figure does not depend
    on N through a Bessel correction. The paper reports about 0.5 for samples from the coarsest scale
    on Places images; a model that copies its input scores 0.
    """
    if samples.dim() != 4 or samples.shape[0] < 2:
        raise ConfigError(f"diversity needs at least 2 samples [N, C, H, W] (got {tuple(samples.shape)})")
    spread = float(real.float().std(unbiased=False))
    if spread == 0:
        raise ConfigError("the training image is a single flat colour: diversity relative to it is undefined")
    # Measured from the first sample (the spread does not change with a shift), so that identical samples
    # give exactly 0 rather than the rounding error of their mean.
    samples = samples.float()
    per_pixel = (samples - samples[:1]).std(dim=0, unbiased=False)
    return float(per_pixel.mean()) / spread
