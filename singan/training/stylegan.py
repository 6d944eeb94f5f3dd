"""StyleGAN v1's training recipe: the non-saturating logistic loss with R1 (gamma 10) on every critic step,
style mixing, progressive growing as PGGAN."""

from __future__ import annotations

import torch

from singan.losses import logistic
from singan.models.resolutions import Stage
from singan.training.objective import Objective, number, score_means, scored

R1_GAMMA = 10.0


class StyleGANObjective(Objective):
    progressive = True
    default_learning_rate = 0.001

    def r1_weight(self) -> float:
        """gamma: --r1-gamma, or the paper's 10."""
        return self.config.r1_gamma if self.config.r1_gamma is not None else R1_GAMMA

    def r1_every_step(self) -> bool:
        return self.r1_weight() > 0

    def critic_loss(self, trainer, stage: Stage, real: torch.Tensor, fake: torch.Tensor):
        every_step = self.r1_every_step()
        real.requires_grad_(every_step)
        real_scores, fake_scores = scored(trainer, stage, real, fake)
        loss = logistic.critic_loss(real_scores, fake_scores)
        reported = {"critic": number(loss)}
        if every_step:
            penalty = logistic.r1_penalty(real_scores, real)
            loss = loss + self.r1_weight() / 2 * penalty
            reported["r1"] = number(penalty)
        return loss, reported | score_means(real_scores, fake_scores)

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return logistic.generator_loss(fake_scores)
