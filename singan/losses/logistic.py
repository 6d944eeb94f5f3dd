"""The non-saturating logistic GAN loss and the R1 penalty (StyleGAN, StyleGAN2). Scores are raw outputs [N]."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(real)) - log(1 - sigmoid(D(fake))), averaged over the batch."""
    return F.softplus(fake_scores).mean() + F.softplus(-real_scores).mean()


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: -log sigmoid(D(fake))."""
    return F.softplus(-fake_scores).mean()


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: the squared norm of grad D at the real images (which must require grad), averaged over them.
    Multiply by gamma / 2 for the loss, as the papers do."""
    (gradient,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
    return gradient.square().flatten(1).sum(dim=1).mean()
