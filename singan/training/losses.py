"""Losses as small pure functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def critic_wasserstein_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss: the critic raises real scores and lowers fake ones."""
    return fake_scores.mean() - real_scores.mean()


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     rng: torch.Generator) -> torch.Tensor:
    """WGAN-GP on one random interpolate per image, unweighted.

    As in SinGAN, the gradient norm is taken over channels at each pixel and the penalty is averaged
    over pixels (the critic is a patch critic, so every pixel is a sample).
    """
    mix = torch.rand(real.shape[0], 1, 1, 1, generator=rng, device=rng.device).to(real.device)
    interpolates = (mix * real + (1 - mix) * fake).requires_grad_(True)
    scores = critic(interpolates)
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def reconstruction_loss(reconstruction: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(reconstruction, real)
