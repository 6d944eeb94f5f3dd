"""Seconds per paper-preset iteration of this tree against an earlier commit, timed alternately in one run.

    python benchmarks/versus_commit.py COMMIT [--scales 0 3 4 7] [--rounds 3]

A shared machine's speed drifts through the day (this project's 2-core machine kind has run twice as
slow on one day as on another), so figures from different days do not compare. This script checks out
COMMIT into a temporary git worktree and times the same scales of balloons.png with both trees, one
process per measurement, alternating A B A B, and reports the median of each and their ratio. Writes
the "versus_commit" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from report import machine_description, write_section

ROOT = Path(__file__).resolve().parents[1]
SHARED_BALLOONS = ROOT.parent / "shared" / "data" / "singan-inputs" / "Images" / "balloons.png"
# Uses only what both trees have: one scale of the paper preset, coarser scales random and frozen. (Trees
# before the 0.2 layout kept the configuration and the seeded generators in other modules.)
PROBE = """
import sys, torch
try:
    from singan.config.singan import preset
    from singan.seeds import make_generator
except ImportError:
    from singan.config import preset
    from singan.device import make_generator
from singan.images import load_image
from singan.models.singan import SinGAN, draw_noise, new_networks
from singan.pyramid import build_pyramid, plan_for
from singan.training.cost import seconds_per_iteration
from singan.training.singan import ScaleTrainer
scale, image = int(sys.argv[1]), sys.argv[2]
config = preset("paper").replace(seed=0)
pixels = load_image(image)
plan = plan_for(*pixels.shape[-2:], config)
reals = build_pyramid(pixels, plan)
rng = make_generator(torch.device("cpu"), scale)
model = SinGAN(3)
model.reconstruction_noise = draw_noise(rng, 1, plan.sizes[0])
for index in range(scale):
    model.add_scale(*new_networks(3, config.width(index), rng), 0.1 if index else 1.0, plan.sizes[index])
trainer = ScaleTrainer(model, reals[scale], *new_networks(3, config.width(scale), rng), config, rng)
print(seconds_per_iteration(trainer, 3, 3.0))
"""


def seconds(tree: Path, scale: int, image: Path) -> float:
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    output = subprocess.run([sys.executable, "-c", PROBE, str(scale), str(image)], env=environment, check=True,
                            capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit")
    parser.add_argument("--image", type=Path, default=SHARED_BALLOONS)
    parser.add_argument("--scales", type=int, nargs="+", default=[0, 3, 4, 7])
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        earlier = Path(folder) / "earlier"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(earlier), arguments.commit],
                       check=True)
        try:
            rows = [row(scale, earlier, arguments) for scale in arguments.scales]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=True)
    body = "\n".join([
        f"## This tree against commit {arguments.commit}, `paper` preset, {arguments.image.name}",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command: `python benchmarks/versus_commit.py {' '.join(sys.argv[1:])}` (each figure the median of "
        f"{arguments.rounds} processes, the two trees alternating; each process the mean of at least 3 iterations "
        "and 3 s after a warm-up).",
        "",
        f"| scale | s/iter ({arguments.commit}) | s/iter (this tree) | speed-up |",
        "|---|---|---|---|",
        *rows,
    ])
    write_section("versus_commit", body)
    print(body)


def row(scale: int, earlier: Path, arguments: argparse.Namespace) -> str:
    before, after = [], []
    for _ in range(arguments.rounds):
        before.append(seconds(earlier, scale, arguments.image))
        after.append(seconds(ROOT, scale, arguments.image))
    old, new = statistics.median(before), statistics.median(after)
    line = f"| {scale} | {old:.3f} | {new:.3f} | {old / new:.2f}x |"
    print(line, flush=True)
    return line


if __name__ == "__main__":
    main()
