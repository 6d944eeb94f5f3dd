"""SinGAN's reconstruction loss: the fixed noise must reproduce the training image."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_loss(reconstruction: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared error."""
    return F.mse_loss(reconstruction, real)
