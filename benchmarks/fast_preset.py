"""The `fast` preset against the `paper` preset: whole training time at full size, and sample quality.

    python benchmarks/fast_preset.py [IMAGE] [--root benchmarks/output/fast_preset] [--compare-size 128]
                                     [--seeds 0 1 2] [--num 50] [--reuse]

1. Times `singan train IMAGE` (the default preset, `fast`) at the full 250 px as a new process, start to end.
2. Trains both presets at `--compare-size` (the paper preset takes hours at 250 px on a CPU) and evaluates
   each with `singan eval`'s metrics on the same number of samples: patch SWD (with its real-vs-real floor)
   and diversity, once per training seed in --seeds: one run's SWD moves by about 20 % with its seed, so
   the presets are compared by their means over the seeds. The fast preset passes when its mean SWD is
   no worse than the paper preset's and its mean diversity is 0.8x to 1.25x the paper preset's.

With --reuse, finished runs under --root are evaluated as they are and unfinished ones are resumed, so
the hours of the paper preset's run are spent once (a run is reused only while its recorded configuration
is the preset's: a run trained by an older tree with the same configuration is reused too, so train the
runs again, without --reuse, after the trainer changes). Writes the "fast_preset" section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from report import machine_description, write_section
from singan import api
from singan.runs import open_run
from singan.config.singan import TrainConfig, preset
from singan.errors import RunError

SHARED_BALLOONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "singan-inputs" / "Images" / "balloons.png"
TARGET_MINUTES = 20
DIVERSITY_RANGE = (0.8, 1.25)


def time_default_training(image: Path, root: Path, name: str, reuse: bool) -> dict:
    """Wall-clock seconds and peak memory of `singan train IMAGE` as a user runs it, in a process of its own;
    with --reuse, what an earlier measurement of a finished run recorded."""
    directory = root / name
    measurement = root / f"{name}.json"
    if reuse and _complete(directory) and measurement.exists() and _same_config(directory, preset("fast")):
        return json.loads(measurement.read_text())
    command = [sys.executable, "-m", "singan", "train", str(image), "--out", str(root), "--name", name,
               "--force", "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    figures = {"seconds": time.perf_counter() - started,
               "peak_gib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20,
               "threads": torch.get_num_threads()}
    measurement.write_text(json.dumps(figures))
    return figures


def trained(image: Path, root: Path, name: str, preset_name: str, max_size: int, seed: int, reuse: bool,
            finish: bool) -> Path:
    """A run of `preset_name` at `max_size`. With --reuse an existing run is kept, and resumed when unfinished
    unless --no-finish; otherwise it is trained anew."""
    directory = root / name
    config = preset(preset_name).replace(max_size=max_size, seed=seed)
    if reuse and directory.exists() and _same_config(directory, config):
        if not _complete(directory) and finish:
            print(f"resuming {directory}", flush=True)
            api.train_run(image, out=root, name=name, resume=True, estimate=False)
        return directory
    print(f"training {directory}", flush=True)
    api.train_run(image, config, out=root, name=name, force=True, estimate=False)
    return directory


def _same_config(directory: Path, config: TrainConfig) -> bool:
    """Whether the run was trained with `config` (up to its seed when `config` has none): a run of an older
    version of a preset is trained again."""
    try:
        recorded = open_run(directory, "singan").record.train_config
    except RunError:
        return False
    return dataclasses.replace(recorded, seed=config.seed) == config


def _complete(directory: Path) -> bool:
    try:
        return open_run(directory, "singan").record.complete
    except RunError:
        return False


def evaluated(directory: Path, num: int) -> dict:
    """The run's figures as `singan eval` computes them, or how far an unfinished run has got."""
    record = open_run(directory, "singan").record
    figures = {"scales": record.num_scales, "trained_scales": len(record.scales), "size": record.planned_sizes[-1],
               "train_seconds": sum(scale.seconds for scale in record.scales)}
    if record.complete:
        evaluation, _ = api.evaluate_run(api.load_run(directory), num=num, seed=0)
        figures.update(evaluation.to_dict())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", nargs="?", type=Path, default=SHARED_BALLOONS)
    parser.add_argument("--root", type=Path, default=Path(__file__).parent / "output" / "fast_preset")
    parser.add_argument("--compare-size", type=int, nargs="+", default=[128], help="max sizes to compare at")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds of the compared runs")
    parser.add_argument("--num", type=int, default=50, help="samples per evaluation")
    parser.add_argument("--reuse", action="store_true", help="keep existing runs under --root (resuming them)")
    parser.add_argument("--no-finish", dest="finish", action="store_false",
                        help="with --reuse, report unfinished runs as they are instead of resuming them")
    arguments = parser.parse_args()
    stem = arguments.image.stem

    full = time_default_training(arguments.image, arguments.root, f"{stem}_fast_full", arguments.reuse)
    print(f"fast preset, full size: {full['seconds'] / 60:.1f} min", flush=True)
    runs = {"fast (full size)": arguments.root / f"{stem}_fast_full"}
    for size in arguments.compare_size:
        for name in ("fast", "paper"):
            for seed in arguments.seeds:
                directory = trained(arguments.image, arguments.root, _run_name(stem, name, size, seed), name, size,
                                    seed, arguments.reuse, arguments.finish)
                runs[_label(name, size, seed)] = directory
    figures = {label: evaluated(directory, arguments.num) for label, directory in runs.items()}
    (arguments.root / "figures.json").write_text(json.dumps(figures, indent=2))
    body = report(arguments, figures, full)
    write_section("fast_preset", body)
    print(body)


def _label(preset_name: str, size: int, seed: int) -> str:
    return f"{preset_name} ({size} px, seed {seed})"


def _run_name(stem: str, preset_name: str, size: int, seed: int) -> str:
    # Seed 0 keeps the name of the runs made before --seeds existed, so --reuse finds them.
    return f"{stem}_{preset_name}_{size}" + (f"_seed{seed}" if seed else "")


def report(arguments: argparse.Namespace, figures: dict, full: dict) -> str:
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    full_seconds = full["seconds"]
    time_ok = full_seconds <= TARGET_MINUTES * 60
    lines = [
        f"## The `fast` preset against the `paper` preset, {arguments.image.name}",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command: `python benchmarks/fast_preset.py {' '.join(sys.argv[1:])}`; {arguments.num} samples per run "
        "(sample seeds 0 onwards, start scale 0), evaluated as `singan eval` does; the compared runs' training "
        f"seeds: {', '.join(map(str, arguments.seeds))}.",
        "",
        "| run | finest size | scales | training (min) | patch SWD x1000 | real-vs-real floor | x floor "
        "| diversity |",
        "|---|---|---|---|---|---|---|---|",
        *[_row(label, values) for label, values in figures.items()],
        "",
        f"- Whole training at full size with the default preset (`singan train {arguments.image.name}`, timed as "
        f"a new process with {full['threads']} threads): {full_seconds / 60:.1f} min, peak resident memory "
        f"{full['peak_gib']:.2f} GiB; target at most {TARGET_MINUTES} min (the original: about 15 h): "
        f"{verdict(time_ok)}.",
    ]
    for size in arguments.compare_size:
        lines += _comparison(figures, size, arguments.seeds, verdict)
    lines.append("- Training minutes of the compared runs are the sum of their scales' times as run.json records them.")
    return "\n".join(lines)


def _comparison(figures: dict, size: int, seeds: list[int], verdict) -> list[str]:
    """The verdicts at one size, on the means over the training seeds."""
    runs = {name: [figures[_label(name, size, seed)] for seed in seeds] for name in ("fast", "paper")}
    if any("swd" not in values for group in runs.values() for values in group):
        return [f"- At {size} px: not compared, a run is unfinished."]
    swd = {name: [values["swd"]["average"] for values in group] for name, group in runs.items()}
    diversity = {name: statistics.mean(values["diversity"] for values in group) for name, group in runs.items()}
    mean_swd = {name: statistics.mean(values) for name, values in swd.items()}
    spread = {name: f"{min(values):.1f}-{max(values):.1f}" for name, values in swd.items()}
    ratio = diversity["fast"] / diversity["paper"]
    return [
        f"- Patch SWD at {size} px, mean of {len(seeds)} seed(s): fast {mean_swd['fast']:.1f} (runs "
        f"{spread['fast']}) against paper {mean_swd['paper']:.1f} (runs {spread['paper']}); target no worse: "
        f"{verdict(mean_swd['fast'] <= mean_swd['paper'])}.",
        f"- Diversity at {size} px, mean: fast {diversity['fast']:.3f} against paper {diversity['paper']:.3f}, "
        f"ratio {ratio:.2f} (target {DIVERSITY_RANGE[0]} to {DIVERSITY_RANGE[1]}): "
        f"{verdict(DIVERSITY_RANGE[0] <= ratio <= DIVERSITY_RANGE[1])}.",
    ]


def _row(label: str, values: dict) -> str:
    size = f"{values['size'][0]}x{values['size'][1]}"
    minutes = f"{values['train_seconds'] / 60:.1f}"
    if "swd" not in values:
        return (f"| {label} | {size} | {values['trained_scales']} of {values['scales']} trained | {minutes} "
                "| - | - | - | - |")
    swd = values["swd"]
    return (f"| {label} | {size} | {values['scales']} | {minutes} | {swd['average']:.1f} | {swd['floor']:.1f} | "
            f"{swd['ratio']:.2f} | {values['diversity']:.3f} |")


if __name__ == "__main__":
    main()
