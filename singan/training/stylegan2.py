"""StyleGAN2's training recipe: the logistic loss at full resolution from the start, lazy R1 (every 16
critic steps) and path-length regularisation (every 4 generator steps, on half the batch), with Adam's
lr and betas corrected for the lazy intervals, and style mixing."""

from __future__ import annotations

import torch

from singan.config.settings import Requirements, integer
from singan.losses import logistic
from singan.losses.path_length import path_length_penalty, path_lengths
from singan.training.distributed import mean_over_processes
from singan.training.objective import number
from singan.training.stylegan import StyleGANObjective

PATH_LENGTH_MEAN = "path_length_mean"


class StyleGAN2Objective(StyleGANObjective):
    progressive = False
    default_learning_rate = 0.0025

    def __init__(self, config, device: torch.device = torch.device("cpu")):
        super().__init__(config, device)
        # The running mean of the path lengths, which the penalty pulls them towards.
        self.path_length_mean = torch.zeros((), device=device)

    def problems(self) -> list[str]:
        checks = Requirements(self.config)
        if integer(self.config.batch) and integer(self.config.pl_batch_shrink):
            checks.require(self.config.batch >= self.config.pl_batch_shrink, "pl_batch_shrink",
                           f"at most --batch ({self.config.batch})")
        return checks.problems

    def learning_rate(self) -> float:
        if self.config.lr is None and self.config.resolution >= 1024:
            return 0.002
        return super().learning_rate()

    def r1_weight(self) -> float:
        """gamma: --r1-gamma, or the paper's heuristic 0.0002 res^2 / batch."""
        if self.config.r1_gamma is not None:
            return self.config.r1_gamma
        return 0.0002 * self.config.resolution**2 / self.config.batch

    def r1_every_step(self) -> bool:
        return False

    def lazy_interval(self, network: str) -> int | None:
        if network == "generator":
            return self.config.pl_interval if self.config.pl_weight > 0 else None
        return self.config.r1_interval if self.r1_weight() > 0 else None

    def after_critic_step(self, trainer, real: torch.Tensor) -> dict[str, float]:
        """R1 on its own pass over the step's real batch, every r1_interval steps, weighted by the interval
        to make up."""
        if not (self.r1_weight() > 0 and trainer.critic_steps % self.config.r1_interval == 0):
            return {}
        real = real.detach().requires_grad_(True)
        penalty = logistic.r1_penalty(trainer.discriminator(real), real)
        trainer.regularize_critic(self.r1_weight() / 2 * penalty * self.config.r1_interval)
        return {"r1": number(penalty)}

    def after_generator_step(self, trainer, stage) -> dict[str, float]:
        """The path-length regulariser on a smaller batch, every pl_interval generator steps."""
        if not (self.config.pl_weight > 0 and trainer.generator_steps % self.config.pl_interval == 0):
            return {}
        count = max(1, trainer.local_batch // self.config.pl_batch_shrink)
        ws = trainer.styles(count).detach().requires_grad_(True)
        images = trainer.generator.synthesize(ws, generator=trainer.random)
        lengths = path_lengths(images, ws, trainer.random)
        mean_length = mean_over_processes(lengths.mean().detach(), trainer.world)
        self.path_length_mean = self.path_length_mean.lerp(mean_length, self.config.pl_decay)
        penalty = path_length_penalty(lengths, self.path_length_mean)
        trainer.regularize_generator(penalty * self.config.pl_weight * self.config.pl_interval)
        return {"path_length": number(penalty)}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {PATH_LENGTH_MEAN: self.path_length_mean}

    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        self.path_length_mean = tensors[PATH_LENGTH_MEAN].to(self.device)
