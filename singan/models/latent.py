"""What the multi-image generators share: z -> styles ws -> images, and truncation towards a tracked mean w."""

from __future__ import annotations

import torch
from torch import nn


class LatentGenerator(nn.Module):
    """A generator with `map(z, truncation, truncation_cutoff) -> ws [N, num_ws, w_dim]` and
    `synthesize(ws, *, resolution, alpha, generator) -> images`; subclasses set num_ws, w_dim and w_avg."""

    def forward(self, z: torch.Tensor, *, truncation: float = 1.0, resolution: int | None = None,
                alpha: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """z [N, z_dim] -> images [N, image_channels, r, r]."""
        return self.synthesize(self.map(z, truncation), resolution=resolution, alpha=alpha, generator=generator)

    def truncate(self, ws: torch.Tensor, truncation: float, cutoff: int) -> torch.Tensor:
        """The truncation trick: w_avg + psi (w - w_avg) on the styles below layer `cutoff`."""
        if truncation == 1.0:
            return ws
        layers = torch.arange(self.num_ws, device=ws.device)[None, :, None]
        return torch.where(layers < cutoff, torch.lerp(self.w_avg.expand_as(ws), ws, truncation), ws)

    @torch.no_grad()
    def update_w_avg(self, ws: torch.Tensor, beta: float = 0.995) -> None:
        """Move the tracked average w towards this batch's mean: w_avg = lerp(mean, w_avg, beta).

        ws: [N, num_ws, w_dim] (averaged over the batch and the layers) or [N, w_dim].
        """
        self.w_avg.copy_(torch.lerp(ws.reshape(-1, self.w_dim).mean(0), self.w_avg, beta))
