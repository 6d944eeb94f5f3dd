"""One training loop for PGGAN, StyleGAN and StyleGAN2: the networks, their optimisers and every step.

A step is one critic (discriminator) update and one generator update on a batch, then the moving
average of the generator. The architectures differ only in their losses and regularisers:
- pggan: WGAN-GP (lambda 10) + drift 0.001 E[D(real)^2]; progressive growing with Adam reset per resolution;
- stylegan: non-saturating logistic loss, R1 on every critic step, style mixing, progressive growing;
- stylegan2: logistic loss, lazy R1 (every 16 critic steps) and path-length regularisation (every 4
  generator steps), with the optimisers' lr and betas corrected for the lazy intervals, style mixing.
Everything that a resumed run needs to continue exactly is in `state_tensors` and `state_record`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from singan.checkpoint import unprefixed
from singan.device import make_generator
from singan.gan_config import GANConfig
from singan.imagefolder import EpochSampler, ImageFolderData, real_batch
from singan.models.gan import build_discriminator, build_generator, mix_styles
from singan.training import gan_losses as losses
from singan.training.distributed import World, average_gradients, broadcast_module, mean_over_processes
from singan.training.progressive import Stage, images_at_stage, stage_at
from singan.errors import ConfigError

# Offsets that give each process, and each purpose, its own random stream from the one run seed.
_RANK_STRIDE = 1_000_003
_DATA_STREAM = 7_919


class GANTrainer:
    """The networks, optimisers, random streams and counters of one multi-image run (one process of it)."""

    def __init__(self, config: GANConfig, data: ImageFolderData, device: torch.device, world: World = World()):
        self.config, self.data, self.device, self.world = config, data, device, world
        self.local_batch = local_batch(config, world)
        self.generator, self.discriminator = _networks(config)
        self.generator.to(device)
        self.discriminator.to(device)
        broadcast_module(self.generator, world)
        broadcast_module(self.discriminator, world)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        self.random = make_generator(device, _stream_seed(config.seed, world.rank, 0))
        self.data_random = make_generator(torch.device("cpu"), _stream_seed(config.seed, world.rank, _DATA_STREAM))
        self.sampler = EpochSampler(len(data), seed=config.seed, rank=world.rank, world_size=world.size)
        self.images_seen = 0
        self.critic_steps = 0
        self.generator_steps = 0
        self.path_length_mean = torch.zeros((), device=device)
        self.optimizer_resolution = 0
        self.generator_optimizer = self.discriminator_optimizer = None

    @property
    def stage(self) -> Stage:
        return stage_at(self.config, self.images_seen)

    # ---- one step -------------------------------------------------------------------------------------------

    def step(self) -> dict[str, float]:
        """One critic and one generator update on the next batch; returns this step's losses."""
        stage = self.stage
        self._prepare_optimizers(stage)
        losses_now = self.critic_step(stage)
        losses_now.update(self.generator_step(stage))
        self.images_seen += self.config.batch
        self.update_average()
        return losses_now

    def critic_step(self, stage: Stage) -> dict[str, float]:
        real = self._reals(stage)
        with torch.no_grad():
            fake = self._fakes(stage, self.local_batch)[0]
        options = {"resolution": stage.resolution, "alpha": stage.alpha}
        every_step_r1 = self.config.arch == "stylegan" and self.config.r1_weight > 0
        real.requires_grad_(every_step_r1)
        real_scores, fake_scores = self.discriminator(real, **options), self.discriminator(fake, **options)
        if self.config.arch == "pggan":
            loss, reported = self._wasserstein_critic(real, fake, real_scores, fake_scores, options)
        else:
            loss = losses.logistic_critic_loss(real_scores, fake_scores)
            reported = {"critic": _number(loss)}
            if every_step_r1:
                penalty = losses.r1_penalty(real_scores, real)
                loss = loss + self.config.r1_weight / 2 * penalty
                reported["r1"] = _number(penalty)
        reported["real_score"], reported["fake_score"] = _number(real_scores.mean()), _number(fake_scores.mean())
        self._update(self.discriminator, self.discriminator_optimizer, loss)
        self.critic_steps += 1
        if self._lazy_r1_due():
            reported["r1"] = self.lazy_r1_step(real)
        return reported

    def _wasserstein_critic(self, real, fake, real_scores, fake_scores, options) -> tuple[torch.Tensor, dict]:
        distance = losses.wasserstein_critic_loss(real_scores, fake_scores)
        penalty = losses.gradient_penalty(self.discriminator, real, fake, self.random, **options)
        drift = losses.drift_penalty(real_scores)
        loss = distance + self.config.gp_weight * penalty + self.config.drift_weight * drift
        return loss, {"critic": _number(distance), "gradient_penalty": _number(penalty), "drift": _number(drift)}

    def _lazy_r1_due(self) -> bool:
        return (self.config.arch == "stylegan2" and self.config.r1_weight > 0
                and self.critic_steps % self.config.r1_interval == 0)

    def lazy_r1_step(self, real: torch.Tensor) -> float:
        """StyleGAN2's R1 on its own pass over the step's real batch, every r1_interval steps, weighted by the
        interval to make up."""
        real = real.detach().requires_grad_(True)
        penalty = losses.r1_penalty(self.discriminator(real), real)
        self._update(self.discriminator, self.discriminator_optimizer,
                     self.config.r1_weight / 2 * penalty * self.config.r1_interval)
        return _number(penalty)

    def generator_step(self, stage: Stage) -> dict[str, float]:
        self.discriminator.requires_grad_(False)
        try:
            fake, _ = self._fakes(stage, self.local_batch, update_average=True)
            scores = self.discriminator(fake, resolution=stage.resolution, alpha=stage.alpha)
            if self.config.arch == "pggan":
                loss = losses.wasserstein_generator_loss(scores)
            else:
                loss = losses.logistic_generator_loss(scores)
            self._update(self.generator, self.generator_optimizer, loss)
            self.generator_steps += 1
            reported = {"generator": _number(loss)}
            if self._path_length_due():
                reported["path_length"] = self.path_length_step(stage)
        finally:
            self.discriminator.requires_grad_(True)
        return reported

    def _path_length_due(self) -> bool:
        return (self.config.arch == "stylegan2" and self.config.pl_weight > 0
                and self.generator_steps % self.config.pl_interval == 0)

    def path_length_step(self, stage: Stage) -> float:
        """StyleGAN2's path-length regulariser on a smaller batch, every pl_interval generator steps."""
        count = max(1, self.local_batch // self.config.pl_batch_shrink)
        ws = self._styles(count).detach().requires_grad_(True)
        images = self.generator.synthesize(ws, generator=self.random)
        lengths = losses.path_lengths(images, ws, self.random)
        mean_length = mean_over_processes(lengths.mean().detach(), self.world)
        self.path_length_mean = self.path_length_mean.lerp(mean_length, self.config.pl_decay)
        penalty = losses.path_length_penalty(lengths, self.path_length_mean)
        self._update(self.generator, self.generator_optimizer,
                     penalty * self.config.pl_weight * self.config.pl_interval)
        return _number(penalty)

    # ---- pieces ---------------------------------------------------------------------------------------------

    def _reals(self, stage: Stage) -> torch.Tensor:
        indices = self.sampler.take(self.config.batch)
        images = real_batch(self.data, indices, self.config.mirror, self.data_random).to(self.device)
        return images_at_stage(images, stage)

    def _styles(self, count: int, update_average: bool = False) -> torch.Tensor:
        """Styles [count, num_ws, w_dim] of fresh latents, mixed with a second latent's with the configured
        probability (one crossover layer per batch, as the papers' code)."""
        ws = self.generator.map(self._latents(count))
        if update_average:
            # The mean over every process's latents, so that the processes' averages stay identical.
            self.generator.update_w_avg(mean_over_processes(ws.detach().mean(dim=0, keepdim=True), self.world))
        if self.config.arch != "pggan" and self.generator.num_ws > 1 and self.config.mixing_probability > 0:
            draw = torch.rand((), generator=self.random, device=self.device)
            crossover = torch.randint(1, self.generator.num_ws, (), generator=self.random, device=self.device)
            if float(draw) < self.config.mixing_probability:
                ws = mix_styles(ws, self.generator.map(self._latents(count)), int(crossover))
        return ws

    def _latents(self, count: int) -> torch.Tensor:
        return torch.randn(count, self.config.z_dim, generator=self.random, device=self.device)

    def _fakes(self, stage: Stage, count: int, update_average: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        ws = self._styles(count, update_average)
        images = self.generator.synthesize(ws, resolution=stage.resolution if self.config.progressive else None,
                                           alpha=stage.alpha, generator=self.random)
        return images, ws

    def _update(self, module: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(module, self.world)
        optimizer.step()

    @torch.no_grad()
    def update_average(self) -> None:
        """The generator's exponential moving average (half-life ema_kimg), which generation uses."""
        beta = self.config.ema_beta(self.images_seen)
        for averaged, current in zip(self.generator_ema.parameters(), self.generator.parameters()):
            averaged.lerp_(current, 1 - beta)
        for averaged, current in zip(self.generator_ema.buffers(), self.generator.buffers()):
            averaged.copy_(current)

    def _prepare_optimizers(self, stage: Stage) -> None:
        """Fresh Adam states at the start and, when growing progressively, whenever a resolution is added."""
        if stage.resolution == self.optimizer_resolution:
            return
        self.generator_optimizer = _adam(self.generator, self.config, self._lazy_interval("generator"))
        self.discriminator_optimizer = _adam(self.discriminator, self.config, self._lazy_interval("critic"))
        self.optimizer_resolution = stage.resolution

    def _lazy_interval(self, network: str) -> int | None:
        if self.config.arch != "stylegan2":
            return None
        if network == "generator":
            return self.config.pl_interval if self.config.pl_weight > 0 else None
        return self.config.r1_interval if self.config.r1_weight > 0 else None

    # ---- checkpoints ----------------------------------------------------------------------------------------

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor a resumed run needs: the three networks, both optimisers' states, random streams."""
        tensors = {}
        for prefix, module in self.networks().items():
            tensors |= {f"{prefix}.{key}": value for key, value in module.state_dict().items()}
        for prefix, optimizer in self.optimizers().items():
            tensors |= optimizer_tensors(prefix, optimizer)
        tensors["random.latents"] = self.random.get_state()
        tensors["random.data"] = self.data_random.get_state()
        tensors["path_length_mean"] = self.path_length_mean
        return {key: value.detach().cpu().contiguous() for key, value in tensors.items()}

    def state_record(self) -> dict:
        """The counters and the data order, as JSON."""
        return {"images_seen": self.images_seen, "critic_steps": self.critic_steps,
                "generator_steps": self.generator_steps, "optimizer_resolution": self.optimizer_resolution,
                "sampler": self.sampler.state()}

    def restore(self, tensors: dict[str, torch.Tensor], record: dict) -> None:
        """Continue from `state_tensors` and `state_record` of an earlier trainer with the same config."""
        for prefix, module in self.networks().items():
            module.load_state_dict(unprefixed(prefix + ".", tensors))
        self.images_seen, self.critic_steps = int(record["images_seen"]), int(record["critic_steps"])
        self.generator_steps = int(record["generator_steps"])
        self.sampler.load_state(record["sampler"])
        self.optimizer_resolution = 0
        self._prepare_optimizers(Stage(int(record["optimizer_resolution"]), 1.0))
        for prefix, optimizer in self.optimizers().items():
            load_optimizer(optimizer, prefix, tensors)
        if self.world.main:
            self.random.set_state(tensors["random.latents"])
            self.data_random.set_state(tensors["random.data"])
        else:
            # The checkpoint holds the main process's streams; the others restart theirs from the counter.
            self.random.manual_seed(_stream_seed(self.config.seed, self.world.rank, self.images_seen))
            self.data_random.manual_seed(_stream_seed(self.config.seed, self.world.rank,
                                                      _DATA_STREAM + self.images_seen))
        self.path_length_mean = tensors["path_length_mean"].to(self.device)

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


def _stream_seed(seed: int | None, rank: int, offset: int) -> int:
    return ((seed or 0) + rank * _RANK_STRIDE + offset) % 2**63


def _adam(module: nn.Module, config: GANConfig, lazy_interval: int | None) -> torch.optim.Adam:
    """Adam(lr, betas (0, 0.99)); with lazy regularisation every k steps, lr x k/(k+1) and betas ^ k/(k+1)
    (StyleGAN2), so that the regularised steps do not change the effective rates."""
    ratio = lazy_interval / (lazy_interval + 1) if lazy_interval else 1.0
    return torch.optim.Adam(module.parameters(), lr=config.learning_rate * ratio,
                            betas=(config.beta1**ratio, config.beta2**ratio))


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """An optimiser's per-parameter state as flat tensors: PREFIX.INDEX.NAME (hyperparameters come from the config)."""
    tensors = {}
    for index, values in optimizer.state_dict()["state"].items():
        for name, value in values.items():
            tensors[f"{prefix}.{index}.{name}"] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
    return tensors


def load_optimizer(optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
    state = optimizer.state_dict()
    found: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1:].split(".", 1)
            found.setdefault(int(index), {})[name] = value
    state["state"] = found
    optimizer.load_state_dict(state)



def _number(value: torch.Tensor) -> float:
    """A loss for the log: a plain float, detached from the graph."""
    return value.detach().item()
