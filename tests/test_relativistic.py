"""ESRGAN's relativistic average GAN loss, against its formula."""

from __future__ import annotations

import torch

from singan.losses import relativistic


def bce(logits, target):
    return -(target * torch.log(torch.sigmoid(logits)) + (1 - target) * torch.log(1 - torch.sigmoid(logits))).mean()


def test_the_losses_follow_the_formula():
    real, fake = torch.tensor([1.5, 0.2, -0.3]), torch.tensor([-1.0, 0.4, 0.1])
    expected_d = (bce(real - fake.mean(), 1) + bce(fake - real.mean(), 0)) / 2
    expected_g = (bce(real - fake.mean(), 0) + bce(fake - real.mean(), 1)) / 2
    assert torch.allclose(relativistic.critic_loss(real, fake), expected_d)
    assert torch.allclose(relativistic.generator_loss(real, fake), expected_g)


def test_the_critic_loss_falls_as_reals_outscore_fakes_and_the_generators_rises():
    fake = torch.zeros(4)
    losses = [(relativistic.critic_loss(fake + gap, fake).item(), relativistic.generator_loss(fake + gap, fake).item())
              for gap in (0.0, 1.0, 3.0)]
    assert losses[0][0] > losses[1][0] > losses[2][0]
    assert losses[0][1] < losses[1][1] < losses[2][1]


def test_the_generator_loss_sends_no_gradient_through_the_real_scores():
    real = torch.randn(3, requires_grad=True)
    fake = torch.randn(3, requires_grad=True)
    relativistic.generator_loss(real, fake).backward()
    assert real.grad is None and fake.grad is not None and fake.grad.abs().sum() > 0


def test_per_pixel_logits_of_the_unet_discriminator_work_too():
    real, fake = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    assert relativistic.critic_loss(real, fake).dim() == 0
