"""What makes one multi-image architecture's training its own, behind the one interface the loop calls.

`GANTrainer` (singan.training.gan) holds the networks, optimisers, data order and random streams, and
offers the pieces every recipe uses (real and fake batches, an update with gradient averaging). An
`Objective` decides everything else: its defaults, its schedule (progressive or not), which losses and
regularisers a critic and a generator step use, and how many of each one iteration makes. The loop
itself never asks which architecture it trains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from singan.config.gan import GANConfig
from singan.models.resolutions import Stage, growth_stage

if TYPE_CHECKING:  # the trainer imports the objectives' registry; annotations only here
    from singan.training.gan import GANTrainer


class Objective:
    """One architecture's training recipe. Subclasses give `critic_loss` and `generator_loss`, and may add
    regularisers after the steps, or change what an iteration is (several critic steps per generator step)."""

    # Grows from 4x4, one resolution at a time (PGGAN, StyleGAN v1), instead of training at full size.
    progressive = False
    # Adam's learning rate when --lr is not given.
    default_learning_rate = 0.001

    def __init__(self, config: GANConfig, device: torch.device = torch.device("cpu")):
        self.config, self.device = config, device

    def problems(self) -> list[str]:
        """Problems of the settings that only this architecture has (messages naming the flag)."""
        return []

    def learning_rate(self) -> float:
        return self.config.lr if self.config.lr is not None else self.default_learning_rate

    def lazy_interval(self, network: str) -> int | None:
        """For "generator" or "critic": k when that network is regularised every k steps only, else None."""
        return None

    def stage(self, images_seen: float) -> Stage:
        """The resolution that trains, and the newest block's fade-in, after `images_seen` real images."""
        if not self.progressive:
            return Stage(self.config.resolution, 1.0)
        return growth_stage(self.config.resolution, self.config.phase_kimg, images_seen)

    def iteration(self, trainer: GANTrainer, stage: Stage) -> dict[str, float]:
        """One iteration: a critic step, then a generator step; returns their losses for the log."""
        losses = self.critic_step(trainer, stage)
        losses.update(self.generator_step(trainer, stage))
        return losses

    def critic_step(self, trainer: GANTrainer, stage: Stage) -> dict[str, float]:
        """One update of the critic on the next real batch and fakes of fresh latents."""
        real = trainer.reals(stage)
        with torch.no_grad():
            fake = trainer.fakes(stage, trainer.local_batch)[0]
        loss, reported = self.critic_loss(trainer, stage, real, fake)
        trainer.step_critic(loss)
        reported.update(self.after_critic_step(trainer, real))
        return reported

    def generator_step(self, trainer: GANTrainer, stage: Stage) -> dict[str, float]:
        """One update of the generator through the frozen critic."""
        with trainer.critic_frozen():
            fake, _ = trainer.fakes(stage, trainer.local_batch, update_average=True)
            loss = self.generator_loss(trainer.discriminator(fake, **stage_options(stage)))
            trainer.step_generator(loss)
            reported = {"generator": number(loss)}
            reported.update(self.after_generator_step(trainer, stage))
        return reported

    def critic_loss(self, trainer: GANTrainer, stage: Stage, real: torch.Tensor, fake: torch.Tensor
                    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The critic's loss on a real and a fake batch, and what to log of it (with `score_means`)."""
        raise NotImplementedError

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def after_critic_step(self, trainer: GANTrainer, real: torch.Tensor) -> dict[str, float]:
        """A regulariser on its own pass after some critic steps (StyleGAN2's lazy R1); what it logs."""
        return {}

    def after_generator_step(self, trainer: GANTrainer, stage: Stage) -> dict[str, float]:
        """A regulariser on its own pass after some generator steps (StyleGAN2's path length); what it logs."""
        return {}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """State of the recipe itself that a resumed run needs (running means); checkpointed with the trainer's."""
        return {}

    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        """Continue from what `state_tensors` saved."""


def stage_options(stage: Stage) -> dict:
    """The keyword arguments that run a network at `stage`."""
    return {"resolution": stage.resolution, "alpha": stage.alpha}


def number(value: torch.Tensor) -> float:
    """A loss for the log: a plain float, detached from the graph."""
    return value.detach().item()


def scored(trainer: GANTrainer, stage: Stage, real: torch.Tensor, fake: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's scores [N] of a real and a fake batch at `stage`."""
    options = stage_options(stage)
    return trainer.discriminator(real, **options), trainer.discriminator(fake, **options)


def score_means(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, float]:
    """The mean scores, which every architecture logs beside its losses."""
    return {"real_score": number(real_scores.mean()), "fake_score": number(fake_scores.mean())}
