"""The order the images of a data set are shown in: a fresh shuffle every epoch, resumable from a
checkpoint and sharded across the processes of a distributed run."""

from __future__ import annotations

import torch

from singan.errors import ConfigError, RunError


class EpochSampler:
    """Endless batches of indices into `count` images: a fresh random permutation each epoch, batches
    running on into the next epoch when one ends.

    Every process of a distributed run builds the same sampler (same seed) and asks for the global batch;
    `take` returns this rank's consecutive share of it, so the ranks together cover the global batch once.
    The permutation of epoch e depends only on (seed, e), so `state` is four integers and a run resumed
    with `load_state` (even with another number of processes) continues with the same global batches.
    """

    def __init__(self, count: int, seed: int | None = 0, rank: int = 0, world_size: int = 1):
        if count < 1:
            raise ValueError(f"EpochSampler needs at least one image, got count={count}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not one of the {world_size} processes")
        self.count, self.seed = count, seed if seed is not None else 0
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._permutation_epoch, self._permutation = -1, torch.empty(0, dtype=torch.long)

    def take(self, batch: int) -> torch.Tensor:
        """This rank's share (batch / world_size indices, LongTensor) of the next global batch of `batch`."""
        if batch < 1:
            raise ConfigError(f"--batch must be at least 1, got {batch}")
        if batch % self.world_size:
            raise ConfigError(f"--batch {batch} must be divisible by the number of processes ({self.world_size})")
        share = batch // self.world_size
        return self._take_global(batch)[self.rank * share:(self.rank + 1) * share]

    def state(self) -> dict:
        """JSON-serialisable position in the endless sequence of batches."""
        return {"count": self.count, "seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state(self, state: dict) -> None:
        """Continue from a `state()` of a sampler over the same number of images."""
        if int(state["count"]) != self.count:
            raise RunError(f"the saved data order covers {state['count']} images but the folder gives {self.count}")
        self.seed, self.epoch, self.position = int(state["seed"]), int(state["epoch"]), int(state["position"])
        if not 0 <= self.position < self.count or self.epoch < 0:
            raise RunError(f"corrupt data order state: epoch {self.epoch}, position {self.position}")

    def _take_global(self, batch: int) -> torch.Tensor:
        pieces, remaining = [], batch
        while remaining:
            piece = self._epoch_permutation()[self.position:self.position + remaining]
            pieces.append(piece)
            remaining -= len(piece)
            self.position += len(piece)
            if self.position == self.count:
                self.epoch, self.position = self.epoch + 1, 0
        return torch.cat(pieces)

    def _epoch_permutation(self) -> torch.Tensor:
        if self._permutation_epoch != self.epoch:
            # A seed per (run seed, epoch): any epoch's order can be rebuilt without replaying the earlier ones.
            generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)
            self._permutation = torch.randperm(self.count, generator=generator)
            self._permutation_epoch = self.epoch
        return self._permutation
