"""SinGAN training: scales from coarse to fine, each against the frozen coarser ones."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from singan.config.singan import TrainConfig
from singan.errors import NonFiniteLossError
from singan.events import EventHandler, IterationFinished, ScaleStarted, ignore
from singan.losses import wasserstein
from singan.losses.reconstruction import reconstruction_loss
from singan.models.singan import PADDING, PatchCritic, ScaleGenerator, SinGAN, add_noise, new_networks
from singan.pyramid import Size, upsample
from singan.seeds import make_generator, scale_seed
from singan.training.optimizers import adam, fused_available


@dataclass(frozen=True)
class Window:
    """The part of a scale that one iteration trains on: rows top .. top + height, columns left .. left + width."""

    top: int
    left: int
    height: int
    width: int

    def crop(self, image: torch.Tensor, margin: int = 0) -> torch.Tensor:
        """The window of `image`, grown by `margin` px on every side (`image` is that much larger)."""
        return image[..., self.top:self.top + self.height + 2 * margin, self.left:self.left + self.width + 2 * margin]


def random_window(size: Size, crop_size: int, rng: torch.Generator) -> Window | None:
    """A uniformly placed crop_size x crop_size window (each side at most the image's), or None for the whole
    image: when cropping is off or the scale is no larger than the crop."""
    height, width = min(crop_size, size[0]), min(crop_size, size[1])
    if crop_size == 0 or (height, width) == tuple(size):
        return None
    top, left = torch.randint(0, 2**31 - 1, (2,), generator=rng, device=rng.device).tolist()
    return Window(top % (size[0] - height + 1), left % (size[1] - width + 1), height, width)


def _generator_input(noisy: torch.Tensor, previous: torch.Tensor,
                     window: Window | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's (noisy, previous) inputs for `window`: the noisy input is cut with its PADDING px of
    context (zeros at the image border, as the generator pads), so a window's output is the whole image's
    output in that window up to batch-norm statistics."""
    if window is None:
        return noisy, previous
    if noisy.shape[-2:] == previous.shape[-2:]:
        noisy = F.pad(noisy, [PADDING] * 4)
    return window.crop(noisy, PADDING), window.crop(previous)


@dataclass(frozen=True)
class AdversarialGradient:
    """The adversarial loss of one fake and its gradient for every generator parameter.

    The original takes its generator steps on the fake of the last critic step, backpropagating through
    that one forward pass again at every step (torch <= 1.4 allowed it after the weights had changed in
    place). Computing the gradient once and adding it at every step is that update without the stale graph;
    it differs only by the few weight changes of the steps in between, which the original's backward saw.
    """

    loss: torch.Tensor
    gradients: tuple[torch.Tensor, ...]

    @classmethod
    def of(cls, loss: torch.Tensor, generator: ScaleGenerator) -> AdversarialGradient:
        return cls(loss.detach(), torch.autograd.grad(loss, list(generator.parameters())))

    def add_to(self, generator: ScaleGenerator) -> None:
        for parameter, gradient in zip(generator.parameters(), self.gradients):
            parameter.grad = gradient.clone() if parameter.grad is None else parameter.grad + gradient


@dataclass
class ScaleResult:
    scale: int
    generator: ScaleGenerator
    critic: PatchCritic
    noise_amplitude: float
    seconds: float
    iterations: int


class ScaleTrainer:
    """Trains one scale's generator and critic; the coarser scales of `model` are frozen."""

    def __init__(self, model: SinGAN, real: torch.Tensor, generator: ScaleGenerator, critic: PatchCritic,
                 config: TrainConfig, rng: torch.Generator,
                 condition: Callable[[torch.Tensor], torch.Tensor] | None = None):
        """`condition` maps every coarser image before this scale sees it (paint's colour quantisation)."""
        self.model, self.real, self.config, self.rng = model, real, config, rng
        self.condition = condition
        self.scale = model.num_scales
        self.size = tuple(real.shape[-2:])
        self.iterations = config.iterations_at(self.size)
        self.generator, self.critic = generator.train(), critic.train()
        self.generator_optimizer = _adam(generator, config.generator_learning_rate, config)
        self.critic_optimizer = _adam(critic, config.critic_learning_rate, config)
        self.reconstruction_previous = self._coarser_image(model.reconstruction_noises())
        self.noise_amplitude = self._noise_amplitude()
        self.reconstruction_input = self.reconstruction_previous
        if self.scale == 0:
            self.reconstruction_input = add_noise(self.reconstruction_previous, model.reconstruction_noise,
                                                  self.noise_amplitude)

    def _noise_amplitude(self) -> float:
        """1 at the coarsest scale; above it, a fraction of how far the upsampled reconstruction is from real."""
        if self.scale == 0:
            return 1.0
        error = reconstruction_loss(self.reconstruction_previous, self.real).sqrt()
        return self.config.noise_amplitude * float(error)

    @torch.no_grad()
    def _coarser_image(self, noises: list) -> torch.Tensor:
        """The frozen scales' output for `noises`, upsampled to this scale (zeros at the coarsest)."""
        if self.scale == 0:
            return torch.zeros_like(self.real)
        coarser = upsample(self.model.synthesize(noises, self.model.sizes), self.size)
        return coarser if self.condition is None else self.condition(coarser)

    def random_previous(self) -> torch.Tensor:
        noises = [self.model.draw_noise(self.rng, scale, size) for scale, size in enumerate(self.model.sizes)]
        return self._coarser_image(noises)

    def critic_step(self, noise: torch.Tensor, window: Window | None = None,
                    keep_fake: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """One WGAN-GP update of the critic on a fresh coarser sample; returns the generator's inputs and
        the fake, with its graph when `keep_fake` (the original's generator steps train on it).

        With a `window`, the critic sees that part of the real and generated images only.
        """
        previous = self.random_previous()
        noisy, previous = _generator_input(add_noise(previous, noise, self.noise_amplitude), previous, window)
        real = self.real if window is None else window.crop(self.real)
        with torch.set_grad_enabled(keep_fake):
            fake = self.generator(noisy, previous)
        real_scores = self.critic(real)
        fake_scores = self.critic(fake.detach())
        penalty = wasserstein.gradient_penalty(self.critic, between(real, fake.detach(), self.rng), per_pixel=True)
        loss = wasserstein.critic_loss(real_scores, fake_scores) + self.config.gradient_penalty_weight * penalty
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return noisy, previous, fake, {"critic": loss.detach(), "gradient_penalty": penalty.detach()}

    def generator_step(self, noisy: torch.Tensor, previous: torch.Tensor, window: Window | None = None,
                       adversarial_gradient: AdversarialGradient | None = None) -> dict:
        """One generator update.

        By default the fake is recomputed from `noisy` and `previous` (from `critic_step`) with the current
        weights. With `adversarial_gradient` (the original's schedule) the adversarial part of the update is
        that fixed gradient of the last critic step's fake instead. `window` limits the reconstruction loss.
        """
        if adversarial_gradient is None:
            adversarial = self._adversarial_loss(self.generator(noisy, previous))
            loss = adversarial
        else:
            adversarial, loss = adversarial_gradient.loss, None
        losses = {"adversarial": adversarial.detach()}
        if self.config.reconstruction_weight > 0:
            inputs = _generator_input(self.reconstruction_input, self.reconstruction_previous, window)
            real = self.real if window is None else window.crop(self.real)
            reconstruction = reconstruction_loss(self.generator(*inputs), real)
            weighted = self.config.reconstruction_weight * reconstruction
            loss = weighted if loss is None else loss + weighted
            losses["reconstruction"] = reconstruction.detach()
        self.generator_optimizer.zero_grad(set_to_none=True)
        if loss is not None:
            loss.backward()
        if adversarial_gradient is not None:
            adversarial_gradient.add_to(self.generator)
        self.generator_optimizer.step()
        return losses

    def _adversarial_loss(self, fake: torch.Tensor) -> torch.Tensor:
        # The critic's weights get no gradient here; it only passes the gradient on to the fake.
        self.critic.requires_grad_(False)
        adversarial = wasserstein.generator_loss(self.critic(fake))
        self.critic.requires_grad_(True)
        return adversarial

    def iteration(self) -> dict:
        """Critic steps then generator steps; one noise map per iteration, as the original."""
        if self.scale == 0 and self.config.redraw_reconstruction_noise:
            self._redraw_reconstruction_noise()
        noise = self.model.draw_noise(self.rng, self.scale, self.size)
        window = random_window(self.size, self.config.crop_size, self.rng)
        reuse = not self.config.fresh_fake
        critic_steps, generator_steps = self.config.steps_at(self.scale, self.size)
        for step in range(critic_steps):
            keep = reuse and step == critic_steps - 1
            noisy, previous, fake, critic_losses = self.critic_step(noise, window, keep_fake=keep)
        gradient = AdversarialGradient.of(self._adversarial_loss(fake), self.generator) if reuse else None
        for _ in range(generator_steps):
            generator_losses = self.generator_step(noisy, previous, window, gradient)
        return {**critic_losses, **generator_losses}

    def _redraw_reconstruction_noise(self) -> None:
        """The original's coarsest scale: a new z_rec every iteration, the last one kept. The generator then
        learns to reproduce the image from any noise, so its samples stay close to the reconstruction."""
        self.model.reconstruction_noise = self.model.draw_noise(self.rng, 0, self.size)
        self.reconstruction_input = add_noise(self.reconstruction_previous, self.model.reconstruction_noise,
                                              self.noise_amplitude)

    def decay_learning_rate(self) -> None:
        for optimizer in (self.generator_optimizer, self.critic_optimizer):
            for group in optimizer.param_groups:
                group["lr"] *= self.config.lr_decay

    def run(self, emit: EventHandler = ignore) -> ScaleResult:
        config, iterations = self.config, self.iterations
        decay_at = round(config.lr_decay_at * iterations)
        started = time.perf_counter()
        for index in range(iterations):
            if index == decay_at:
                self.decay_learning_rate()
            losses = _to_floats(self.iteration())
            if not all(np.isfinite(value) for value in losses.values()):
                raise NonFiniteLossError(self.scale, index + 1, losses)
            logged = (index + 1) % config.log_every == 0 or index == 0 or index + 1 == iterations
            emit(IterationFinished(self.scale, index + 1, iterations, losses if logged else {}))
        return ScaleResult(self.scale, self.generator, self.critic, self.noise_amplitude,
                           time.perf_counter() - started, iterations)


def _adam(module: torch.nn.Module, learning_rate: float, config: TrainConfig) -> torch.optim.Adam:
    # The fused kernel updates all of a network's parameters in one call: the same Adam, without the
    # per-parameter overhead that dominates the small coarse scales (other backends keep the loop).
    return adam(module, learning_rate, (config.beta1, config.beta2), fused=fused_available(module))


def between(real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """One random point per image on the line from the fake to the real image, where WGAN-GP measures the
    critic's gradient: mix * real + (1 - mix) * fake, as the original."""
    mix = torch.rand(real.shape[0], 1, 1, 1, generator=rng, device=rng.device).to(real.device)
    return mix * real + (1 - mix) * fake


def _to_floats(losses: dict[str, torch.Tensor]) -> dict[str, float]:
    # One transfer for all values: on a GPU each .item() would wait for the device separately.
    values = torch.stack(list(losses.values())).tolist()
    return dict(zip(losses, values))


class PyramidTrainer:
    """Adds trained scales to `model` one at a time until the pyramid is complete."""

    def __init__(self, model: SinGAN, reals: list[torch.Tensor], config: TrainConfig, emit: EventHandler = ignore):
        if config.seed is None:
            raise ValueError("the configuration needs a resolved seed")
        self.model, self.reals, self.config, self.emit = model, reals, config, emit

    @property
    def done(self) -> bool:
        return self.model.num_scales >= len(self.reals)

    def train_next_scale(self) -> ScaleResult:
        scale = self.model.num_scales
        real = self.reals[scale]
        rng = make_generator(real.device, scale_seed(self.config.seed, scale))
        generator, critic = self._networks(scale, rng)
        if scale == 0:
            self.model.reconstruction_noise = self.model.draw_noise(rng, 0, tuple(real.shape[-2:]))
        trainer = ScaleTrainer(self.model, real, generator, critic, self.config, rng)
        self.emit(ScaleStarted(scale, len(self.reals), trainer.size, self.config.width(scale), trainer.iterations))
        result = trainer.run(self.emit)
        self.model.add_scale(result.generator, result.critic, result.noise_amplitude, tuple(real.shape[-2:]))
        return result

    def _networks(self, scale: int, rng: torch.Generator) -> tuple[ScaleGenerator, PatchCritic]:
        """A new scale starts from the previous scale's weights when the width is unchanged (as the paper)."""
        width = self.config.width(scale)
        if scale > 0 and self.config.width(scale - 1) == width:
            pair = copy.deepcopy(self.model.generators[scale - 1]), copy.deepcopy(self.model.critics[scale - 1])
            return tuple(network.requires_grad_(True).train() for network in pair)
        return new_networks(self.model.image_channels, width, rng)

