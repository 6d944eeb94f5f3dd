"""One training loop for every multi-image architecture: the networks, their optimisers, the data, the random
streams and the pieces every recipe uses. What differs between architectures (losses, regularisers,
schedule, steps per iteration) is the Objective's business (singan.training.objective); this module never
asks which architecture it trains.

One `step` is one iteration of the objective, then the moving average of the generator; every real batch
the objective draws counts towards `images_seen`. Everything that a resumed run needs to continue exactly
is in `state_tensors` and `state_record`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from singan.config.gan import GANConfig
from singan.data.imagefolder import ImageFolderData, real_batch
from singan.data.sampler import EpochSampler
from singan.errors import ConfigError, GANNonFiniteLossError
from singan.events import GANProgress
from singan.images import image_grid
from singan.models.latent import mix_styles
from singan.models.resolutions import Stage
from singan.seeds import make_generator, stream_seed
from singan.training.architectures import build_discriminator, build_generator, objective_of
from singan.training.distributed import World, average_gradients, broadcast_module, mean_over_processes
from singan.training.optimizers import adam, frozen, restore_training_tensors, training_tensors, update_average
from singan.training.progressive import images_at_stage

# The data order's random stream, apart from the latents' (see singan.seeds.stream_seed).
DATA_STREAM = 7_919
SNAPSHOT_IMAGES = 32
# The first checkpoint is written early (the default interval is 10k images) so that a run killed in its
# first minutes resumes instead of starting again.
FIRST_CHECKPOINT_IMAGES = 1000


class GANTrainer:
    """The networks, optimisers, random streams and counters of one multi-image run (one process of it)."""

    def __init__(self, config: GANConfig, data: ImageFolderData, device: torch.device, world: World = World()):
        self.config, self.data, self.device, self.world = config, data, device, world
        self.objective = objective_of(config, device)
        self.local_batch = local_batch(config, world)
        self.generator, self.discriminator = _networks(config)
        self.generator.to(device)
        self.discriminator.to(device)
        broadcast_module(self.generator, world)
        broadcast_module(self.discriminator, world)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        self.random = make_generator(device, stream_seed(config.seed, world.rank, 0))
        self.data_random = make_generator(torch.device("cpu"), stream_seed(config.seed, world.rank, DATA_STREAM))
        self.sampler = EpochSampler(len(data), seed=config.seed, rank=world.rank, world_size=world.size)
        self.images_seen = 0
        self.critic_steps = 0
        self.generator_steps = 0
        self.optimizer_resolution = 0
        self.generator_optimizer = self.discriminator_optimizer = None
        self.snapshot_latents = torch.randn(SNAPSHOT_IMAGES, config.z_dim, device=device,
                                            generator=make_generator(device, config.seed or 0))

    @property
    def stage(self) -> Stage:
        return self.objective.stage(self.images_seen)

    def step(self) -> dict[str, float]:
        """One iteration of the objective, then the average; returns this step's losses."""
        stage = self.stage
        self._prepare_optimizers(stage)
        losses = self.objective.iteration(self, stage)
        self.update_average()
        return losses

    # ---- what a training session uses (singan.training.session): progress counted in images ------------------

    first_checkpoint = FIRST_CHECKPOINT_IMAGES

    @property
    def count(self) -> int:
        return self.images_seen

    def interval(self, name: str) -> int:
        return round(getattr(self.config, f"{name}_kimg") * 1000)

    def progress(self, total: int, losses: dict[str, float], seconds: float, counted: int) -> tuple[GANProgress, dict]:
        stage = self.stage
        per_kimg = seconds / (counted / 1000) if counted else None
        event = GANProgress(self.images_seen, total, stage.resolution, stage.alpha, losses, per_kimg)
        entry = {"images_seen": event.images_seen, "kimg": event.images_seen / 1000, "resolution": event.resolution,
                 "alpha": round(event.alpha, 6), "losses": event.losses, "seconds_per_kimg": per_kimg}
        return event, entry

    @torch.no_grad()
    def snapshot_grid(self) -> torch.Tensor:
        """A grid of the moving-average generator's images of fixed latents, at the current stage."""
        stage, generator = self.stage, self.generator_ema
        ws = generator.map(self.snapshot_latents)
        resolution = stage.resolution if self.objective.progressive else None
        images = generator.synthesize(ws, resolution=resolution, alpha=stage.alpha,
                                      generator=make_generator(self.device, 0))
        return image_grid(images.clamp(-1, 1).cpu())

    def nonfinite_error(self, losses: dict[str, float], saved: int | None) -> GANNonFiniteLossError:
        return GANNonFiniteLossError(self.images_seen, losses, saved)

    # ---- what the objectives use ----------------------------------------------------------------------------

    def reals(self, stage: Stage) -> torch.Tensor:
        """This process's share of the next real batch, as the discriminator sees it at `stage`; the batch
        counts towards the images seen (kimg: real images shown to the discriminator)."""
        indices = self.sampler.take(self.config.batch)
        self.images_seen += self.config.batch
        images = real_batch(self.data, indices, self.config.mirror, self.data_random).to(self.device)
        return images_at_stage(images, stage)

    def styles(self, count: int, update_average: bool = False) -> torch.Tensor:
        """Styles [count, num_ws, w_dim] of fresh latents, mixed with a second latent's with the configured
        probability (one crossover layer per batch, as the papers' code); a generator with one style input
        (PGGAN) is never mixed."""
        ws = self.generator.map(self._latents(count))
        if update_average:
            # The mean over every process's latents, so that the processes' averages stay identical.
            self.generator.update_w_avg(mean_over_processes(ws.detach().mean(dim=0, keepdim=True), self.world))
        if self.generator.num_ws > 1 and self.config.mixing_probability > 0:
            draw = torch.rand((), generator=self.random, device=self.device)
            crossover = torch.randint(1, self.generator.num_ws, (), generator=self.random, device=self.device)
            if float(draw) < self.config.mixing_probability:
                ws = mix_styles(ws, self.generator.map(self._latents(count)), int(crossover))
        return ws

    def fakes(self, stage: Stage, count: int, update_average: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """`count` generated images at `stage` and their styles."""
        ws = self.styles(count, update_average)
        images = self.generator.synthesize(ws, resolution=stage.resolution if self.objective.progressive else None,
                                           alpha=stage.alpha, generator=self.random)
        return images, ws

    def step_critic(self, loss: torch.Tensor) -> None:
        """A critic update that counts as a critic step."""
        self.regularize_critic(loss)
        self.critic_steps += 1

    def step_generator(self, loss: torch.Tensor) -> None:
        """A generator update that counts as a generator step."""
        self.regularize_generator(loss)
        self.generator_steps += 1

    def regularize_critic(self, loss: torch.Tensor) -> None:
        """A critic update outside the step count (a lazy regulariser's)."""
        self._update(self.discriminator, self.discriminator_optimizer, loss)

    def regularize_generator(self, loss: torch.Tensor) -> None:
        self._update(self.generator, self.generator_optimizer, loss)

    def critic_frozen(self):
        """Within the block the critic's weights get no gradients; it only passes them on to the images."""
        return frozen(self.discriminator)

    # ---- pieces ---------------------------------------------------------------------------------------------

    def _latents(self, count: int) -> torch.Tensor:
        return torch.randn(count, self.config.z_dim, generator=self.random, device=self.device)

    def _update(self, module: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(module, self.world)
        optimizer.step()

    def update_average(self) -> None:
        """The generator's exponential moving average (half-life ema_kimg), which generation uses."""
        update_average(self.generator_ema, self.generator, self.config.ema_beta(self.images_seen))

    def _prepare_optimizers(self, stage: Stage) -> None:
        """Fresh Adam states at the start and, when growing progressively, whenever a resolution is added."""
        if stage.resolution == self.optimizer_resolution:
            return
        rate, betas = self.objective.learning_rate(), (self.config.beta1, self.config.beta2)
        self.generator_optimizer = adam(self.generator, rate, betas,
                                        lazy_interval=self.objective.lazy_interval("generator"))
        self.discriminator_optimizer = adam(self.discriminator, rate, betas,
                                            lazy_interval=self.objective.lazy_interval("critic"))
        self.optimizer_resolution = stage.resolution

    # ---- checkpoints ----------------------------------------------------------------------------------------

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor a resumed run needs: the three networks, both optimisers' states, random streams, and
        the objective's own state."""
        tensors = training_tensors(self.networks(), self.optimizers())
        tensors["random.latents"] = self.random.get_state()
        tensors["random.data"] = self.data_random.get_state()
        tensors |= self.objective.state_tensors()
        return {key: value.detach().cpu().contiguous() for key, value in tensors.items()}

    def state_record(self) -> dict:
        """The counters and the data order, as JSON."""
        return {"images_seen": self.images_seen, "critic_steps": self.critic_steps,
                "generator_steps": self.generator_steps, "optimizer_resolution": self.optimizer_resolution,
                "sampler": self.sampler.state()}

    def restore(self, tensors: dict[str, torch.Tensor], record: dict) -> None:
        """Continue from `state_tensors` and `state_record` of an earlier trainer with the same config."""
        self.images_seen, self.critic_steps = int(record["images_seen"]), int(record["critic_steps"])
        self.generator_steps = int(record["generator_steps"])
        self.sampler.load_state(record["sampler"])
        self.optimizer_resolution = 0
        self._prepare_optimizers(Stage(int(record["optimizer_resolution"]), 1.0))
        restore_training_tensors(self.networks(), self.optimizers(), tensors)
        if self.world.main:
            self.random.set_state(tensors["random.latents"])
            self.data_random.set_state(tensors["random.data"])
        else:
            # The checkpoint holds the main process's streams; the others restart theirs from the counter.
            self.random.manual_seed(stream_seed(self.config.seed, self.world.rank, self.images_seen))
            self.data_random.manual_seed(stream_seed(self.config.seed, self.world.rank,
                                                     DATA_STREAM + self.images_seen))
        self.objective.restore(tensors)

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "generator_ema": self.generator_ema,
                "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator_optimizer": self.generator_optimizer,
                "discriminator_optimizer": self.discriminator_optimizer}


def local_batch(config: GANConfig, world: World) -> int:
    """Each process's share of the batch."""
    if config.batch % world.size:
        raise ConfigError(f"--batch {config.batch} must be divisible by the number of processes ({world.size})")
    return config.batch // world.size


def _networks(config: GANConfig) -> tuple[nn.Module, nn.Module]:
    """Both networks initialised from the run seed, without touching torch's global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed if config.seed is not None else 0)
        return build_generator(config), build_discriminator(config)
