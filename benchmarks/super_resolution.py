"""Super-resolution check: shrink an image x4, super-resolve it back, compare with the original.

    python benchmarks/super_resolution.py [IMAGE ...] [--factor 4] [--preset paper] [--iterations N]

For each image: crop it to a multiple of the factor, shrink it by the factor (bicubic, antialiased),
train a super-resolution run on the small image with `singan sr`'s settings (alpha 100, one pyramid
step per upsampling step), upscale it back, and report PSNR and SSIM (scikit-image) of the SinGAN
result and of the bicubic upscale against the original, with a sharpness figure (mean gradient
magnitude) for all three. Runs go to benchmarks/output/ (not tracked) and are reused by the next
call unless --retrain is given. Writes the "super_resolution" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from skimage.color import rgb2gray
from skimage.filters import sobel
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from report import machine_description, write_section
from singan import api
from singan.config.singan import preset
from singan.images import load_image, save_image
from singan.pyramid import resize

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "singan-inputs" / "Images"
OUTPUT = Path(__file__).parent / "output" / "super_resolution"


def shrunk_copy(image_path: Path, factor: int, folder: Path) -> tuple[Path, np.ndarray]:
    """Write the image shrunk by `factor` as <name>_lr.png; returns it and the cropped original (uint8)."""
    image = load_image(image_path)
    height, width = (side - side % factor for side in image.shape[-2:])
    original = image[..., :height, :width]
    small = resize(original, (height // factor, width // factor)).clamp(-1, 1)
    path = folder / f"{image_path.stem}_lr.png"
    save_image(path, small)
    save_image(folder / f"{image_path.stem}_hr.png", original)
    return path, iio.imread(folder / f"{image_path.stem}_hr.png")


def sharpness(pixels: np.ndarray) -> float:
    """Mean gradient magnitude (Sobel) of the image's luminance in [0, 1]."""
    gray = rgb2gray(pixels) if pixels.ndim == 3 else pixels / 255.0
    return float(sobel(gray).mean())


def scores(result: np.ndarray, original: np.ndarray) -> dict:
    channel_axis = 2 if original.ndim == 3 else None
    return {
        "psnr": peak_signal_noise_ratio(original, result, data_range=255),
        "ssim": structural_similarity(original, result, data_range=255, channel_axis=channel_axis),
        "sharpness": sharpness(result),
    }


def run_image(image_path: Path, factor: int, config, device: str, retrain: bool) -> dict:
    folder = OUTPUT / image_path.stem
    folder.mkdir(parents=True, exist_ok=True)
    low_path, original = shrunk_copy(image_path, factor, folder)
    # Without --retrain a complete run of the same small image (and factor's settings) is reused.
    singan_path, bicubic_path = api.super_resolve_run(
        low_path, factor, config, out=folder, name="run", device=device, force=retrain, output=folder)
    summary = api.run_summary(folder / "run")
    return {
        "image": image_path.name, "original": original.shape[:2], "low": iio.imread(low_path).shape[:2],
        "scales": summary["num_scales"], "seconds": summary["seconds"], "iterations": summary["config"]["iterations"],
        "device": summary["device"],
        "singan": scores(iio.imread(singan_path), original), "bicubic": scores(iio.imread(bicubic_path), original),
        "reference_sharpness": sharpness(original), "files": (singan_path, bicubic_path),
    }


def table(results: list[dict]) -> list[str]:
    rows = ["| image | low-res -> original | method | PSNR (dB) | SSIM | sharpness |", "|---|---|---|---|---|---|"]
    for result in results:
        (lh, lw), (oh, ow) = result["low"], result["original"]
        sizes = f"{lw}x{lh} -> {ow}x{oh}"
        for method in ("singan", "bicubic"):
            figures = result[method]
            rows.append(f"| {result['image']} | {sizes} | {'SinGAN' if method == 'singan' else 'bicubic'} | "
                        f"{figures['psnr']:.2f} | {figures['ssim']:.3f} | {figures['sharpness']:.4f} |")
        rows.append(f"| {result['image']} | {sizes} | original | - | - | {result['reference_sharpness']:.4f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", type=Path, default=[SHARED_IMAGES / "balloons.png"])
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--iterations", type=int, default=None, help="override the preset's iterations per scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--retrain", action="store_true", help="train again even where a complete run exists")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    arguments = parser.parse_args()

    config = preset(arguments.preset).replace(seed=arguments.seed, iterations=arguments.iterations)
    results = []
    for image in arguments.images:
        results.append(run_image(image, arguments.factor, config, arguments.device, arguments.retrain))
        print(f"{image.name}: {results[-1]['scales']} scales trained in {results[-1]['seconds'] / 60:.1f} min",
              flush=True)
    body = "\n".join([
        f"## Super-resolution x{arguments.factor}: SinGAN against bicubic",
        "",
        f"Machine: {machine_description(torch.device(arguments.device))}.",
        f"Command: `python benchmarks/super_resolution.py {' '.join(sys.argv[1:])}` (preset {arguments.preset}, "
        "the super-resolution settings of `singan sr`).",
        "Each image is cropped to a multiple of the factor, shrunk by it (bicubic, antialiased), trained on, "
        "and upscaled back; the figures compare each upscale with the original. Sharpness is the mean Sobel "
        "gradient magnitude of the luminance in [0, 1] (higher is sharper; the original's is the target).",
        "",
        *table(results),
        "",
        "Training (from run.json): " + "; ".join(
            f"{result['image']} {result['scales']} scales x {result['iterations']} iterations in "
            f"{result['seconds'] / 60:.1f} min on {result['device']}" for result in results) + ".",
    ])
    if not arguments.no_write:
        write_section(f"super_resolution_x{arguments.factor}", body)
    print(body)


if __name__ == "__main__":
    main()
