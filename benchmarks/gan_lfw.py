"""Train each multi-image architecture on scikit-image's lfw_subset (200 grayscale 25x25 images: 100 faces and
100 non-face patches) for a fixed budget on this machine; report seconds per 1000 images and the sliced
Wasserstein distance before and after.

    python benchmarks/gan_lfw.py [--arch pggan stylegan stylegan2] [--resolution 16] [--kimg 30] [--device auto]

The images are written as PNGs to benchmarks/output/gan_lfw/lfw_subset/ and trained on with `singan gan train`'s
code (gan_api.train_gan). SWD follows PGGAN's recipe (tasks/gan/evaluate.py): 200 generated images against
100 of the real ones, the floor being those 100 against the other 100. "Before" is the same network at
initialisation (same seed). Results go to benchmarks/output/gan_lfw/results.json and the "gan_lfw" section
of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from skimage import data as skimage_data

from report import machine_description, write_section
from singan.api import gan as gan_api
from singan.device import resolve_device
from singan.config.gan import GANConfig
from singan.data.imagefolder import load_image_folder
from singan.training.gan import GANTrainer
from tasks.gan.evaluate import evaluate_generator

OUTPUT = Path(__file__).parent / "output" / "gan_lfw"
SEED = 0


def write_faces(folder: Path) -> Path:
    """lfw_subset's 200 faces as 8-bit grayscale PNGs (it ships with scikit-image: nothing is downloaded)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, face in enumerate(skimage_data.lfw_subset()):
        path = folder / f"face{index:03d}.png"
        if not path.exists():
            iio.imwrite(path, (face * 255).round().astype(np.uint8))
    return folder


def benchmark_config(arch: str, resolution: int, kimg: float, r1_gamma: float | None = None) -> GANConfig:
    """Small networks for a 2-core CPU; progressive archs get 4 phases before the target resolution, so that
    about a third of the budget is spent at it."""
    growth_phases = 2 * round(np.log2(resolution / 4))
    return GANConfig(arch=arch, resolution=resolution, batch=16, kimg=kimg, seed=SEED, z_dim=128, w_dim=128,
                     channel_base=1024, channel_max=64, phase_kimg=round(kimg / (growth_phases + 1.5), 3),
                     snapshot_kimg=kimg / 4, checkpoint_kimg=kimg / 4, log_kimg=kimg / 20,
                     ema_rampup=0.05, r1_gamma=r1_gamma)


def swd_of(generator, reals: torch.Tensor) -> dict:
    with torch.no_grad():
        evaluation = evaluate_generator(generator, reals, num=200, seed=SEED)
    return evaluation.swd.to_dict()


def before_training(config: GANConfig, folder: Path, device: torch.device) -> dict:
    images = load_image_folder(folder, config.resolution)
    trainer = GANTrainer(config.replace(image_channels=images.channels), images, device)
    return swd_of(trainer.generator_ema, images.images)


def run_name(arch: str, resolution: int, kimg: float, r1_gamma: float | None) -> str:
    return f"{arch}-{resolution}-{kimg:g}kimg" + ("" if r1_gamma is None else f"-gamma{r1_gamma:g}")


def run_one(arch: str, resolution: int, kimg: float, folder: Path, device: torch.device,
            r1_gamma: float | None = None) -> dict:
    config = benchmark_config(arch, resolution, kimg, r1_gamma)
    before = before_training(config, folder, device)
    started = time.perf_counter()
    directory = gan_api.train_gan(folder, config, out=OUTPUT / "runs",
                                  name=run_name(arch, resolution, kimg, r1_gamma), device=str(device), force=True)
    seconds = time.perf_counter() - started
    run = gan_api.load_gan_run(directory, device=str(device))
    images = load_image_folder(folder, run.generator.resolution)
    after = swd_of(run.generator, images.images)
    log = [json.loads(line) for line in (directory / "log.jsonl").read_text().splitlines()]
    at_target = [line["seconds_per_kimg"] for line in log if line["resolution"] == resolution]
    return {"arch": arch, "resolution": resolution, "kimg": kimg, "r1_gamma": config.r1_weight,
            "seconds": seconds, "seconds_per_kimg": seconds / kimg,
            "seconds_per_kimg_at_target": float(np.median(at_target)), "phase_kimg": config.phase_kimg,
            "swd_before": before, "swd_after": after, "final_losses": log[-1]["losses"], "run": str(directory)}


def report(results: list[dict], device: torch.device) -> None:
    rows = ["| arch | resolution | kimg | R1 gamma | s / 1000 images (whole run; at the target resolution) | "
            "SWD before | SWD after | floor | after / floor |", "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        before, after = result["swd_before"], result["swd_after"]
        gamma = "-" if result["arch"] == "pggan" else f"{result['r1_gamma']:g}"
        rows.append(f"| {result['arch']} | {result['resolution']} | {result['kimg']:g} | {gamma} | "
                    f"{result['seconds_per_kimg']:.1f}; {result['seconds_per_kimg_at_target']:.1f} | "
                    f"{before['average']:.1f} | {after['average']:.1f} | {after['floor']:.1f} | "
                    f"{after['average'] / after['floor']:.2f}x |")
    body = "\n".join([
        "## Multi-image GANs on lfw_subset (200 grayscale 25x25 images: 100 faces, 100 non-face patches)",
        "",
        f"Machine: {machine_description(device)}.",
        "Command: `python benchmarks/gan_lfw.py` (batch 16, z/w 128, channels min(1024 / r, 64), seed 0; "
        "EMA half-life 10 kimg ramped up as 0.05 x images seen; progressive archs fade in and stabilise each "
        "resolution over phase_kimg). SWD: PGGAN's Laplacian-patch recipe, x1000, 200 generated against 100 "
        "real images; the floor compares those 100 with the other 100. \"Before\" is the same network at "
        "initialisation.",
        "",
        *rows,
    ])
    write_section("gan_lfw", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["pggan", "stylegan", "stylegan2"])
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--kimg", type=float, default=30.0)
    parser.add_argument("--r1-gamma", type=float, default=None,
                        help="R1 weight of stylegan/stylegan2 (default: the paper's, as `singan gan train`)")
    parser.add_argument("--device", default="auto")
    options = parser.parse_args()
    device = resolve_device(options.device)
    folder = write_faces(OUTPUT / "lfw_subset")
    store = OUTPUT / "results.json"
    saved = json.loads(store.read_text()) if store.exists() else {}
    for arch in options.arch:
        result = run_one(arch, options.resolution, options.kimg, folder, device, options.r1_gamma)
        saved[run_name(arch, options.resolution, options.kimg, options.r1_gamma)] = result
        store.write_text(json.dumps(saved, indent=2))
        print(json.dumps({key: value for key, value in result.items() if not key.startswith("swd")}),
              f"SWD {result['swd_before']['average']:.1f} -> {result['swd_after']['average']:.1f} "
              f"(floor {result['swd_after']['floor']:.1f})", flush=True)
    report(list(saved.values()), device)


if __name__ == "__main__":
    main()
