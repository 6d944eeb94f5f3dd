"""Our presets against the original SinGAN trained end to end at the same size: sample quality and time.

    python benchmarks/fast_versus_original.py [IMAGE] --original /tmp/anchors/SinGAN [--size 128]
        [--seeds 0 1 2] [--presets fast] [--original-python /tmp/venv-anchor/bin/python] [--reuse]

The original is the official code, unmodified, run by ../shared/tools/official_singan_bench.sh with
E2E=1: its main_train.py at its defaults with --max_size SIZE (2000 iterations a scale, its seed 1),
which ends by writing 50 random samples from the coarsest scale. Its workdir is kept under
benchmarks/output/fast_versus_original/original/ (keyed by the image's SHA-256, the size and the seed)
and reused while its samples are there: at 128 px it takes about 2 hours on a 2-core CPU. Without
--original only a cached workdir is used.

Both sides are scored the same way, from 8-bit images as the original writes them: patch SWD
(singan.metrics.swd, with its real-vs-real floor) of 50 samples against the training image each side
learnt from (the original's real_scale.png of its finest scale; our run's finest real, rounded to 8
bits), and diversity. Ours are the mean over --seeds (one run's SWD moves by about 20 % with its seed);
the original is one run. Writes the "fast_versus_original" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import subprocess
import sys
from pathlib import Path

import torch

import official
from fast_preset import SHARED_BALLOONS, trained
from report import machine_description, write_section
from singan import api
from singan.images import from_uint8, load_image, to_uint8
from singan.metrics.diversity import diversity
from singan.metrics.swd import patch_swd
from singan.runs import singan as runs
from singan.seeds import output_generator
from tasks.singan.sample import sample_images

OUTPUT = Path(__file__).parent / "output" / "fast_versus_original"
NUM_SAMPLES = 50  # what the original's main_train.py writes
ORIGINAL_ITERATIONS = 2000
ORIGINAL_SEED = 1


class OriginalRun:
    """The official main_train.py on one image at one size, in a workdir of its own, kept and reused."""

    def __init__(self, image: Path, size: int):
        digest = hashlib.sha256(image.read_bytes()).hexdigest()[:16]
        self.image, self.size = image, size
        self.workdir = OUTPUT / "original" / f"{digest}_{size}px_n{ORIGINAL_ITERATIONS}_seed{ORIGINAL_SEED}"
        # main_train.py writes Output/RandomSamples/<name without extension>/gen_start_scale=0/<i>.png.
        self.samples = self.workdir / "Output" / "RandomSamples" / image.stem / "gen_start_scale=0"
        self.log = self.workdir / "e2e.log"

    @property
    def done(self) -> bool:
        return all((self.samples / f"{index}.png").exists() for index in range(NUM_SAMPLES))

    def train(self, checkout: Path, python: Path) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        environment = official.environment(python, torch.get_num_threads(), E2E=1, KEEP=1,
                                           WORKDIR=self.workdir.resolve())
        command = official.command(checkout, self.image, ORIGINAL_ITERATIONS, "--max_size", self.size,
                                   "--manualSeed", ORIGINAL_SEED)
        print(f"training the original in {self.workdir} (log: {self.log})", flush=True)
        with open(self.log, "w") as log:
            if subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                raise SystemExit(f"the original's main_train.py failed; see {self.log}")

    def real(self) -> torch.Tensor:
        """The image its finest scale trained on (its own resize of IMAGE), as it saved it."""
        scales = [path for path in self.workdir.glob(f"TrainedModels/{self.image.stem}/*/*") if path.name.isdigit()]
        return load_image(max(scales, key=lambda path: int(path.name)) / "real_scale.png")

    def figures(self) -> dict:
        samples = torch.cat([load_image(self.samples / f"{index}.png") for index in range(NUM_SAMPLES)])
        found = re.search(r"finished in ([0-9.]+) s", self.log.read_text()) if self.log.exists() else None
        return {**scores(samples, self.real()), "seconds": float(found.group(1)) if found else None}


def scores(samples: torch.Tensor, real: torch.Tensor) -> dict:
    """Patch SWD, its floor and diversity of 8-bit samples against an 8-bit training image."""
    swd = patch_swd(real, samples, output_generator(0))
    return {"size": list(samples.shape[-2:]), "swd": swd.average, "floor": swd.floor, "ratio": swd.ratio,
            "diversity": diversity(samples, real)}


@torch.no_grad()
def ours(directory: Path) -> dict:
    """Our run's scores, its samples and real rounded to 8 bits first (what the original's files hold)."""
    run = api.load_run(directory)
    samples = torch.cat([image for _, image in sample_images(run.model, list(range(NUM_SAMPLES)))])
    real = runs.load_real(run.directory, run.record)
    eight_bit = lambda images: from_uint8(to_uint8(images))  # noqa: E731
    return {**scores(eight_bit(samples), eight_bit(real)),
            "seconds": sum(scale.seconds for scale in run.record.scales)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", nargs="?", type=Path, default=SHARED_BALLOONS)
    parser.add_argument("--original", type=Path, default=None, help="a checkout of the official SinGAN code")
    official.add_python_option(parser)
    parser.add_argument("--size", type=int, default=128, help="max size of both sides' training")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds of our runs")
    parser.add_argument("--presets", nargs="+", default=["fast"], help="our presets to compare")
    parser.add_argument("--reuse", action="store_true", help="keep our existing runs under the output folder")
    arguments = parser.parse_args()
    image = arguments.image.resolve()

    original = OriginalRun(image, arguments.size)
    if not original.done and arguments.original is None:
        raise SystemExit(f"no finished original run in {original.workdir}: pass --original CHECKOUT")
    figures = {}
    for name in arguments.presets:
        for seed in arguments.seeds:
            directory = trained(image, OUTPUT, f"{image.stem}_{name}_{arguments.size}_seed{seed}", name,
                                arguments.size, seed, arguments.reuse, True)
            figures[f"{name} (seed {seed})"] = ours(directory)
            print(f"{name}, seed {seed}: {figures[f'{name} (seed {seed})']}", flush=True)
    if not original.done:  # after ours: the hours of the original are the last thing to wait for
        original.train(arguments.original, arguments.original_python)
    figures = {"original": original.figures(), **figures}
    body = report(arguments, figures)
    write_section("fast_versus_original", body)
    print(body)


def report(arguments: argparse.Namespace, figures: dict) -> str:
    original = figures["original"]
    lines = [
        f"## Our presets against the original SinGAN trained end to end, {arguments.image.name} at "
        f"{arguments.size} px",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command: `python benchmarks/fast_versus_original.py {' '.join(sys.argv[1:])}`. The original: "
        f"main_train.py unmodified at its defaults, --max_size {arguments.size}, seed {ORIGINAL_SEED}, its "
        f"{NUM_SAMPLES} samples; ours: {NUM_SAMPLES} samples (seeds 0 onwards) per training seed. Both scored "
        "from 8-bit images against the training image each learnt from.",
        "",
        "| run | size | training (min) | patch SWD x1000 | real-vs-real floor | x floor | diversity |",
        "|---|---|---|---|---|---|---|",
        *[_row(label, values) for label, values in figures.items()],
        "",
    ]
    for name in arguments.presets:
        group = [figures[f"{name} (seed {seed})"] for seed in arguments.seeds]
        swd = statistics.mean(values["swd"] for values in group)
        ratio = statistics.mean(values["diversity"] for values in group) / original["diversity"]
        verdict = "met" if swd <= original["swd"] else "MISSED"
        lines += [
            f"- `{name}`: mean patch SWD over {len(group)} seed(s) {swd:.1f} (runs "
            f"{min(v['swd'] for v in group):.1f}-{max(v['swd'] for v in group):.1f}) against the original's "
            f"{original['swd']:.1f}; target no worse: {verdict}. Diversity {ratio:.2f}x the original's.",
        ]
    return "\n".join(lines)


def _row(label: str, values: dict) -> str:
    minutes = "-" if values["seconds"] is None else f"{values['seconds'] / 60:.1f}"
    return (f"| {label} | {values['size'][0]}x{values['size'][1]} | {minutes} | {values['swd']:.1f} | "
            f"{values['floor']:.1f} | {values['ratio']:.2f} | {values['diversity']:.3f} |")


if __name__ == "__main__":
    main()
