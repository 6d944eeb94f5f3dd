"""The Wasserstein GAN losses with the gradient penalty (SinGAN, PGGAN) and PGGAN's drift term.

Scores are the critic's raw outputs: [N] for an image critic, [N, 1, h, w] for a patch critic.
"""

from __future__ import annotations

import torch
from torch import nn


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's WGAN loss, E[D(fake)] - E[D(real)]: the critic raises real scores and lowers fake ones."""
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E[D(fake)]."""
    return -fake_scores.mean()


def gradient_penalty(critic: nn.Module, points: torch.Tensor, *, per_pixel: bool = False,
                     **critic_options) -> torch.Tensor:
    """WGAN-GP, unweighted: (|grad D(x)| - 1)^2 at `points` x, which the caller draws between real and fake
    images (each paper mixes them its own way).

    The norm is taken over each image (PGGAN) or, with `per_pixel`, over the channels at each pixel and
    averaged over the pixels (SinGAN: every pixel of a patch critic's map is a sample).
    """
    points = points.detach().requires_grad_(True)
    scores = critic(points, **critic_options)
    (gradients,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    norms = gradients.norm(2, dim=1) if per_pixel else gradients.flatten(1).norm(dim=1)
    return (norms - 1).square().mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    """PGGAN's E[D(real)^2], which keeps the critic's output from drifting far from zero."""
    return real_scores.square().mean()
