"""Every CLI command run with this tree and with an earlier commit on the same inputs: which files differ.

    python benchmarks/outputs_versus_commit.py COMMIT

A change meant to keep behaviour (a restructure) should leave every file the commands write the same, byte
for byte, on a CPU. This script checks COMMIT out into a temporary git worktree, makes tiny inputs (a
picture, a grayscale one, a painting with its mask, a low-resolution image, a folder of shapes, a random
FID Inception file), then runs the same list of commands with each tree: SinGAN training (paper, fast,
noise padding, grayscale), sample, info, eval, retarget, animate, paint (with --quantize), harmonize,
edit, sr (on an image and on a run), and GAN training (pggan, stylegan, stylegan2 with a resume),
generate, interpolate, mix and eval. Files are compared by content: run.json and log.jsonl without their
times, devices and dates, safetensors by their tensors (not their header's metadata), `info`'s table
without its seconds. Writes the "outputs_versus_commit" section of benchmarks/RESULTS.md. Takes about
five minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from report import machine_description, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from conftest import shapes_folder, synthetic_image, write_image  # noqa: E402  (the tests' tiny inputs)

from singan.metrics.inception import InceptionV3  # noqa: E402

SINGAN = "--preset paper --min-size 14 --max-size 32 --iterations 6 --seed 3 --device cpu --out runs --no-estimate -q"
GAN = "--resolution 8 --batch 4 --z-dim 8 --w-dim 8 --channel-max 8 --mapping-layers 2 --device cpu --out runs -q"
COMMANDS = [
    f"train tiny.png {SINGAN} --name singan",
    f"train tiny.png {SINGAN} --name padded --noise-padding",
    f"train gray.png {SINGAN} --name gray",
    "train tiny.png --min-size 14 --max-size 32 --iterations 4 --seed 1 --device cpu --out runs --name fast -q",
    "sample runs/singan --seeds 0-3 -q",
    "sample runs/singan --seeds 0-2 --start-scale 1 --scale-h 1.5 --scale-v 0.8 -q",
    "sample runs/padded --seeds 0-1 --batch 2 -q",
    "sample runs/gray --num 2 -q",
    "eval runs/singan --num 4 --inception-weights inception.safetensors -q",
    "eval runs/gray --num 3 -q",
    "retarget runs/singan --size 30x50 --num 2 -q",
    "animate runs/padded --frames 5 --no-mp4 -q",
    "animate runs/singan --frames 4 --loop --start-scale 1 --beta 0.8 --no-mp4 -q",
    "paint runs/singan picture.png --start-scale 1-2 -q",
    "paint runs/singan picture.png --start-scale 2 --quantize --colours 3 -q",
    "paint runs/gray picture.png -q",
    "harmonize runs/singan picture.png --start-scale 1 --start-scale 3 -q",
    "edit runs/singan picture.png --mask picture_mask.png --dilate 3 --blur 2 -q",
    "sr low.png --factor 2 --iterations 3 --out runs -q --seed 5",
    "sr runs/singan --factor 1.5 --output sr_from_run -q",
    f"gan train shapes --arch pggan --kimg 0.1 --phase-kimg 0.03 --seed 1 {GAN} --name pggan",
    f"gan train shapes --arch stylegan --kimg 0.048 --phase-kimg 0.03 --seed 2 {GAN} --name stylegan",
    f"gan train shapes --arch stylegan2 --kimg 0.04 --seed 3 {GAN} --name stylegan2 --log-kimg 0.008 "
    "--checkpoint-kimg 0.02 --snapshot-kimg 0.02",
    "gan train shapes --arch stylegan2 --kimg 0.06 --resume --out runs --name stylegan2 -q --device cpu",
    *[command for arch in ("pggan", "stylegan", "stylegan2") for command in (
        f"gan generate runs/{arch} --seeds 0-3 --grid -q", f"gan interpolate runs/{arch} --seeds 1,2 --frames 4 "
        "--no-mp4 -q", f"gan eval runs/{arch} shapes --num 6 -q")],
    "gan generate runs/stylegan2 --seeds 5 --trunc 0.5 --out trunc -q",
    "gan mix runs/stylegan2 --rows 1,2 --cols 3 --layers 0-1 -q",
    "gan mix runs/stylegan --rows 1 --cols 3,4 --layers coarse -q",
]
# Values that say when and where a file was written, not what the commands computed.
VOLATILE = {"created", "seconds", "seconds_per_kimg", "device", "directory"}


def make_inputs(folder: Path) -> None:
    write_image(folder / "tiny.png", synthetic_image())
    write_image(folder / "gray.png", synthetic_image(channels=1))
    write_image(folder / "picture.png", synthetic_image(seed=7))
    mask = np.zeros((24, 32), np.uint8)
    mask[8:16, 10:20] = 255
    write_image(folder / "picture_mask.png", mask)
    write_image(folder / "low.png", synthetic_image(30, 36, seed=4))
    shapes_folder(folder / "shapes")
    torch.manual_seed(0)
    save_file({key: value.contiguous() for key, value in InceptionV3().state_dict().items()},
              str(folder / "inception.safetensors"))


def run_commands(tree: Path, inputs: Path, folder: Path) -> None:
    shutil.copytree(inputs, folder)
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    for command in COMMANDS:
        subprocess.run([sys.executable, "-m", "singan", *command.split()], cwd=folder, env=environment, check=True)
    (folder / "info.json").write_text(subprocess.run(
        [sys.executable, "-m", "singan", "info", "runs/singan", "--json"], cwd=folder, env=environment,
        check=True, capture_output=True, text=True).stdout)


def digests(folder: Path, inputs: Path) -> dict[str, str]:
    given = {path.relative_to(inputs) for path in inputs.rglob("*")}
    return {str(path.relative_to(folder)): _digest(path) for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix != ".mp4" and path.relative_to(folder) not in given}


def _digest(path: Path) -> str:
    if path.suffix == ".safetensors":
        tensors = load_file(str(path))
        # Format 2 of a GAN run keeps StyleGAN2's path-length mean only where it is used; format 1 kept zeros.
        if "stylegan2" not in str(path) and "path_length_mean" in tensors and not tensors["path_length_mean"].any():
            tensors.pop("path_length_mean")
        data = b"".join(key.encode() + str(tensors[key].dtype).encode() + str(tuple(tensors[key].shape)).encode()
                        + tensors[key].contiguous().view(-1).view(torch.uint8).numpy().tobytes()
                        for key in sorted(tensors))
    elif path.suffix == ".json" or path.suffix == ".jsonl":
        lines = [_clean(json.loads(line)) for line in path.read_text().splitlines() if line.strip()] \
            if path.suffix == ".jsonl" else [_clean(json.loads(path.read_text()))]
        data = json.dumps(lines, sort_keys=True).encode()
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def changed_keys(first: Path, second: Path) -> list[str]:
    """The top-level keys whose values differ between two JSON files (times and devices aside)."""
    old, new = _clean(json.loads(first.read_text())), _clean(json.loads(second.read_text()))
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _clean(value):
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        earlier, inputs = scratch / "earlier", scratch / "inputs"
        make_inputs(inputs)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(earlier), arguments.commit],
                       check=True)
        try:
            for tree, name in ((earlier, "before"), (ROOT, "after")):
                run_commands(tree, inputs, scratch / name)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=True)
        before, after = digests(scratch / "before", inputs), digests(scratch / "after", inputs)
        differing = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
        notes = {name: ", ".join(changed_keys(scratch / "before" / name, scratch / "after" / name))
                 for name in differing if name.endswith(".json") and name in before and name in after}
    body = "\n".join([
        f"## Every command's files, this tree against commit {arguments.commit}",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command: `python benchmarks/outputs_versus_commit.py {arguments.commit}` ({len(COMMANDS)} commands, "
        f"{len(before)} files with {arguments.commit}, {len(after)} with this tree).",
        "",
        f"**{len(before.keys() & after.keys()) - len(set(differing) & before.keys() & after.keys())} files the "
        f"same, {len(differing)} different**" + (":" if differing else "."),
        *[f"- `{name}`" + (f" (differs in: {notes[name]})" if notes.get(name) else "")
          + ("" if name in before and name in after else f" (only {'before' if name in before else 'after'})")
          for name in differing],
    ])
    write_section("outputs_versus_commit", body)
    print(body)


if __name__ == "__main__":
    main()
