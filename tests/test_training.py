"""The training semantics: losses, steps, noise amplitude, schedule, weight copying, failures."""

import copy

import pytest
import torch

from singan.config.singan import TrainConfig
from singan.errors import NonFiniteLossError
from singan.losses.wasserstein import gradient_penalty
from singan.models.singan import SinGAN, draw_noise, new_networks
from singan.pyramid import build_pyramid, plan_pyramid, upsample
from singan.seeds import make_generator
from singan.training import singan as training
from singan.training.singan import PyramidTrainer, ScaleTrainer

from conftest import TINY, synthetic_image

CPU = torch.device("cpu")


def tiny_reals(config: TrainConfig, channels: int = 3) -> list[torch.Tensor]:
    pixels = torch.from_numpy(synthetic_image(24, 32, channels)).float() / 127.5 - 1
    image = pixels.permute(2, 0, 1)[None] if channels == 3 else pixels[None, None]
    return build_pyramid(image, plan_pyramid(24, 32, config.min_size, config.max_size, config.scale_factor))


def scale_zero_trainer(config: TrainConfig, seed: int = 0) -> ScaleTrainer:
    reals = tiny_reals(TINY)
    rng = make_generator(CPU, seed)
    model = SinGAN(3)
    model.reconstruction_noise = draw_noise(rng, 1, tuple(reals[0].shape[-2:]))
    return ScaleTrainer(model, reals[0], *new_networks(3, 32, rng), config, rng)


def test_every_generator_step_gets_an_adversarial_gradient_from_a_fresh_fake():
    # Without the reconstruction term, the generator's gradient is the adversarial term alone.
    trainer = scale_zero_trainer(TrainConfig(reconstruction_weight=0.0, seed=0))
    noise = draw_noise(trainer.rng, 1, trainer.size)
    noisy, previous, _, _ = trainer.critic_step(noise)
    gradients = []
    for _ in range(3):
        trainer.generator_step(noisy, previous)
        gradient = torch.cat([parameter.grad.flatten() for parameter in trainer.generator.parameters()])
        assert gradient.abs().sum() > 0, "the adversarial term must reach the generator in every step"
        gradients.append(gradient)
    # A fake reused from before the first step (or one gradient applied three times) would give
    # the same gradient every step; a fresh fake from the updated weights gives a new one.
    assert not torch.equal(gradients[0], gradients[1])
    assert not torch.equal(gradients[1], gradients[2])


def test_the_originals_schedule_reuses_the_last_critic_steps_fake_for_every_generator_step():
    # fresh_fake=False: the fake of the last critic step, with its graph, gives one adversarial gradient that
    # every generator step applies; the reconstruction term is still recomputed with the current weights.
    trainer = scale_zero_trainer(TrainConfig(reconstruction_weight=0.0, fresh_fake=False, seed=0))
    forwards = []
    handle = trainer.generator.register_forward_hook(lambda module, inputs, output: forwards.append(output))
    steps = []
    original_step = trainer.generator_optimizer.step

    def record_gradient(*args, **kwargs):
        steps.append(torch.cat([parameter.grad.flatten() for parameter in trainer.generator.parameters()]))
        return original_step(*args, **kwargs)

    trainer.generator_optimizer.step = record_gradient
    try:
        losses = trainer.iteration()
    finally:
        handle.remove()
    assert len(forwards) == 3, "one forward per critic step and none in the generator steps without alpha"
    assert forwards[-1].requires_grad and not forwards[0].requires_grad
    assert len(steps) == 3 and steps[0].abs().sum() > 0
    assert torch.equal(steps[0], steps[1]) and torch.equal(steps[1], steps[2])
    assert set(losses) == {"critic", "gradient_penalty", "adversarial"}


def counted_updates(trainer) -> dict[str, int]:
    """Counts of the critic's and the generator's optimizer steps from now on, kept up to date."""
    steps = {"critic": 0, "generator": 0}
    for name in steps:
        optimizer = getattr(trainer, f"{name}_optimizer")
        optimizer.register_step_post_hook(lambda *_, name=name: steps.__setitem__(name, steps[name] + 1))
    return steps


def test_the_coarse_scales_take_coarse_steps():
    counts = {}
    for coarse_scales in (0, 1):
        trainer = scale_zero_trainer(TrainConfig(critic_steps=1, generator_steps=1, coarse_scales=coarse_scales,
                                                 coarse_steps=3, seed=0))
        steps = counted_updates(trainer)
        trainer.iteration()
        counts[coarse_scales] = steps
    assert counts == {0: {"critic": 1, "generator": 1}, 1: {"critic": 3, "generator": 3}}


def test_redrawn_reconstruction_noise_keeps_the_last_draw():
    # The original draws z_rec anew at every iteration of the coarsest scale and keeps the last one; the
    # paper's z_rec (the default) is drawn once.
    for redraw in (False, True):
        trainer = scale_zero_trainer(TrainConfig(redraw_reconstruction_noise=redraw, seed=0))
        first = trainer.model.reconstruction_noise.clone()
        inputs = []
        for _ in range(3):
            trainer.iteration()
            inputs.append(trainer.reconstruction_input.clone())
        last = trainer.model.reconstruction_noise
        assert torch.equal(first, last) != redraw
        assert torch.equal(inputs[0], inputs[1]) != redraw
        # what the generator was last trained to reconstruct from is what the model keeps
        assert torch.equal(inputs[-1], (last * trainer.noise_amplitude).expand_as(inputs[-1]))


def test_generator_step_does_not_train_the_critic():
    trainer = scale_zero_trainer(TrainConfig(seed=0))
    noise = draw_noise(trainer.rng, 1, trainer.size)
    noisy, previous, _, _ = trainer.critic_step(noise)
    before = [parameter.clone() for parameter in trainer.critic.parameters()]
    trainer.critic.zero_grad(set_to_none=True)
    trainer.generator_step(noisy, previous)
    assert all(parameter.grad is None for parameter in trainer.critic.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.critic.parameters()))
    assert all(parameter.requires_grad for parameter in trainer.critic.parameters())


def test_losses_fall_on_a_fixed_batch():
    """At scale 0 the coarser image is empty, so with one noise map the critic sees the same real and fake
    images every step: its WGAN-GP loss falls as it learns to tell them apart. Then, against that critic
    held still, the generator's adversarial and reconstruction losses fall on its fixed inputs."""
    trainer = scale_zero_trainer(TrainConfig(seed=0))
    noise = draw_noise(trainer.rng, 1, trainer.size)
    critic = []
    for _ in range(30):
        noisy, previous, _, losses = trainer.critic_step(noise)
        critic.append(float(losses["critic"]))
    generator = [trainer.generator_step(noisy, previous) for _ in range(30)]
    assert critic[-1] < critic[0] - 1 and max(critic[-5:]) < min(critic[:5])
    adversarial = [float(losses["adversarial"]) for losses in generator]
    reconstruction = [float(losses["reconstruction"]) for losses in generator]
    assert adversarial[-1] < adversarial[0] - 1
    assert reconstruction[-1] < 0.25 * reconstruction[0]


def test_gradient_penalty_uses_per_pixel_channel_norms():
    # A linear 1x1 critic has the same input gradient w at every pixel: penalty = (|w| - 1)^2.
    critic = torch.nn.Conv2d(3, 1, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([3.0, 0.0, 4.0]).view(1, 3, 1, 1))
    real, fake = torch.rand(2, 3, 5, 6), torch.rand(2, 3, 5, 6)
    penalty = gradient_penalty(critic, training.between(real, fake, make_generator(CPU, 0)), per_pixel=True)
    assert penalty.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_noise_amplitude_rule_and_frozen_scales():
    config = TrainConfig(min_size=12, max_size=32, iterations=3, seed=1)
    reals = tiny_reals(config)
    model = SinGAN(3)
    trainer = PyramidTrainer(model, reals, config)
    trainer.train_next_scale()
    assert model.noise_amplitudes[0] == 1.0
    assert not model.generators[0].training and not any(p.requires_grad for p in model.generators[0].parameters())
    trainer.train_next_scale()
    with torch.no_grad():
        rebuilt = upsample(model.reconstruct(0), tuple(reals[1].shape[-2:]))
    expected = 0.1 * torch.sqrt(torch.mean((reals[1] - rebuilt) ** 2)).item()
    assert model.noise_amplitudes[1] == pytest.approx(expected, rel=1e-5)


def test_a_new_scale_copies_the_previous_weights_when_the_width_is_unchanged(monkeypatch):
    config = TrainConfig(min_size=12, max_size=32, iterations=2, seed=1, channels_double_every=2)
    reals = tiny_reals(config)
    model = SinGAN(3)
    trainer = PyramidTrainer(model, reals, config)
    trainer.train_next_scale()
    started = {}

    def remember(self, emit):
        started[self.scale] = {key: value.clone() for key, value in self.generator.state_dict().items()}
        return original(self, emit)

    original = ScaleTrainer.run
    monkeypatch.setattr(ScaleTrainer, "run", remember)
    trainer.train_next_scale()  # scale 1: width 32 as scale 0, so copied
    trainer.train_next_scale()  # scale 2: width 64, fresh
    copied = model.generators[0].state_dict()
    assert all(torch.equal(started[1][key], copied[key]) for key in copied)
    assert started[2]["trunk.0.0.weight"].shape[0] == 64


def test_learning_rate_drops_once_at_eighty_percent(monkeypatch):
    config = TrainConfig(iterations=10, seed=0)
    trainer = scale_zero_trainer(config)
    rates = []
    monkeypatch.setattr(ScaleTrainer, "iteration",
                        lambda self: rates.append(self.generator_optimizer.param_groups[0]["lr"]) or
                        {"critic": torch.tensor(0.0)})
    trainer.run()
    assert rates == pytest.approx([5e-4] * 8 + [5e-5] * 2)


def test_scale_zero_uses_one_noise_channel_and_finer_scales_use_colour():
    model = SinGAN(3)
    assert model.noise_channels(0) == 1 and model.noise_channels(1) == 3
    assert SinGAN(1).noise_channels(4) == 1


def test_non_finite_losses_stop_training_naming_scale_and_iteration(monkeypatch):
    trainer = scale_zero_trainer(TrainConfig(iterations=5, seed=0))
    calls = []
    original = ScaleTrainer.iteration

    def poisoned(self):
        losses = original(self)
        calls.append(1)
        return {**losses, "critic": torch.tensor(float("nan"))} if len(calls) == 3 else losses

    monkeypatch.setattr(ScaleTrainer, "iteration", poisoned)
    with pytest.raises(NonFiniteLossError, match="scale 0, iteration 3"):
        trainer.run()


def test_scale_seeds_are_fixed_functions_of_the_run_seed_and_the_scale():
    # The values 0.1.0 derived: a run it left unfinished resumes each scale exactly as it would have trained it.
    assert training.scale_seed(7, 3) == 2530781778362038830
    assert training.scale_seed(7, 0) == 8460147692890830636
    assert len({training.scale_seed(7, scale) for scale in range(10)}) == 10
    assert training.scale_seed(7, 0) != training.scale_seed(8, 0)


def test_a_scale_trains_the_same_however_the_run_got_there():
    """Scale 1 trained right after scale 0, or by a fresh trainer on a copy of scale 0 (as a resumed run
    does) after torch's global random state has moved on, ends with identical weights."""
    config = TINY.replace(iterations=2)
    reals = tiny_reals(config)
    straight = PyramidTrainer(SinGAN(3), reals, config)
    straight.train_next_scale()
    resumed_model = copy.deepcopy(straight.model)
    straight.train_next_scale()
    torch.manual_seed(12345)
    torch.rand(7)
    PyramidTrainer(resumed_model, reals, config).train_next_scale()
    for key, value in straight.model.generators[1].state_dict().items():
        assert torch.equal(value, resumed_model.generators[1].state_dict()[key]), key
    assert straight.model.noise_amplitudes == resumed_model.noise_amplitudes