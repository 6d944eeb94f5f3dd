"""Training over several processes (torchrun): who this process is, and keeping the processes in step.

Gradients are averaged by hand after each backward pass rather than by DistributedDataParallel's
hooks: the R1 and path-length penalties differentiate twice (which DDP's hooks do not follow), and
progressive growing leaves the layers of larger resolutions unused for a while (which DDP treats as an
error unless it searches the graph every step). Averaging the whole flattened gradient once per step is
what DDP computes, in one collective call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Only the main process writes files and reports progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def start(device_type: str) -> World:
    """Join the process group torchrun describes (NCCL on CUDA, gloo otherwise); one process without it."""
    if not launched_by_torchrun():
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size())


def local_device_name(requested: str) -> str:
    """Under torchrun on CUDA each process takes the GPU of its local rank."""
    if launched_by_torchrun() and requested in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return requested


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        # Every process reaches the end first: a process that tears gloo down while another's last
        # collective is still in flight aborts the other ("terminate called without an active exception").
        dist.barrier()
        dist.destroy_process_group()


def average_gradients(module: nn.Module, world: World) -> None:
    """Replace every gradient by its mean over the processes (all of them use the same layers each step)."""
    if not world.distributed:
        return
    gradients = [parameter.grad for parameter in module.parameters() if parameter.grad is not None]
    if not gradients:
        return
    flat = torch.cat([gradient.flatten() for gradient in gradients])
    dist.all_reduce(flat)
    flat /= world.size
    for gradient, averaged in zip(gradients, flat.split([gradient.numel() for gradient in gradients])):
        gradient.copy_(averaged.view_as(gradient))


def broadcast_module(module: nn.Module, world: World) -> None:
    """Give every process the main process's parameters and buffers."""
    if not world.distributed:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def mean_over_processes(value: torch.Tensor, world: World) -> torch.Tensor:
    if not world.distributed:
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / world.size


def any_process(flag: bool, world: World, device: torch.device) -> bool:
    """Whether `flag` holds in any process (so that all of them stop after the same step)."""
    if not world.distributed:
        return flag
    value = torch.tensor(float(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def shared_integer(value: int, world: World, device: torch.device) -> int:
    """The main process's `value` in every process (such as a seed drawn at random)."""
    if not world.distributed:
        return value
    tensor = torch.tensor(value, dtype=torch.int64, device=device)
    dist.broadcast(tensor, src=0)
    return int(tensor.item())


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
