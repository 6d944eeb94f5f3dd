"""ESRGAN's relativistic average GAN loss (RaGAN): the discriminator judges how much more real a real image
looks than the average fake, and a fake than the average real, with binary cross-entropy on the logits;
both directions are averaged. Scores are raw outputs of any shape ([N, 1], or a logit per pixel)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _relative(scores: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    return scores - others.mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """D's loss: real judged more real than the average fake (target 1), fake less than the average real (0)."""
    real = F.binary_cross_entropy_with_logits(_relative(real_scores, fake_scores), torch.ones_like(real_scores))
    fake = F.binary_cross_entropy_with_logits(_relative(fake_scores, real_scores), torch.zeros_like(fake_scores))
    return (real + fake) / 2


def generator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """G's loss, the same comparison with the targets swapped (the real scores carry no gradient to G)."""
    real_scores = real_scores.detach()
    real = F.binary_cross_entropy_with_logits(_relative(real_scores, fake_scores), torch.zeros_like(real_scores))
    fake = F.binary_cross_entropy_with_logits(_relative(fake_scores, real_scores), torch.ones_like(fake_scores))
    return (real + fake) / 2
