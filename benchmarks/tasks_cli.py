"""Every task command end to end from the CLI on quick-preset runs, timed.

    python benchmarks/tasks_cli.py [--root DIR] [--reuse]

Trains the quick preset on Input/Images/hubble.png and gravel.png (seed 0), then runs paint (with
and without --quantize), harmonize, edit, sr, animate, retarget and sample on the examples in
Input/, each through the installed `singan` command. `--root` keeps the runs there (default: a
temporary folder); `--reuse` takes complete runs found there instead of training them again (their
training time is read from run.json). Paint's fine-tuned scale is always trained afresh so that it
is timed. Writes the "tasks_cli" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from report import machine_description, write_section

REPOSITORY = Path(__file__).resolve().parents[1]
TRAINED = {"hubble": "Input/Images/hubble.png", "gravel": "Input/Images/gravel.png"}
# (what, arguments after `singan`); {root} is the run root
COMMANDS = [
    ("paint, 3 start scales", ["paint", "{root}/hubble", "Input/Paint/hubble.png", "--start-scale", "1-3"]),
    ("paint --quantize (fine-tunes scale 1)", ["paint", "{root}/hubble", "Input/Paint/hubble.png", "--start-scale",
                                               "1", "--quantize"]),
    ("harmonize, 4 start scales", ["harmonize", "{root}/hubble", "Input/Harmonization/hubble_naive.png",
                                   "--start-scale", "1-4"]),
    ("edit, 4 start scales", ["edit", "{root}/gravel", "Input/Editing/gravel_edit.png", "--start-scale", "1-4"]),
    ("retarget to 96x320", ["retarget", "{root}/hubble", "--size", "96x320", "--num", "1"]),
    ("animate, 40 frames, loop", ["animate", "{root}/hubble", "--frames", "40", "--loop"]),
    ("sample, 4 images", ["sample", "{root}/hubble", "--num", "4"]),
    ("sr x4 of a 62x41 image (trains its run)", ["sr", "Input/SuperResolution/coffee_quarter.png", "--factor", "4",
                                                 "--preset", "quick", "--seed", "0", "--out", "{root}", "--name",
                                                 "coffee_quarter_sr_quick", "--force"]),
]


def singan(arguments: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "singan", *arguments, "--quiet"], cwd=REPOSITORY, check=True)
    return time.perf_counter() - started


def trained_seconds(run_dir: Path) -> float | None:
    """Training time recorded in a complete run, or None when there is no complete run."""
    record_path = run_dir / "run.json"
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text())
    return sum(scale["seconds"] for scale in record["scales"]) if record.get("complete") else None


def train(root: Path, name: str, reuse: bool) -> tuple[float, str]:
    recorded = trained_seconds(root / name) if reuse else None
    if recorded is not None:
        return recorded, "reused run, time from run.json"
    seconds = singan(["train", TRAINED[name], "--preset", "quick", "--seed", "0", "--out", str(root), "--force"])
    return seconds, "trained"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="folder for the runs (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="reuse complete runs found in --root")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    arguments = parser.parse_args()
    temporary = None if arguments.root else tempfile.mkdtemp()
    root = (arguments.root or Path(temporary)).resolve()
    rows = []
    try:
        for name in TRAINED:
            seconds, how = train(root, name, arguments.reuse)
            rows.append((f"train {name}.png --preset quick ({how})", seconds))
            print(rows[-1], flush=True)
        for path in (root / "hubble" / "paint").glob("quantized_*.safetensors"):
            path.unlink()  # so that the fine-tuning is timed
        for what, command in COMMANDS:
            rows.append((what, singan([part.format(root=root) for part in command])))
            print(rows[-1], flush=True)
    finally:
        if temporary:
            shutil.rmtree(temporary)
    body = "\n".join([
        "## Every task from the CLI on quick-preset runs",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command: `python benchmarks/tasks_cli.py {' '.join(sys.argv[1:])}` (each `singan` command run as a "
        "new process, so a figure includes starting Python and loading the run, about 2 s).",
        "",
        "| command | seconds |",
        "|---|---|",
        *[f"| {what} | {seconds:.1f} |" for what, seconds in rows],
    ])
    if not arguments.no_write:
        write_section("tasks_cli", body)
    print(body)


if __name__ == "__main__":
    main()
