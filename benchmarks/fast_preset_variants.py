"""Schedules tried for the `fast` preset: each variant trained at a small size over several seeds, then
evaluated as `singan eval` does, beside the paper preset.

    python benchmarks/fast_preset_variants.py VARIANT [VARIANT ...] [--image IMAGE] [--size 64]
                                              [--seeds 0 1 2] [--root benchmarks/output/fast_preset] [--jobs 1]

A VARIANT is NAME or NAME:key=value,key=value: a preset name (`fast`, `paper`) or changes to the fast
preset (`it800:iterations=800`, `scales:scale_factor=0.75`, `redraw:redraw_reconstruction_noise=true`).
Runs are kept under --root, named as
benchmarks/fast_preset.py names its runs (so the two share the `fast` and `paper` runs), and reused when
their configuration matches: adding a variant trains only that one. Every variant seen so far (its
figures are kept in --root/variants.json) goes into the "fast_preset_variants" section of
benchmarks/RESULTS.md: mean patch SWD over the seeds, each seed's figure, and the mean diversity.
One run's SWD moves by 10-20 % with its training seed, so compare means over at least three seeds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from fast_preset import SHARED_BALLOONS, _complete, _run_name, _same_config
from report import machine_description, write_section
from singan import api
from singan.config.singan import PRESETS, TrainConfig, preset
from singan.images import load_image
from singan.pyramid import plan_for
from singan.training.cost import machine_rates, seconds_at_rates


def parse_variant(text: str) -> tuple[str, TrainConfig]:
    """`NAME` (a preset) or `NAME:key=value,...` (the fast preset with those changes)."""
    name, _, changes = text.partition(":")
    if not changes:
        return name, preset(name)
    values = {}
    for pair in changes.split(","):
        key, _, value = pair.partition("=")
        values[key] = _value(value)
    return name, preset("fast").replace(**values)


def _value(text: str) -> bool | int | float:
    if text in ("true", "false"):
        return text == "true"
    return float(text) if any(mark in text for mark in ".e") else int(text)


def trained(image: Path, root: Path, name: str, config: TrainConfig) -> Path:
    directory = root / name
    if not (_complete(directory) and _same_config(directory, config)):
        print(f"training {directory}", flush=True)
        api.train_run(image, config, out=root, name=name, force=True, estimate=False)
    return directory


def train_all(arguments: argparse.Namespace, runs: list[tuple[str, TrainConfig]]) -> None:
    """Train the runs, --jobs at a time, each process with its share of the threads: at the sizes compared
    here a second thread barely speeds up one run, so two runs side by side nearly double the throughput."""
    jobs = max(1, arguments.jobs)
    threads = max(1, torch.get_num_threads() // jobs)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=torch.set_num_threads,
                             initargs=(threads,)) as pool:
        for future in [pool.submit(trained, arguments.image, arguments.root, name, config) for name, config in runs]:
            future.result()


def figures_of(directory: Path, num: int) -> dict:
    evaluation, _ = api.evaluate_run(api.load_run(directory), num=num, seed=0)
    figures = evaluation.to_dict()
    return {"swd": figures["swd"]["average"], "ratio": figures["swd"]["ratio"], "diversity": figures["diversity"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--image", type=Path, default=SHARED_BALLOONS)
    parser.add_argument("--size", type=int, default=64, help="max_size of every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--num", type=int, default=50, help="samples per evaluation")
    parser.add_argument("--root", type=Path, default=Path(__file__).parent / "output" / "fast_preset")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained side by side, each in a process")
    arguments = parser.parse_args()
    arguments.root.mkdir(parents=True, exist_ok=True)
    store = arguments.root / "variants.json"
    variants = [parse_variant(text) for text in arguments.variants]
    planned = {(name, seed): (_run_name(arguments.image.stem, name, arguments.size, seed),
                              config.replace(max_size=arguments.size, seed=seed))
               for name, config in variants for seed in arguments.seeds}
    train_all(arguments, list(planned.values()))
    for name, config in variants:
        runs = {}
        for seed in arguments.seeds:
            directory = arguments.root / planned[name, seed][0]
            runs[str(seed)] = figures_of(directory, arguments.num)
        # Read again just before writing: another invocation may have added variants meanwhile.
        known = json.loads(store.read_text()) if store.exists() else {}
        known[f"{name} ({arguments.size} px)"] = {"changes": _changes(config), "config": config.to_dict(),
                                                  "runs": runs}
        store.write_text(json.dumps(known, indent=2))
    body = report(known, arguments)
    write_section("fast_preset_variants", body)
    print(body)


def _changes(config: TrainConfig) -> str:
    for name, candidate in PRESETS.items():
        if config == candidate:
            return f"the {name} preset"
    fast = preset("fast")
    changed = [f"{key}={value}" for key, value in config.to_dict().items() if getattr(fast, key) != value]
    return "fast with " + ", ".join(changed)


def report(known: dict, arguments: argparse.Namespace) -> str:
    lines = [
        "## Schedules tried for the `fast` preset",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command (latest): `python benchmarks/fast_preset_variants.py {' '.join(sys.argv[1:])}`; each run "
        f"evaluated on {arguments.num} samples as `singan eval` does (sample seed 0).",
        "",
        "The minutes are the cost model's (`singan train --estimate`: arithmetic from the layer shapes, with this "
        "machine's throughput and per-step overhead measured once for the table) for training "
        f"{arguments.image.name} at "
        f"{arguments.size} px and at 250 px with the variant's schedule: the runs themselves were trained side by "
        "side, so their clocks are not comparable.",
        "",
        "| variant | settings | mean patch SWD x1000 | per training seed | mean x floor | mean diversity "
        f"| est. min at {arguments.size} px | est. min at 250 px |",
        "|---|---|---|---|---|---|---|---|",
    ]
    minutes = _estimator(arguments.image)
    for label, entry in known.items():
        runs = entry["runs"].values()
        per_seed = ", ".join(f"{seed}: {values['swd']:.1f}" for seed, values in entry["runs"].items())
        config = TrainConfig.from_dict(entry["config"])
        dates = sorted({values["recorded"] for values in runs if "recorded" in values})
        if dates:
            label += f", recorded {', '.join(dates)}"
        lines.append(f"| {label} | {entry['changes']} | {statistics.mean(r['swd'] for r in runs):.1f} | {per_seed} "
                     f"| {statistics.mean(r['ratio'] for r in runs):.2f} "
                     f"| {statistics.mean(r['diversity'] for r in runs):.3f} "
                     f"| {minutes(config, arguments.size):.1f} | {minutes(config, 250):.1f} |")
    return "\n".join(lines)


def _estimator(image: Path):
    """Minutes of training `image` at a max size by the cost model, this machine's rates measured once per
    pair of widths."""
    height, width = load_image(image).shape[-2:]
    rates = {}

    def minutes(config: TrainConfig, size: int) -> float:
        widths = (config.base_channels, config.max_channels)
        if widths not in rates:
            rates[widths] = machine_rates(config, torch.device("cpu"))
        sizes = list(plan_for(height, width, config.replace(max_size=size)).sizes)
        return seconds_at_rates(config, sizes, rates[widths]) / 60

    return minutes


if __name__ == "__main__":
    main()
