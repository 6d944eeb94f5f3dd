"""The Frechet distance between two Gaussians: the formula behind FID and SIFID.

d^2 = |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr(sqrt(C1 C2)), in float64 throughout, because the matrix
square root of a product of nearly singular covariances is where these figures lose their accuracy.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import linalg

# Added to both diagonals when the square root of the plain product is not finite (as FID tools do).
SINGULAR_OFFSET = 1e-6
# Imaginary parts this small on the diagonal of the square root are rounding, not a real failure.
IMAGINARY_TOLERANCE = 1e-3


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] (float64) of features [M, D], one sample per row."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().double().numpy()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"expected features shaped [M >= 2, D], got {list(features.shape)}")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def frechet_distance(mean1, cov1, mean2, cov2) -> float:
    """The squared Frechet distance between N(mean1, cov1) and N(mean2, cov2); never negative."""
    mean1, mean2 = np.atleast_1d(np.asarray(mean1, np.float64)), np.atleast_1d(np.asarray(mean2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    dimension = mean1.shape[0]
    if mean2.shape != (dimension,) or cov1.shape != (dimension, dimension) or cov2.shape != cov1.shape:
        raise ValueError(f"Gaussians of different shapes: means {mean1.shape} and {mean2.shape}, "
                         f"covariances {cov1.shape} and {cov2.shape}")
    difference = mean1 - mean2
    cross = np.trace(_product_square_root(cov1, cov2))
    distance = difference @ difference + np.trace(cov1) + np.trace(cov2) - 2 * cross
    # Only rounding makes it negative (identical Gaussians).
    return max(float(distance), 0.0)


def _product_square_root(cov1: np.ndarray, cov2: np.ndarray) -> np.ndarray:
    """sqrt(cov1 @ cov2), retried with a small diagonal offset when singular; real part only."""
    root = _square_root(cov1 @ cov2)
    if not np.isfinite(root).all():
        offset = np.eye(cov1.shape[0]) * SINGULAR_OFFSET
        root = _square_root((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(root):
        largest = np.max(np.abs(np.diagonal(root).imag))
        if largest > IMAGINARY_TOLERANCE:
            raise ValueError(f"the covariance product has no real square root (imaginary part {largest:.3g})")
        root = root.real
    return root


def _square_root(matrix: np.ndarray) -> np.ndarray:
    """scipy's matrix square root; its warning about singular input is handled by the finiteness check."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)
