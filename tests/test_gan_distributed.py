"""Training over two CPU processes (torchrun, gloo): the batch is split and the processes stay identical."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import shapes_folder
from singan.runs import open_run

WORKER = """
import sys
import torch
from safetensors.torch import save_file
from singan.config.gan import GANConfig
from singan.data.imagefolder import load_image_folder
from singan.training import distributed
from singan.training.architectures import checked
from singan.training.gan import GANTrainer

world = distributed.start("cpu")
for arch in sys.argv[2].split(","):
    config = checked(GANConfig(arch=arch, resolution=8, image_channels=1, z_dim=16, w_dim=16, mapping_layers=2,
                               channel_base=64, channel_max=16, batch=4, seed=1, phase_kimg=0.008, r1_interval=2,
                               pl_interval=2))
    trainer = GANTrainer(config, load_image_folder(sys.argv[1], 8), torch.device("cpu"), world)
    seen = []
    for _ in range(4):
        seen.append(trainer.sampler.take(config.batch))
        trainer.step()
    tensors = {"seen": torch.cat(seen), **{f"generator.{k}": v for k, v in trainer.generator.state_dict().items()},
               **{f"discriminator.{k}": v for k, v in trainer.discriminator.state_dict().items()}}
    save_file({k: v.contiguous() for k, v in tensors.items()}, f"{sys.argv[3]}/{arch}_rank{world.rank}.safetensors")
distributed.stop(world)
"""
# One launch for every architecture tested: starting the process group is most of the cost.
ARCHITECTURES = ("pggan", "stylegan2")


def torchrun(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_two_processes_end_with_identical_weights(tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER))
    result = torchrun(str(script), str(folder), ",".join(ARCHITECTURES), str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for arch in ARCHITECTURES:
        first, second = (load_file(tmp_path / f"{arch}_rank{rank}.safetensors") for rank in (0, 1))
        # Each process took its own half of every batch...
        assert not torch.equal(first.pop("seen"), second.pop("seen")), arch
        # ...and the averaged gradients kept the networks identical.
        for key, value in first.items():
            assert torch.equal(value, second[key]), f"{arch}: {key}"


@pytest.mark.slow
def test_the_command_trains_under_torchrun_and_only_the_first_process_writes(tmp_path):
    """Without --seed: the processes share the main one's random seed."""
    folder = shapes_folder(tmp_path / "shapes")
    result = torchrun("-m", "singan", "gan", "train", str(folder), "--arch", "stylegan2", "--resolution", "8",
                      "--batch", "4", "--kimg", "0.016", "--z-dim", "16", "--w-dim", "16", "--channel-base", "64",
                      "--channel-max", "16", "--mapping-layers", "2", "--log-kimg", "0.008",
                      "--out", str(tmp_path / "runs"), "--name", "two", "--device", "cpu", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = open_run(tmp_path / "runs" / "two", "gan").record
    assert record.processes == 2 and record.images_seen == 16 and record.complete
    lines = (tmp_path / "runs" / "two" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 2  # one writer: each logged point once
