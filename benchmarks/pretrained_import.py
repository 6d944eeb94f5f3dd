"""Speed and memory of importing a published network of the official size, and of generating from it.

Builds an NVlabs TF pickle of the size of `stylegan2-ffhq-config-f.pkl` (1024 px, config f: G, D and Gs,
about 360 MB), or (--format ada) a stylegan2-ada-pytorch snapshot of the size of its `ffhq.pkl`, with random
weights, then, each in a fresh process so that peak memory is its own:
  1. `singan gan import FILE` (read by the restricted reader, converted, written as safetensors);
  2. `singan gan generate FILE --seeds 0` (converted in memory, one 1024 px image);
  3. `singan gan generate RUN --seeds 0-2` from the imported run (load once, three images);
  4. three images in one process from the run, timed one by one.
Reports wall time and peak resident memory (ru_maxrss) of each, and the peak over a process that only
imports singan and torch. Nothing is downloaded; the file is made here.

    python benchmarks/pretrained_import.py [--format tf|ada] [--work /tmp/pretrained-bench] [--resolution 1024]
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pretrained_files import (FakePersistent, FakeTFNetwork, _network, _reconstruct_persistent_obj,  # noqa: E402
                              ada_generator, fake_modules, tf_stylegan2_variables)
from singan.models import stylegan2  # noqa: E402

MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{seconds:.2f} {peak:.0f} {result.returncode}")
sys.stderr.write(result.stderr[-2000:])
"""


def official_generator(resolution: int) -> stylegan2.Generator:
    """Config f's sizes: z and w 512, 8 mapping layers, channel base 32768 (2 x fmap_base 16384), max 512."""
    torch.manual_seed(0)
    return stylegan2.Generator(resolution=resolution, z_dim=512, w_dim=512, mapping_layers=8, channel_base=32768,
                               channel_max=512, constant_noise=True).eval()


def discriminator_variables(count: int) -> dict:
    """Random variables of `count` parameters in all: config f's residual discriminator is about the size of
    its generator (29 M against 30 M parameters at 1024 px)."""
    pieces = 8
    rng = np.random.default_rng(0)
    return {f"Block{index}/weight": rng.standard_normal(count // pieces, dtype=np.float32) for index in range(pieces)}


def write_official_size_pickle(path: Path, resolution: int) -> None:
    generator = official_generator(resolution)

    def gs(name: str) -> FakeTFNetwork:
        mapping, synthesis = tf_stylegan2_variables(generator)  # fresh arrays: G and Gs are stored apart
        components = {"mapping": _network("G_mapping", "G_mapping", mapping),
                      "synthesis": _network("G_synthesis", "G_synthesis_stylegan2", synthesis,
                                            static_kwargs={"resolution": resolution, "fmap_base": 16 << 10})}
        return _network(name, "G_main", {"dlatent_avg": generator.w_avg.numpy().copy()}, components)

    parameters = sum(value.numel() for value in generator.state_dict().values())
    discriminator = _network("D", "D_stylegan2", discriminator_variables(int(parameters * 0.95)))
    with fake_modules(**{"dnnlib.tflib.network": {"Network": FakeTFNetwork}}), open(path, "wb") as file:
        pickle.dump((gs("G"), discriminator, gs("Gs")), file, protocol=3)


RENDER = """
import sys, time, torch
from singan.api import gan
from tasks.gan.draws import Draws
from tasks.gan.generate import generated_images
run = gan.load_gan_run(sys.argv[1], "cpu")
times = []
for seed in range(3):
    start = time.perf_counter()
    next(generated_images(run.generator, [seed], truncation=0.7, draws=Draws("nvlabs", "const")))
    times.append(time.perf_counter() - start)
print(" ".join(f"{value:.2f}" for value in times))
"""


def render_seconds(run: Path) -> list[float]:
    """Seconds of each of three 1024 px images in one process (the network loaded once, no PNG written)."""
    output = subprocess.run([sys.executable, "-c", RENDER, str(run)], capture_output=True, text=True, check=True)
    return [float(value) for value in output.stdout.split()]


def write_official_size_ada_pickle(path: Path, resolution: int) -> None:
    """A stylegan2-ada-pytorch snapshot of the official 1024 px size: {G, D, G_ema, augment_pipe,
    training_set_kwargs}, G and G_ema stored apart, conv_clamp 256 as the official configs."""
    generator = official_generator(resolution)
    parameters = sum(value.numel() for value in generator.state_dict().values())
    pieces = {f"weight{index}": torch.randn(int(parameters * 0.95) // 8) for index in range(8)}
    contents = {"G": ada_generator(generator, conv_clamp=256.0), "D": FakePersistent("Discriminator", pieces),
                "G_ema": ada_generator(generator, conv_clamp=256.0), "augment_pipe": None,
                "training_set_kwargs": {"resolution": resolution}}
    with fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj}}), \
            open(path, "wb") as file:
        pickle.dump(contents, file, protocol=4)


def measured(command: list[str]) -> dict:
    output = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    seconds, peak, code = output.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {output.stderr}")
    return {"seconds": float(seconds), "peak_mb": float(peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/pretrained-bench"))
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--format", choices=("tf", "ada"), default="tf",
                        help="an NVlabs TF pickle, or a stylegan2-ada-pytorch snapshot")
    arguments = parser.parse_args()
    work = arguments.work
    work.mkdir(parents=True, exist_ok=True)
    path = work / ("stylegan2-config-f-size.pkl" if arguments.format == "tf" else "stylegan2-ada-1024-size.pkl")
    if not path.exists():
        started = time.perf_counter()
        writer = write_official_size_pickle if arguments.format == "tf" else write_official_size_ada_pickle
        writer(path, arguments.resolution)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    size_mb = path.stat().st_size / 2**20
    singan = [sys.executable, "-m", "singan"]
    results = {"format": arguments.format, "file_mb": round(size_mb, 1), "threads": torch.get_num_threads(),
               "baseline": measured([sys.executable, "-c", "import torch, singan.cli"]),
               "import": measured(singan + ["gan", "import", str(path), "--out", str(work / "runs"), "--name",
                                            "official", "--force", "--quiet"]),
               "generate_from_file": measured(singan + ["gan", "generate", str(path), "--seeds", "0", "--out",
                                                        str(work / "from-file"), "--device", "cpu", "--quiet"]),
               "generate_three_from_run": measured(singan + ["gan", "generate", str(work / "runs" / "official"),
                                                             "--seeds", "0-2", "--out", str(work / "from-run"),
                                                             "--device", "cpu", "--quiet"])}
    baseline = results["baseline"]["peak_mb"]
    for name in ("import", "generate_from_file", "generate_three_from_run"):
        entry = results[name]
        entry["over_baseline_mb"] = round(entry["peak_mb"] - baseline, 1)
        entry["peak_over_file_size"] = round(entry["peak_mb"] / size_mb, 2)
        print(f"{name:24s} {entry['seconds']:7.1f} s  peak {entry['peak_mb']:6.0f} MB "
              f"({entry['peak_over_file_size']:.2f} x the file; {entry['over_baseline_mb']:.0f} MB over a bare "
              f"process of {baseline:.0f} MB)")
    results["render_seconds"] = render_seconds(work / "runs" / "official")
    print(f"one {arguments.resolution} px image in a warm process: "
          f"{', '.join(f'{value:.1f}' for value in results['render_seconds'])} s")
    (work / f"results-{arguments.format}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
