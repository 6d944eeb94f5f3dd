"""The multi-image GANs' losses and regularisers, as small pure functions of scores and images.

Scores are the discriminator's raw outputs [N]. PGGAN: WGAN-GP with a drift term; StyleGAN and
StyleGAN2: the non-saturating logistic loss with R1, and StyleGAN2's path-length regulariser.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's WGAN loss: E[D(fake)] - E[D(real)]."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    """PGGAN's E[D(real)^2], which keeps the critic's output from drifting far from zero."""
    return real_scores.square().mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None,
                     **critic_options) -> torch.Tensor:
    """WGAN-GP: (|grad D(x)| - 1)^2 at random points x between each real image and a fake one."""
    mix = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device, dtype=real.dtype)
    between = (real + mix * (fake - real)).detach().requires_grad_(True)
    scores = critic(between, **critic_options)
    (gradient,) = torch.autograd.grad(scores.sum(), between, create_graph=True)
    return (gradient.flatten(1).norm(dim=1) - 1).square().mean()


def logistic_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(real)) - log(1 - sigmoid(D(fake))), averaged over the batch."""
    return F.softplus(fake_scores).mean() + F.softplus(-real_scores).mean()


def logistic_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: -log sigmoid(D(fake))."""
    return F.softplus(-fake_scores).mean()


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: the squared norm of grad D at the real images (which must require grad), averaged over them.
    Multiply by gamma / 2 for the loss, as the papers do."""
    (gradient,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
    return gradient.square().flatten(1).sum(dim=1).mean()


def path_lengths(images: torch.Tensor, ws: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """|J_w^T y| per image [N] for y ~ N(0, I) / sqrt(H W): the lengths StyleGAN2 regularises towards their mean.

    `ws` [N, num_ws, w_dim] must require grad and `images` be computed from it; the norm is taken over
    w_dim and averaged over the style layers, as in the paper's code.
    """
    height, width = images.shape[-2:]
    directions = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
    directions = directions / math.sqrt(height * width)
    (gradient,) = torch.autograd.grad((images * directions).sum(), ws, create_graph=True)
    return gradient.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """(|J^T y| - a)^2 averaged over the batch, with `a` the running mean of the lengths."""
    return (lengths - mean).square().mean()
