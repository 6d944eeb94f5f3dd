"""StyleGAN2's path-length regulariser: the Jacobian of the image with respect to w kept of a steady size."""

from __future__ import annotations

import math

import torch


def path_lengths(images: torch.Tensor, ws: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """|J_w^T y| per image [N] for y ~ N(0, I) / sqrt(H W): the lengths StyleGAN2 regularises towards their mean.

    `ws` [N, num_ws, w_dim] must require grad and `images` be computed from it; the norm is taken over
    w_dim and averaged over the style layers, as in the paper's code.
    """
    height, width = images.shape[-2:]
    directions = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
    directions = directions / math.sqrt(height * width)
    (gradient,) = torch.autograd.grad((images * directions).sum(), ws, create_graph=True)
    return gradient.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """(|J^T y| - a)^2 averaged over the batch, with `a` the running mean of the lengths."""
    return (lengths - mean).square().mean()
