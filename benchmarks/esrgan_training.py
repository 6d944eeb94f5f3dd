"""ESRGAN-family training on this machine, for a fixed budget of minutes per network, judged on held-out images.

Trains, on HR crops of the example images and scikit-image's colour images (the held-out ones excluded):
SRResNet (stage psnr), RRDB-PSNR, ESRGAN-GAN from RRDB-PSNR (stage gan; the perceptual term needs the
ImageNet VGG19 weights: give --vgg-weights, or the stage runs with --no-perceptual and says so), and the
network interpolation of the last two. Each is stopped by its time budget through the Ctrl-C path (the
checkpoint it saves is what is evaluated). Held-out images are shrunk x4 by the training degradation
(antialiased bicubic), upscaled, and scored by Y-PSNR / SSIM with a 4 px border (singan.metrics.fidelity),
against plain bicubic upsampling of the same LR images.

    python benchmarks/esrgan_training.py --inputs ../shared/data/singan-inputs/Images --out /tmp/esrgan-bench
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import skimage.data
import torch
import torch.nn.functional as F

from singan.api import esrgan as esrgan_api
from singan.api.esrgan_training import train_esrgan
from singan.config.esrgan import ESRGANConfig
from singan.data.degradation import bicubic
from singan.events import ESRGANProgress
from singan.images import image_grid, load_image, save_image
from singan.metrics.fidelity import psnr_y, ssim_y
from tasks.esrgan.upscale import upscale

SCALE = 4
TRAIN_SKIMAGE = ("astronaut", "rocket", "immunohistochemistry", "hubble_deep_field", "retina", "brick", "grass",
                 "gravel")
HELD_OUT_SKIMAGE = ("chelsea", "coffee", "camera")
HELD_OUT_INPUTS = ("zebra", "balloons")
COMMON = dict(scale=SCALE, crop=96, batch=16, log_every=10, snapshot_every=500, checkpoint_every=200, seed=0)
NETWORKS = {
    "srresnet": dict(arch="srresnet", features=32, blocks=8),
    "rrdb": dict(arch="rrdb", features=32, blocks=6, growth=16),
}


def write_images(inputs: Path, out: Path) -> tuple[Path, Path]:
    train, held = out / "train", out / "held"
    train.mkdir(parents=True, exist_ok=True)
    held.mkdir(parents=True, exist_ok=True)
    for name in TRAIN_SKIMAGE + HELD_OUT_SKIMAGE:
        image = getattr(skimage.data, name)()
        iio.imwrite((held if name in HELD_OUT_SKIMAGE else train) / f"{name}.png", image)
    for path in sorted(inputs.glob("*.png")):
        if path.stem in HELD_OUT_INPUTS:
            iio.imwrite(held / path.name, iio.imread(path)[..., :3])
        elif min(iio.imread(path).shape[:2]) >= COMMON["crop"]:
            iio.imwrite(train / path.name, iio.imread(path)[..., :3])
    return train, held


def stopper(minutes: float):
    started = time.perf_counter()

    def handle(event):
        if isinstance(event, ESRGANProgress) and time.perf_counter() - started > minutes * 60:
            raise KeyboardInterrupt

    return handle


def train_for(minutes: float, train: Path, out: Path, name: str, **settings) -> tuple[Path, dict]:
    config = ESRGANConfig(**{**COMMON, "iterations": 10**7, **settings})
    handler, started = stopper(minutes), time.perf_counter()
    try:
        train_esrgan(train, config, out=out, name=name, device="cpu", force=True, on_event=handler)
    except KeyboardInterrupt:
        pass
    record = json.loads((out / name / "run.json").read_text())
    return out / name, {"iterations": record["training"]["iteration"],
                        "minutes": round((time.perf_counter() - started) / 60, 2)}


def evaluate(network, held: Path) -> dict:
    scores = {}
    for path in sorted(held.glob("*.png")):
        target = (load_image(path) + 1) / 2
        height, width = (side - side % SCALE for side in target.shape[-2:])
        target = target[..., :height, :width].expand(-1, 3, -1, -1)
        low = bicubic(target, SCALE).clamp(0, 1)
        output = (upscale(network, low, tile=256) if network is not None else
                  F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(0, 1))
        scores[path.stem] = (psnr_y(output, target, SCALE), ssim_y(output, target, SCALE))
    return {"per_image": {name: [round(a, 3), round(b, 4)] for name, (a, b) in scores.items()},
            "psnr_y": round(float(np.mean([a for a, _ in scores.values()])), 3),
            "ssim_y": round(float(np.mean([b for _, b in scores.values()])), 4)}


def write_comparison(runs: Path, held: Path, path: Path) -> Path:
    """One held-out crop x4 by each method, nearest-enlarged x2 so that the detail shows: LR (nearest),
    bicubic, SRResNet, RRDB-PSNR, RRDB-GAN, the interpolation, and the true image."""
    target = (load_image(held / "chelsea.png") + 1) / 2
    target = target[..., 100:196, 150:246]
    low = bicubic(target, SCALE).clamp(0, 1)
    pictures = [F.interpolate(low, scale_factor=SCALE, mode="nearest"),
                F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(0, 1)]
    for name in ("srresnet-psnr", "rrdb-psnr", "rrdb-gan", "rrdb-interpolated"):
        pictures.append(upscale(esrgan_api.load_network(runs / name, "cpu").network, low).clamp(0, 1))
    pictures.append(target)
    grid = image_grid(F.interpolate(torch.cat(pictures), scale_factor=2, mode="nearest") * 2 - 1, columns=len(pictures))
    save_image(path, grid)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=Path, default=Path("../shared/data/singan-inputs/Images"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/esrgan-bench"))
    parser.add_argument("--rrdb-minutes", type=float, default=35)
    parser.add_argument("--srresnet-minutes", type=float, default=8)
    parser.add_argument("--gan-minutes", type=float, default=6)
    parser.add_argument("--vgg-weights", type=Path, default=None)
    parser.add_argument("--alpha", type=float, default=0.8)
    parser.add_argument("--picture", type=Path, default=None,
                        help="only write the comparison picture here, from the runs of an earlier call")
    arguments = parser.parse_args()
    if arguments.picture is not None:
        print(write_comparison(arguments.out / "runs", arguments.out / "held", arguments.picture))
        return
    torch.set_num_threads(torch.get_num_threads())
    train, held = write_images(arguments.inputs, arguments.out)
    runs = arguments.out / "runs"
    results = {"bicubic": evaluate(None, held)}
    print("bicubic", results["bicubic"], flush=True)
    timings = {}
    for name, minutes in (("srresnet", arguments.srresnet_minutes), ("rrdb", arguments.rrdb_minutes)):
        directory, timings[name] = train_for(minutes, train, runs, f"{name}-psnr", **NETWORKS[name])
        results[f"{name}-psnr"] = evaluate(esrgan_api.load_network(directory, "cpu").network, held)
        print(name, timings[name], results[f"{name}-psnr"], flush=True)
    # Without the VGG19 weights the recipe's L1 x 0.01 leaves nothing to hold the colours (the discriminator
    # shifts them within tens of iterations): the L1 then keeps weight 1, as Real-ESRGAN's recipe has it.
    perceptual = arguments.vgg_weights is not None
    gan_settings = dict(NETWORKS["rrdb"], stage="gan", crop=128, batch=8, discriminator_features=32,
                        perceptual=perceptual, **({} if perceptual else {"pixel_weight": 1.0}))
    config = ESRGANConfig(**{**COMMON, **gan_settings, "iterations": 10**7})
    started = time.perf_counter()
    try:
        train_esrgan(train, config, init=runs / "rrdb-psnr", vgg_weights=arguments.vgg_weights, out=runs,
                     name="rrdb-gan", device="cpu", force=True, on_event=stopper(arguments.gan_minutes))
    except KeyboardInterrupt:
        pass
    record = json.loads((runs / "rrdb-gan" / "run.json").read_text())
    timings["rrdb-gan"] = {"iterations": record["training"]["iteration"],
                           "minutes": round((time.perf_counter() - started) / 60, 2),
                           "perceptual": arguments.vgg_weights is not None}
    results["rrdb-gan"] = evaluate(esrgan_api.load_network(runs / "rrdb-gan", "cpu").network, held)
    mixed = esrgan_api.interpolate_networks(runs / "rrdb-psnr", runs / "rrdb-gan", arguments.alpha, out=runs,
                                            name="rrdb-interpolated", force=True)
    results[f"interpolated-{arguments.alpha:g}"] = evaluate(esrgan_api.load_network(mixed, "cpu").network, held)
    summary = {"machine": f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}",
               "networks": {name: NETWORKS[name] for name in NETWORKS}, "common": COMMON,
               "gan": gan_settings, "timings": timings, "results": results,
               "train_images": sorted(path.name for path in train.glob("*.png")),
               "held_out": sorted(path.name for path in held.glob("*.png"))}
    (arguments.out / "esrgan_training.json").write_text(json.dumps(summary, indent=1))
    for name, figures in results.items():
        gain = figures["psnr_y"] - results["bicubic"]["psnr_y"]
        print(f"| {name} | {figures['psnr_y']:.2f} | {gain:+.2f} | {figures['ssim_y']:.4f} |")


if __name__ == "__main__":
    main()
