"""Super-resolution beside the original: shrink an image, super-resolve it back with bicubic, the official
SinGAN's SR.py and ours, and compare each with the image.

    python benchmarks/super_resolution.py [IMAGE ...] [--factor 4] [--preset paper]
        [--original /tmp/anchors/SinGAN] [--original-python /tmp/venv-anchor/bin/python] [--threads 1]

For each image: crop it to a multiple of the factor and shrink it by the factor (bicubic, antialiased);
train a super-resolution run of ours on the small image with `singan sr`'s settings and upscale it back,
without and with one round of back-projection per step (`--back-projection 1`);
run the official SR.py (through ../shared/tools/official_singan_bench.sh, unmodified, in its own
interpreter) on the same small file at its defaults, at the same time on the other core. Then report
PSNR on RGB and on luminance (Y of YCbCr, `factor` px of border cropped, as SR papers do), SSIM, and a
sharpness figure (mean Sobel gradient magnitude of the luminance; the true image's is the target).

Our runs go to benchmarks/output/super_resolution/<image>/ and are reused unless --retrain is given.
The original's runs are cached under benchmarks/output/super_resolution/original/, keyed by the
small image's SHA-256 and the settings, and reused. Without --original the original's column is left
out. Writes the "super_resolution" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from skimage.color import rgb2gray, rgb2ycbcr
from skimage.filters import sobel
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import official
from report import machine_description, write_section
from singan import api
from singan.config.singan import preset
from singan.images import load_image, save_image
from singan.pyramid import resize

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_IMAGES = SHARED / "data" / "singan-inputs" / "Images"
OUTPUT = Path(__file__).parent / "output" / "super_resolution"
METHODS = ("bicubic", "original", "ours", "ours + back-projection")
BACK_PROJECTION = 1  # rounds per step
ORIGINAL_ITERATIONS = 2000  # SR.py's defaults: 2000 iterations per scale, alpha 10, min_size 18
ORIGINAL_SEED = 1


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


def luminance(pixels: np.ndarray) -> np.ndarray:
    return rgb2ycbcr(pixels)[..., 0] if pixels.ndim == 3 else pixels.astype(np.float64)


def sharpness(pixels: np.ndarray) -> float:
    """Mean gradient magnitude (Sobel) of the image's luminance in [0, 1]."""
    gray = rgb2gray(pixels) if pixels.ndim == 3 else pixels / 255.0
    return float(sobel(gray).mean())


def scores(result: np.ndarray, original: np.ndarray, border: int) -> dict:
    result = result[: original.shape[0], : original.shape[1], : original.shape[-1] if original.ndim == 3 else None]
    channel_axis = 2 if original.ndim == 3 else None
    inner = (slice(border, -border), slice(border, -border))
    return {
        "psnr": peak_signal_noise_ratio(original, result, data_range=255),
        "psnr_y": peak_signal_noise_ratio(luminance(original)[inner], luminance(result)[inner], data_range=255),
        "ssim": structural_similarity(original, result, data_range=255, channel_axis=channel_axis),
        "sharpness": sharpness(result),
    }


class OriginalRun:
    """The official SR.py on one small image, in a subprocess, cached by input and settings."""

    def __init__(self, checkout: Path, python: Path, low_path: Path, factor: int):
        digest = hashlib.sha256(low_path.read_bytes()).hexdigest()[:16]
        self.workdir = OUTPUT / "original" / f"{digest}_x{factor}_n{ORIGINAL_ITERATIONS}_seed{ORIGINAL_SEED}"
        # SR.py writes Output/SR/<factor as a float>/<input name without .png>_HR.png under its directory.
        self.result = self.workdir / "Output" / "SR" / f"{float(factor)}" / f"{low_path.stem}_HR.png"
        self.command = official.command(checkout, low_path, ORIGINAL_ITERATIONS, "--sr_factor", factor,
                                        "--manualSeed", ORIGINAL_SEED)
        self.environment = official.environment(python, 1, SR=1, KEEP=1, WORKDIR=self.workdir)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.result.exists():
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "sr.log", "w")
        self.process = subprocess.Popen(self.command, env=self.environment, stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> Path:
        if self.process is not None and self.process.wait() != 0:
            raise SystemExit(f"the original's SR.py failed; see {self.workdir / 'sr.log'}")
        return self.result


def run_image(image_path: Path, arguments, config) -> dict:
    folder = OUTPUT / image_path.stem
    folder.mkdir(parents=True, exist_ok=True)
    low_path, original = shrunk_copy(image_path, arguments.factor, folder)
    official = None
    if arguments.original:
        official = OriginalRun(arguments.original, arguments.original_python, low_path, arguments.factor)
        official.start()  # on the other core while ours trains
    # Without --retrain a complete run of the same small image (and factor's settings) is reused.
    ours_path, bicubic_path = api.super_resolve_run(
        low_path, arguments.factor, config, out=folder, name="run", device=arguments.device, force=arguments.retrain,
        seed=arguments.noise_seed, output=folder)
    back_projected, _ = api.super_resolve_run(folder / "run", arguments.factor, device=arguments.device,
                                              seed=arguments.noise_seed, output=folder, back_projection=BACK_PROJECTION)
    files = {"bicubic": bicubic_path, "ours": ours_path, "ours + back-projection": back_projected}
    if official is not None:
        files["original"] = official.wait()
    summary = api.run_summary(folder / "run")
    return {
        "image": image_path.name, "original_size": original.shape[:2], "low": iio.imread(low_path).shape[:2],
        "scales": summary["num_scales"], "seconds": summary["seconds"], "device": summary["device"],
        "scores": {method: scores(iio.imread(path), original, arguments.factor) for method, path in files.items()},
        "reference_sharpness": sharpness(original), "files": files,
    }


def table(results: list[dict]) -> list[str]:
    rows = ["| image | low-res -> original | method | PSNR RGB (dB) | PSNR Y (dB) | SSIM | sharpness |",
            "|---|---|---|---|---|---|---|"]
    for result in results:
        (lh, lw), (oh, ow) = result["low"], result["original_size"]
        sizes = f"{lw}x{lh} -> {ow}x{oh}"
        for method in METHODS:
            if method in result["scores"]:
                figures = result["scores"][method]
                rows.append(f"| {result['image']} | {sizes} | {method} | {figures['psnr']:.2f} | "
                            f"{figures['psnr_y']:.2f} | {figures['ssim']:.3f} | {figures['sharpness']:.4f} |")
        rows.append(f"| {result['image']} | {sizes} | true image | - | - | - | {result['reference_sharpness']:.4f} |")
    return rows


def summary_lines(results: list[dict]) -> list[str]:
    lines = []
    for method in METHODS:
        chosen = [result["scores"][method] for result in results if method in result["scores"]]
        if chosen:
            lines.append(f"- mean of {len(chosen)}, {method}: PSNR RGB {np.mean([s['psnr'] for s in chosen]):.2f} dB, "
                         f"Y {np.mean([s['psnr_y'] for s in chosen]):.2f} dB, "
                         f"SSIM {np.mean([s['ssim'] for s in chosen]):.3f}, "
                         f"sharpness {np.mean([s['sharpness'] for s in chosen]):.4f}")
    paired = [result for result in results if "original" in result["scores"]]
    for method in METHODS[2:]:
        gaps = ", ".join(f"{result['image']} {result['scores'][method]['psnr'] - result['scores']['original']['psnr']:+.2f}"
                         for result in paired)
        if gaps:
            lines.append(f"- {method} minus the original, PSNR RGB (dB): {gaps}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", type=Path, default=[SHARED_IMAGES / "stone.png"])
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--iterations", type=int, default=None, help="override the preset's iterations per scale")
    parser.add_argument("--seed", type=int, default=1, help="training seed of ours")
    parser.add_argument("--noise-seed", type=int, default=0, help="seed of the upscaling's noise")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of ours (the original takes 1)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--original", type=Path, default=None,
                        help="checkout of the official SinGAN (tamarott/SinGAN) to run its SR.py beside ours")
    official.add_python_option(parser)
    parser.add_argument("--retrain", action="store_true", help="train ours again even where a complete run exists")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)

    config = preset(arguments.preset).replace(seed=arguments.seed, iterations=arguments.iterations)
    results = []
    for image in arguments.images:
        results.append(run_image(image, arguments, config))
        print(f"{image.name}: {results[-1]['scales']} scales trained in {results[-1]['seconds'] / 60:.1f} min",
              flush=True)
    body = "\n".join([
        f"## Super-resolution x{arguments.factor}: ours beside the original SinGAN and bicubic",
        "",
        f"Machine: {machine_description(torch.device(arguments.device))}.",
        f"Command: `python benchmarks/super_resolution.py {' '.join(sys.argv[1:])}` (ours: `singan sr`'s settings "
        f"on preset {arguments.preset}, and the same run with `--back-projection {BACK_PROJECTION}`; the original: "
        f"its SR.py at its defaults, seed {ORIGINAL_SEED}, 1 thread).",
        "Each image is cropped to a multiple of the factor, shrunk by it (bicubic, antialiased), and upscaled "
        "back; the figures compare each upscale with the true image. PSNR Y is on the luminance with "
        f"{arguments.factor} px of border cropped. Sharpness is the mean Sobel gradient magnitude of the "
        "luminance in [0, 1] (higher is sharper; the true image's is the target).",
        "",
        *table(results),
        "",
        *summary_lines(results),
        "",
        "Training of ours (from run.json): " + "; ".join(
            f"{result['image']} {result['scales']} scales in {result['seconds'] / 60:.1f} min on {result['device']}"
            for result in results) + ".",
    ])
    if not arguments.no_write:
        write_section(f"super_resolution_x{arguments.factor}", body)
    print(body)


if __name__ == "__main__":
    main()
