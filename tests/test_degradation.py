"""The low-resolution inputs of super-resolution training: ESRGAN's bicubic shrink and Real-ESRGAN's
second-order degradation (sizes, ranges, a seed's determinism, the kernels)."""

from __future__ import annotations

import math

import pytest
import torch

from singan.data.degradation import (KERNEL_SIZES, bicubic, blur_kernel, jpeg, realesrgan, sinc_kernel)


def test_bicubic_shrinks_by_the_scale_and_keeps_a_flat_image_flat():
    flat = torch.full((2, 3, 32, 48), 0.3)
    low = bicubic(flat, 4)
    assert low.shape == (2, 3, 8, 12) and torch.allclose(low, flat[..., :8, :12], atol=1e-6)


@pytest.mark.parametrize("scale", [2, 4])
def test_realesrgan_gives_the_low_resolution_size_in_range_and_follows_the_seed(scale):
    high = torch.rand(3, 3, 48, 64)
    first = realesrgan(high, scale, torch.Generator().manual_seed(5))
    assert first.shape == (3, 3, 48 // scale, 64 // scale)
    assert first.min() >= 0 and first.max() <= 1 and torch.isfinite(first).all()
    assert torch.equal(first, realesrgan(high, scale, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, realesrgan(high, scale, torch.Generator().manual_seed(6)))


def test_realesrgan_degrades_more_than_bicubic():
    rows, columns = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    stripes = ((torch.sin(rows / 2) * torch.cos(columns / 3) + 1) / 2).expand(1, 3, -1, -1).contiguous()
    reference = bicubic(stripes, 4)
    errors = [(realesrgan(stripes, 4, torch.Generator().manual_seed(seed)) - reference).abs().mean().item()
              for seed in range(6)]
    assert min(errors) > 0.005  # every draw blurs, resizes, adds noise and compresses


@pytest.mark.parametrize("shape, beta", [("gaussian", 1.0), ("generalized", 0.5), ("generalized", 4.0),
                                         ("plateau", 1.0), ("plateau", 2.0)])
def test_blur_kernels_sum_to_one_and_peak_in_the_middle(shape, beta):
    kernel = blur_kernel(21, 2.5, 1.0, math.pi / 5, shape, beta)
    assert kernel.shape == (21, 21) and kernel.sum().item() == pytest.approx(1, abs=1e-5)
    assert kernel.argmax().item() == 10 * 21 + 10 and (kernel >= 0).all()


def test_an_isotropic_kernel_is_symmetric_and_an_anisotropic_one_follows_its_angle():
    iso = blur_kernel(15, 2.0, 2.0, 0.0)
    assert torch.allclose(iso, iso.T, atol=1e-7) and torch.allclose(iso, iso.flip(0), atol=1e-7)
    wide = blur_kernel(15, 3.0, 0.5, 0.0)  # long along x (columns)
    assert wide[7].sum() > wide[:, 7].sum()
    turned = blur_kernel(15, 3.0, 0.5, math.pi / 2)
    assert torch.allclose(turned, wide.T, atol=1e-6)


def test_the_sinc_kernel_is_a_low_pass_that_rings():
    kernel = sinc_kernel(21, math.pi / 3)
    assert kernel.sum().item() == pytest.approx(1, abs=1e-5) and kernel.min() < 0  # negative lobes: ringing
    assert all(size % 2 == 1 for size in KERNEL_SIZES) and KERNEL_SIZES[0] == 7 and KERNEL_SIZES[-1] == 21


def test_jpeg_round_trip_keeps_size_and_channels_and_loses_more_at_low_quality():
    image = torch.rand(2, 3, 16, 24)
    gray = torch.rand(1, 1, 16, 24)
    assert jpeg(image, 90).shape == image.shape and jpeg(gray, 50).shape == gray.shape
    assert (jpeg(image, 30) - image).abs().mean() > (jpeg(image, 95) - image).abs().mean()
