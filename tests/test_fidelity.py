"""Y-PSNR and SSIM as the super-resolution papers report them: BT.601 luma of 8-bit images, a border
cropped; and Real-ESRGAN's unsharp-masked targets."""

from __future__ import annotations

import math

import pytest
import torch

from singan.data.degradation import unsharp_mask
from singan.metrics.fidelity import luma, psnr_y, ssim_y


def test_luma_is_bt601_studio_range():
    assert luma(torch.ones(1, 3, 2, 2)) == pytest.approx(235.0)
    assert luma(torch.zeros(1, 3, 2, 2)) == pytest.approx(16.0)
    assert luma(torch.full((1, 1, 2, 2), 0.5)) == pytest.approx(128.0)  # grayscale is its own 8-bit level


def test_psnr_of_a_one_level_shift():
    image = torch.full((1, 3, 8, 8), 100 / 255)
    shifted = image + 1 / 255
    # One level in every channel moves Y by (65.481 + 128.553 + 24.966) / 255 levels.
    assert psnr_y(shifted, image) == pytest.approx(20 * math.log10(255 / (219 / 255)), abs=1e-6)
    assert psnr_y(image, image) == math.inf


def test_the_border_is_left_out():
    image = torch.rand(1, 3, 20, 20)
    framed = image.clone()
    framed[..., :4, :] = 0
    framed[..., :, -4:] = 1
    assert psnr_y(framed, image, border=4) == math.inf and ssim_y(framed, image, border=4) == pytest.approx(1.0)
    assert psnr_y(framed, image) < 20


def test_ssim_falls_with_noise():
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 32, 32, generator=generator)
    slightly = (image + 0.02 * torch.randn(image.shape, generator=generator)).clamp(0, 1)
    badly = (image + 0.2 * torch.randn(image.shape, generator=generator)).clamp(0, 1)
    assert 1 > ssim_y(slightly, image) > ssim_y(badly, image) > 0
    with pytest.raises(ValueError, match="sizes differ"):
        psnr_y(image, image[..., :16])


def test_unsharp_mask_keeps_flat_regions_and_steepens_edges():
    flat = torch.full((1, 3, 40, 40), 0.4)
    assert torch.allclose(unsharp_mask(flat), flat)
    edge = torch.full((1, 1, 64, 64), 0.3)
    edge[..., 32:] = 0.7
    sharpened = unsharp_mask(edge)
    assert sharpened.max() > 0.7 and sharpened.min() < 0.3  # overshoot on both sides of the step
    assert torch.allclose(sharpened[..., :, :2], edge[..., :, :2], atol=1e-3)  # far from the edge: unchanged
