"""Super-resolution fidelity as the field reports it: PSNR and SSIM on the Y channel (ITU-R BT.601, studio
range 16-235) of 8-bit images, with `border` pixels (the scale) cropped from every side. SSIM is Wang et
al.'s: an 11 px Gaussian window of sigma 1.5, K1 0.01, K2 0.03, population covariances, as the MATLAB
code behind the published tables."""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import structural_similarity

# BT.601 luma of RGB in [0, 1], in 8-bit levels: Y = 16 + 65.481 R + 128.553 G + 24.966 B.
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0


def luma(image: torch.Tensor) -> np.ndarray:
    """[1, C, H, W] or [C, H, W] in [0, 1] -> float64 [H, W] Y in 8-bit levels, from the image rounded to
    8 bits first (the published figures are of saved PNGs). Grayscale is its own Y (in 0-255)."""
    pixels = image.detach().reshape(-1, *image.shape[-2:]).clamp(0, 1).mul(255).round().double().cpu().numpy()
    if pixels.shape[0] == 1:
        return pixels[0]
    weights = np.asarray(Y_WEIGHTS).reshape(3, 1, 1) / 255
    return Y_OFFSET + (pixels[:3] * weights).sum(axis=0)


def _cropped(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[np.ndarray, np.ndarray]:
    if tuple(output.shape[-2:]) != tuple(target.shape[-2:]):
        raise ValueError(f"sizes differ: {tuple(output.shape[-2:])} and {tuple(target.shape[-2:])}")
    first, second = luma(output), luma(target)
    if border:
        first, second = first[border:-border, border:-border], second[border:-border, border:-border]
    return first, second


def psnr_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> float:
    """PSNR in dB of the Y channels; infinite for identical images."""
    first, second = _cropped(output, target, border)
    error = float(np.mean((first - second) ** 2))
    return math.inf if error == 0 else 10 * math.log10(255.0**2 / error)


def ssim_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> float:
    """SSIM of the Y channels (Gaussian window, sigma 1.5)."""
    first, second = _cropped(output, target, border)
    return float(structural_similarity(first, second, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))
