"""`singan batch` against training the same images one after another, and two processes against one.

    python benchmarks/batch_throughput.py                      # the four Input/Images examples, quick preset
    python benchmarks/batch_throughput.py --iterations 50      # a shorter run of the same comparison
    python benchmarks/batch_throughput.py --device cuda --preset fast --phases batch,jobs --jobs 2,4   # one GPU

Phases, run in this order in one session (each `singan` command is a new process, as a user runs it):
  sequential  `singan train IMAGE` for each image in turn;
  batch       `singan batch IMAGES` (one process, all threads): should take the sequential total;
  torchrun    `torchrun --nproc_per_node 2 -m singan batch IMAGES`, one thread per process;
  jobs        `singan batch IMAGES --jobs-per-device K` for each K of --jobs (2: one thread each on 2 cores).
The batch's runs are checked to be the sequential runs bit for bit (same seed, same threads). Writes the
"batch_throughput" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from report import machine_description, write_section

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("sequential", "batch", "torchrun", "jobs")


def main() -> None:
    arguments = parse_arguments()
    images = sorted(Path(image).resolve() for image in arguments.images)
    settings = ["--preset", arguments.preset, "--seed", "0", "--device", arguments.device, "--quiet"]
    settings += [] if arguments.iterations is None else ["--iterations", str(arguments.iterations)]
    settings += [] if arguments.max_size is None else ["--max-size", str(arguments.max_size)]
    seconds, manifests = {}, {}
    phases = [f"jobs-{count}" if phase == "jobs" else phase for phase in arguments.phases
              for count in (arguments.jobs if phase == "jobs" else [None])]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(arguments.keep or folder)
        for phase in phases:
            started = time.perf_counter()
            run_phase(phase, images, settings, root / phase)
            seconds[phase] = time.perf_counter() - started
            manifests[phase] = manifest_images(root / phase, phase, images)
            print(f"{phase}: {seconds[phase] / 60:.2f} min", flush=True)
        same = same_runs(root / "sequential", root / "batch", images) if {"sequential", "batch"} <= set(seconds) else None
    body = section(arguments, images, seconds, manifests, same)
    write_section("batch_throughput", body)
    print(body)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", default=sorted((ROOT / "Input" / "Images").glob("*.png")))
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--iterations", type=int, help="iterations per scale instead of the preset's")
    parser.add_argument("--max-size", type=int, help="the longest side instead of the preset's")
    parser.add_argument("--phases", type=lambda text: text.split(","), default=list(PHASES),
                        help=f"comma-separated, of {','.join(PHASES)}")
    parser.add_argument("--jobs", type=lambda text: [int(count) for count in text.split(",")], default=[2],
                        help="the --jobs-per-device values of the jobs phase, comma-separated")
    parser.add_argument("--keep", help="a folder to keep the phases' runs in (one folder per phase)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (torchrun then needs a GPU per process)")
    return parser.parse_args()


def run_phase(phase: str, images: list[Path], settings: list[str], out: Path) -> None:
    singan = [sys.executable, "-m", "singan"]
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1"}
    if phase == "sequential":
        for image in images:
            run(singan + ["train", str(image), "--out", str(out), "--name", image.stem, *settings])
    elif phase == "batch":
        run(singan + ["batch", *map(str, images), "--out", str(out), *settings])
    elif phase == "torchrun":
        run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "singan",
             "batch", *map(str, images), "--out", str(out), *settings], environment=one_thread)
    elif phase.startswith("jobs-"):
        # The parent keeps the machine's threads and gives each job its share (one each for 2 jobs on 2 cores).
        run(singan + ["batch", *map(str, images), "--out", str(out), "--jobs-per-device", phase[5:], *settings])
    else:
        raise SystemExit(f"unknown phase {phase!r}: choose from {', '.join(PHASES)}")


def run(command: list[str], environment: dict | None = None) -> None:
    subprocess.run(command, cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL)


def manifest_images(out: Path, phase: str, images: list[Path]) -> list[dict] | None:
    """The batch manifest's entries (minutes, peak GPU memory) per image; the sequential phase has none."""
    if phase == "sequential":
        return None
    manifest = json.loads((out / "batch.json").read_text())
    assert [item["status"] for item in manifest["images"]] == ["trained"] * len(images), manifest["counts"]
    return manifest["images"]


def same_runs(first: Path, second: Path, images: list[Path]) -> bool:
    """Whether every network file of the two phases' runs holds the same tensors."""
    for image in images:
        names = sorted(path.name for path in (first / image.stem).glob("*.safetensors"))
        for name in names:
            ours, theirs = load_file(first / image.stem / name), load_file(second / image.stem / name)
            if ours.keys() != theirs.keys() or not all(ours[key].equal(theirs[key]) for key in ours):
                return False
    return True


def section(arguments, images, seconds: dict, manifests: dict, same: bool | None) -> str:
    overrides = "".join(f" --{name.replace('_', '-')} {value}" for name, value in
                        (("iterations", arguments.iterations), ("max_size", arguments.max_size)) if value is not None)
    command = " ".join(["python benchmarks/batch_throughput.py", *sys.argv[1:]]).replace(f"{ROOT}/", "")
    lines = [
        "## `singan batch` against one image after another, and two processes against one",
        "",
        f"Machine: {machine_description(torch.device(arguments.device))}.",
        f"Command: `{command}`: {len(images)} images "
        f"({', '.join(image.name for image in images)}), `--preset {arguments.preset}{overrides} --seed 0`, "
        "each phase a new `singan` process, the phases one after another in one session.",
        "",
        "| phase | what runs | total min | images per hour | min per image (manifest) | peak GPU MB |",
        "|---|---|---|---|---|---|",
    ]
    described = {"sequential": "`singan train` per image, in turn", "batch": "`singan batch`, 1 process",
                 "torchrun": "`torchrun --nproc_per_node 2 -m singan batch`, 1 thread each"}
    for phase, total in seconds.items():
        entries = manifests[phase] or []
        per_image = ", ".join(f"{entry['minutes']:.2f}" for entry in entries) or "-"
        peaks = ", ".join(f"{entry['peak_gpu_mb']:.0f}" for entry in entries if entry.get("peak_gpu_mb")) or "-"
        what = described.get(phase, f"`singan batch --jobs-per-device {phase[5:]}`")
        lines.append(f"| {phase} | {what} | {total / 60:.2f} | {len(images) * 3600 / total:.1f} | {per_image} | "
                     f"{peaks} |")
    lines.append("")
    if "sequential" in seconds and "batch" in seconds:
        lines.append(f"Batch against sequential: {seconds['batch'] / seconds['sequential']:.3f}x the time "
                     f"(target: 1.00, no overhead); the batch's runs are the sequential runs bit for bit: "
                     f"{'yes' if same else 'NO'}.")
    for phase in seconds:
        if phase.startswith(("torchrun", "jobs")) and "batch" in seconds:
            lines.append(f"Throughput of {phase} against `singan batch` in 1 process: "
                         f"{seconds['batch'] / seconds[phase]:.2f}x.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
