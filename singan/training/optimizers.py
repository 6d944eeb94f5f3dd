"""The one Adam builder of every trainer, the generators' moving average, and the networks' and optimisers'
states as flat tensors for checkpoints."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from singan.tensorfile import prefixed, unprefixed


def adam(module: nn.Module, learning_rate: float, betas: tuple[float, float], *,
         lazy_interval: int | None = None, fused: bool | None = None) -> torch.optim.Adam:
    """Adam over the module's parameters.

    `lazy_interval` k, for a network regularised every k steps only (StyleGAN2's lazy regularisation):
    lr x k/(k+1) and betas ^ k/(k+1), so that the regularised steps do not change the effective rates.
    `fused` True updates all parameters in one kernel (CPU and CUDA only); None lets torch choose.
    """
    ratio = lazy_interval / (lazy_interval + 1) if lazy_interval else 1.0
    return torch.optim.Adam(module.parameters(), lr=learning_rate * ratio,
                            betas=(betas[0]**ratio, betas[1]**ratio), fused=fused)


def fused_available(module: nn.Module) -> bool:
    """Whether Adam's fused kernel runs where the module's parameters are."""
    return next(module.parameters()).device.type in ("cpu", "cuda")


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """An optimiser's per-parameter state as flat tensors: PREFIX.INDEX.NAME (hyperparameters come from the config)."""
    tensors = {}
    for index, values in optimizer.state_dict()["state"].items():
        for name, value in values.items():
            tensors[f"{prefix}.{index}.{name}"] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
    return tensors


def load_optimizer(optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
    """Restore the state `optimizer_tensors` wrote under `prefix`."""
    state = optimizer.state_dict()
    found: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1:].split(".", 1)
            found.setdefault(int(index), {})[name] = value
    state["state"] = found
    optimizer.load_state_dict(state)


@torch.no_grad()
def update_average(averaged: nn.Module, current: nn.Module, decay: float) -> None:
    """averaged <- decay x averaged + (1 - decay) x current for the parameters; buffers (batch-norm
    statistics, spectral-norm vectors) are copied."""
    for mean, value in zip(averaged.parameters(), current.parameters()):
        mean.lerp_(value, 1 - decay)
    for mean, value in zip(averaged.buffers(), current.buffers()):
        mean.copy_(value)


def training_tensors(networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]
                     ) -> dict[str, torch.Tensor]:
    """The networks' weights (NAME.key) and the optimisers' states (NAME.INDEX.key), for a checkpoint."""
    tensors = {}
    for prefix, module in networks.items():
        tensors |= prefixed(prefix + ".", module)
    for prefix, optimizer in optimizers.items():
        tensors |= optimizer_tensors(prefix, optimizer)
    return tensors


def restore_training_tensors(networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                             tensors: dict[str, torch.Tensor]) -> None:
    """Load what `training_tensors` wrote."""
    for prefix, module in networks.items():
        module.load_state_dict(unprefixed(prefix + ".", tensors))
    for prefix, optimizer in optimizers.items():
        load_optimizer(optimizer, prefix, tensors)


@contextlib.contextmanager
def frozen(module: nn.Module):
    """Within the block the module's weights get no gradients (a critic that only passes them on to the
    images it judges)."""
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)
