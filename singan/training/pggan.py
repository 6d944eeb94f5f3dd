"""PGGAN's training recipe: WGAN-GP (lambda 10) with the drift term 0.001 E[D(real)^2], progressive growing."""

from __future__ import annotations

import torch

from singan.losses import wasserstein
from singan.models.resolutions import Stage
from singan.training.objective import Objective, number, score_means, scored, stage_options


class PGGANObjective(Objective):
    progressive = True
    default_learning_rate = 0.001

    def critic_loss(self, trainer, stage: Stage, real: torch.Tensor, fake: torch.Tensor):
        real_scores, fake_scores = scored(trainer, stage, real, fake)
        distance = wasserstein.critic_loss(real_scores, fake_scores)
        # The official code's lerp(reals, fakes, mix): a point per image between the real and a fake one.
        mix = torch.rand(real.shape[0], 1, 1, 1, generator=trainer.random, device=real.device, dtype=real.dtype)
        penalty = wasserstein.gradient_penalty(trainer.discriminator, real + mix * (fake - real),
                                               **stage_options(stage))
        drift = wasserstein.drift_penalty(real_scores)
        loss = distance + self.config.gp_weight * penalty + self.config.drift_weight * drift
        reported = {"critic": number(distance), "gradient_penalty": number(penalty), "drift": number(drift)}
        return loss, reported | score_means(real_scores, fake_scores)

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return wasserstein.generator_loss(fake_scores)
