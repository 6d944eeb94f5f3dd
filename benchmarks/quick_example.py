"""Time the README's example: train the quick preset on Input/Images/hubble.png, then write 4 samples.

    python benchmarks/quick_example.py

Runs the installed `singan` command in a temporary folder and writes the "quick_example" section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from report import machine_description, write_section

IMAGE = Path(__file__).resolve().parents[1] / "Input" / "Images" / "hubble.png"


def timed(command: list[str], folder: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    singan = [sys.executable, "-m", "singan"]
    with tempfile.TemporaryDirectory() as folder:
        train = timed(singan + ["train", str(IMAGE), "--preset", "quick", "--quiet"], folder)
        sample = timed(singan + ["sample", "Output/hubble", "--num", "4", "--quiet"], folder)
    body = "\n".join([
        "## The README's quick example",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        "Command: `singan train Input/Images/hubble.png --preset quick && singan sample Output/hubble --num 4` "
        "(timed by `python benchmarks/quick_example.py`).",
        "",
        f"Training (6 scales up to 128x96 px, 200 iterations each): {train / 60:.1f} min; "
        f"sampling 4 images: {sample:.1f} s; total {(train + sample) / 60:.1f} min (target: under 10 min).",
    ])
    write_section("quick_example", body)
    print(body)


if __name__ == "__main__":
    main()
