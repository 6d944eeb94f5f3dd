"""`singan esrgan upscale` at x4 on a large image: peak memory and seconds per input megapixel per tile size.

Each configuration runs the real command (`python -m singan esrgan upscale ... --tile T`) in a fresh process,
which reports its own peak resident memory (ru_maxrss) and wall time; a baseline process that only imports
the package and loads the network gives the memory every run starts with. Networks have the published
shapes with random weights (speed and memory do not depend on the values), saved as BasicSR `.pth` files so
that loading goes through the same reader as a downloaded file:

- `srvgg`: realesr-general-x4v3's shape (SRVGGNetCompact, 64 features, 32 convs), on a SIDE x SIDE image;
- `rrdb`: RealESRGAN_x4plus's (RRDBNet, 64 features, 23 blocks), on a smaller RRDB_SIDE image (its
  arithmetic is 30 times SRVGG's: a 2048 px image takes about 20 minutes per configuration on 2 cores).

    python benchmarks/esrgan_upscale.py --out /tmp/esrgan-upscale
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import skimage.data
import torch
import torch.nn.functional as F

from singan.models.esrgan import RRDBNet, SRVGGNetCompact

RUNNER = """
import json, resource, runpy, sys, time
arguments = json.loads(sys.argv[1])
started = time.perf_counter()
code = 0
if arguments[0] == "--baseline":
    from singan.api import esrgan
    esrgan.load_network(arguments[1], "cpu")
else:
    sys.argv = ["singan"] + arguments
    try:
        runpy.run_module("singan", run_name="__main__")
    except SystemExit as error:
        code = error.code or 0
print(json.dumps({"code": code, "seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_image(side: int, path: Path) -> Path:
    """scikit-image's astronaut enlarged to side x side, with a little noise so that it is not smooth."""
    image = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1)[None].float() / 255
    image = F.interpolate(image, size=(side, side), mode="bicubic", align_corners=False)
    image = image + 0.02 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))
    iio.imwrite(path, (image.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    return path


def make_weights(kind: str, path: Path) -> Path:
    torch.manual_seed(0)
    network = SRVGGNetCompact(4, features=64, convs=32) if kind == "srvgg" else RRDBNet(4)
    torch.save({"params_ema": network.state_dict()}, path)
    return path


def measure(arguments: list[str]) -> dict:
    result = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(arguments)], capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    if result.returncode or not lines:
        return {"code": result.returncode, "error": result.stderr.strip().splitlines()[-1:]}
    notes = [line for line in lines if "does not fit" in line]
    return json.loads(lines[-1]) | ({"note": " ".join(notes)} if notes else {})


def run(kind: str, side: int, tiles: list[str], out: Path) -> dict:
    image = make_image(side, out / f"input_{side}.png")
    weights = make_weights(kind, out / f"{kind}.pth")
    baseline = measure(["--baseline", str(weights)])
    rows = {"network": kind, "side": side, "baseline_peak_mib": round(baseline["peak_mib"], 1),
            "baseline_seconds": round(baseline["seconds"], 1), "tiles": {}}
    print(f"{kind} at {side}x{side}: baseline {baseline['peak_mib']:.0f} MiB", flush=True)
    for tile in tiles:
        options = [] if tile == "none" else ["--tile", tile]
        figures = measure(["esrgan", "upscale", str(image), "--weights", str(weights), "--out", str(out / kind),
                           "--force", "--device", "cpu", *options])
        if "seconds" in figures:
            # Starting Python, importing torch and reading the weights is the baseline's time, not upscaling's.
            working = figures["seconds"] - baseline["seconds"]
            figures["seconds_per_megapixel"] = round(working / (side * side / 1e6), 2)
            figures["peak_mib"] = round(figures["peak_mib"], 1)
            figures["seconds"] = round(figures["seconds"], 1)
        rows["tiles"][tile] = figures
        print(f"  tile {tile}: {figures}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/esrgan-upscale"))
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--rrdb-side", type=int, default=512)
    parser.add_argument("--tiles", default="128,256,512,none")
    parser.add_argument("--networks", default="srvgg,rrdb")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    tiles = arguments.tiles.split(",")
    results = {"machine": f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}", "runs": []}
    for kind in arguments.networks.split(","):
        side = arguments.side if kind == "srvgg" else arguments.rrdb_side
        results["runs"].append(run(kind, side, tiles, arguments.out))
    (arguments.out / "esrgan_upscale.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
