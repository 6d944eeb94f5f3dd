"""Seconds per training iteration and peak memory at every scale of a preset, with arithmetic efficiency.

    python benchmarks/speed_per_scale.py [IMAGE] [--iterations 3] [--preset paper] [--device auto]
    python benchmarks/speed_per_scale.py [IMAGE] --versus-original /tmp/anchors/SinGAN [--rounds 3]
        [--scales 0 1 2 3]

With --versus-original CHECKOUT, the official SinGAN code in CHECKOUT (run unmodified by
../shared/tools/official_singan_bench.sh, with its own Python, --original-python) is timed beside ours at
every scale (or --scales), at the same thread count, one scale at a time: in each round a scale's pair of
timings is taken back to back (the original in a process that trains the scales up to that one, for a few
seconds of steady iterations, and stops; ours in a process of its own), alternating which goes first, so
that drifts in the machine's speed over minutes fall on both sides of a ratio. Each scale's ratio is the
median over the rounds. Writes the "speed_versus_original" section instead ("speed_versus_original_<preset>"
for a preset other than paper; `--preset original` does the original's arithmetic exactly).

Each scale is timed in a process of its own, so its peak memory is its own: the coarser scales are
random frozen networks of the right shapes (an iteration's time does not depend on what they have
learnt). The arithmetic of one iteration is counted from the layer shapes (singan/training/cost.py) and
divided by the time, next to the throughput of a large matrix product measured in the same run: their
ratio says how much of the machine the training uses. Writes the "speed_per_scale_<preset>_<device>"
section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import official
from report import machine_description, write_section
from singan.config.singan import preset
from singan.device import describe_device, resolve_device, synchronize
from singan.seeds import make_generator
from singan.images import load_image
from singan.models.singan import SinGAN, draw_noise, new_networks
from singan.pyramid import build_pyramid, plan_for
from singan.training.cost import iteration_flops, seconds_per_iteration, trained_size
from singan.training.singan import ScaleTrainer

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_BALLOONS = SHARED / "data" / "singan-inputs" / "Images" / "balloons.png"
# The target at the scales of the base width (32 channels), where per-call costs weigh most.
NARROW_TARGET = 1.5
# The official SinGAN code on this project's machine kind (2-core CPU, torch 2.13), balloons.png,
# from ../shared/reference/singan.md: scale -> seconds per iteration.
ORIGINAL_BALLOONS = {0: 0.061, 3: 0.167, 4: 0.70, 7: 3.27, 8: 19.3}
TARGET_SPEEDUP = 1.25
MIN_SECONDS = 3.0
# The original's iterations a scale at most when timing it: 60 at 0.085 s is 5 s at its coarsest scale.
ORIGINAL_MAX_ITERATIONS = 60
MATMUL_SIZE = 2048


def matmul_gflops(device: torch.device, repeats: int = 10) -> float:
    """The best of `repeats` float32 products of two 2048x2048 matrices, in GFLOP/s."""
    rng = make_generator(device, 0)
    left, right = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, generator=rng, device=device) for _ in range(2))
    best = float("inf")
    for _ in range(repeats + 1):
        synchronize(device)
        started = time.perf_counter()
        torch.mm(left, right)
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return 2 * MATMUL_SIZE**3 / best / 1e9


def peak_memory_gib(device: torch.device) -> float:
    """The process's peak resident memory on a CPU (Linux reports KiB), the allocator's peak on a GPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def time_scale(arguments: argparse.Namespace) -> dict:
    """One scale, in this process: seconds per iteration after a warm-up, and the peak memory."""
    device = resolve_device(arguments.device)
    config = preset(arguments.preset).replace(seed=0)
    image = load_image(arguments.image)
    plan = plan_for(*image.shape[-2:], config)
    reals = build_pyramid(image.to(device), plan)
    model = SinGAN(3).to(device)
    rng = make_generator(device, arguments.scale)
    model.reconstruction_noise = draw_noise(rng, 1, plan.sizes[0])
    for index in range(arguments.scale):
        model.add_scale(*new_networks(3, config.width(index), rng), 0.1 if index else 1.0, plan.sizes[index])
    generator, critic = new_networks(3, config.width(arguments.scale), rng)
    trainer = ScaleTrainer(model, reals[arguments.scale], generator, critic, config, rng)
    # Small scales take milliseconds: repeat them for at least MIN_SECONDS so the figure is stable.
    seconds = seconds_per_iteration(trainer, arguments.iterations, MIN_SECONDS)
    return {"seconds": seconds, "peak_gib": peak_memory_gib(device)}


def time_in_subprocess(arguments: argparse.Namespace, scale: int) -> dict:
    command = [sys.executable, __file__, str(arguments.image), "--preset", arguments.preset, "--device",
               arguments.device, "--iterations", str(arguments.iterations), "--scale", str(scale)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def time_original(arguments: argparse.Namespace, scale: int, iterations: int) -> dict:
    """The official code's seconds per iteration at `scale` (the mean of its steady iterations: the script
    leaves out each scale's first and last), in a process that trains scales 0 .. `scale` for `iterations`
    each and stops there, at our thread count."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "original.json"
        environment = official.environment(arguments.original_python, torch.get_num_threads(), JSON_OUT=output)
        command = official.command(arguments.versus_original, arguments.image, iterations, "--manualSeed", 1,
                                   script=arguments.original_script, scales=scale + 1)
        subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
        return {row["scale"]: row for row in json.loads(output.read_text())["scales"]}[scale]


def original_iterations(arguments: argparse.Namespace, estimate: float | None) -> int:
    """Iterations a scale for the original: enough that its steady ones (all but the first and last) last
    MIN_SECONDS at `estimate` seconds each (our latest time of the scale: the original is no faster), at
    least --original-iterations and at most ORIGINAL_MAX_ITERATIONS."""
    if estimate is None:
        return arguments.original_iterations
    wanted = math.ceil(MIN_SECONDS / estimate) + 2
    return max(arguments.original_iterations, min(ORIGINAL_MAX_ITERATIONS, wanted))


def versus_original(arguments: argparse.Namespace) -> str:
    """Pairs of timings, one scale at a time: the original and ours back to back (alternating which goes
    first), so that both see the machine at the same speed; a scale's ratio is the median over the rounds."""
    config = preset(arguments.preset)
    image = load_image(arguments.image)
    plan = plan_for(*image.shape[-2:], config)
    scales = arguments.scales if arguments.scales else list(range(len(plan.sizes)))
    if any(not 0 <= scale < len(plan.sizes) for scale in scales):
        raise SystemExit(f"--scales: the pyramid has scales 0 to {len(plan.sizes) - 1}")
    original = {scale: [] for scale in scales}
    ours = {scale: [] for scale in scales}
    latest = None  # our latest time of any scale: the estimate for a scale not yet timed (a coarser one's)
    for index in range(arguments.rounds):
        for position, scale in enumerate(scales):
            order = ("ours", "original") if (index + position) % 2 == 0 else ("original", "ours")
            for side in order:
                if side == "ours":
                    latest = time_in_subprocess(arguments, scale)["seconds"]
                    ours[scale].append(latest)
                else:
                    iterations = original_iterations(arguments, ours[scale][-1] if ours[scale] else latest)
                    original[scale].append(time_original(arguments, scale, iterations))
            print(f"round {index + 1}, scale {scale}: original {original[scale][-1]['s_per_iter_mean']:.4f} s "
                  f"({original[scale][-1]['n_iters']} iterations), ours {ours[scale][-1]:.4f} s", flush=True)
    rows, verdicts = [], []
    for scale in scales:
        size = plan.sizes[scale]
        theirs = original[scale]
        ratios = [row["s_per_iter_mean"] / mine for row, mine in zip(theirs, ours[scale])]
        ratio = statistics.median(ratios)
        target = NARROW_TARGET if config.width(scale) == config.base_channels else TARGET_SPEEDUP
        met = ratio >= target
        verdicts.append(met)
        rows.append(f"| {scale} | {size[0]}x{size[1]} | {theirs[0]['h']}x{theirs[0]['w']} | {config.width(scale)} "
                    f"| {statistics.median(row['s_per_iter_mean'] for row in theirs):.3f} "
                    f"| {statistics.median(ours[scale]):.3f} | {theirs[-1]['n_iters']} "
                    f"| {', '.join(f'{value:.2f}' for value in ratios)} "
                    f"| **{ratio:.2f}x** | {target}x: {'met' if met else 'MISSED'} |")
    measured = ("every scale" if len(scales) == len(plan.sizes) else
                f"scale{'s' if len(scales) > 1 else ''} {', '.join(map(str, scales))}")
    return "\n".join([
        f"## The `{arguments.preset}` preset against the original SinGAN, side by side, {arguments.image.name}, cpu",
        "",
        f"Machine: {machine_description(torch.device('cpu'))}.",
        f"Command: `python benchmarks/speed_per_scale.py {' '.join(sys.argv[1:])}`. Each round times {measured}"
        " as a pair, the official code and ours back to back, alternating which goes first: the official "
        "code unmodified through ../shared/tools/official_singan_bench.sh, in a process that trains the "
        f"scales up to this one and stops (enough iterations a scale for {MIN_SECONDS:g} s of steady ones at "
        "our speed, at "
        f"least {arguments.original_iterations} and at most {ORIGINAL_MAX_ITERATIONS}; its first and last "
        "left out), and ours in a process of its own (the mean of at least "
        f"{arguments.iterations} iterations and {MIN_SECONDS:g} s after a warm-up); both at "
        f"{torch.get_num_threads()} threads.",
        _arithmetic_text(config),
        "",
        "| scale | size (ours) | size (original) | channels | s/iter original | s/iter ours | original's iterations (last round) "
        "| ratio per round | median ratio | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Every measured scale at or above its target: {'met' if all(verdicts) else 'MISSED'} "
        f"({sum(verdicts)} of {len(verdicts)}).",
    ])


def _arithmetic_text(config) -> str:
    steps = f"{config.critic_steps} critic and {config.generator_steps} generator steps"
    if config.fresh_fake:
        return (f"Our iteration does at least the original's arithmetic: {steps}, each generator step with a "
                "fresh fake (the original reuses one).")
    return (f"Our iteration does the original's arithmetic: {steps}, the generator steps on the last critic "
            "step's fake, whose adversarial gradient is computed once.")


def _iteration_text(config) -> str:
    if config.crop_iterations and config.crop_size:
        return (f"{config.iterations} iterations per scale, {config.crop_iterations} at the scales trained "
                f"on {config.crop_size} px crops")
    return f"{config.iterations} iterations per scale"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", nargs="?", type=Path, default=SHARED_BALLOONS)
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per scale (after one warm-up)")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scale", type=int, help=argparse.SUPPRESS)  # internal: time this scale, print JSON
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--versus-original", type=Path, metavar="CHECKOUT",
                        help="a checkout of the official SinGAN code to time beside ours, round by round")
    official.add_python_option(parser)
    parser.add_argument("--original-script", type=Path, default=official.SCRIPT)
    parser.add_argument("--original-iterations", type=int, default=6,
                        help="the original's iterations a scale at least (its first and last are left out)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of the original and ours at every scale")
    parser.add_argument("--scales", type=int, nargs="+", help="time only these scales (default: every one)")
    arguments = parser.parse_args()
    if arguments.scale is not None:
        print(json.dumps(time_scale(arguments)))
        return
    if arguments.versus_original:
        if arguments.device != "auto" and resolve_device(arguments.device).type != "cpu":
            raise SystemExit("--versus-original times the original on the CPU only")
        arguments.device = "cpu"
        body = versus_original(arguments)
        if not arguments.no_write:
            suffix = "" if arguments.preset == "paper" else f"_{arguments.preset}"
            write_section(f"speed_versus_original{suffix}", body)
        print(body)
        return

    device = resolve_device(arguments.device)
    config = preset(arguments.preset)
    image = load_image(arguments.image)
    if image.shape[1] != 3:
        raise SystemExit("the benchmark expects an RGB image")
    plan = plan_for(*image.shape[-2:], config)
    compare = arguments.image.name == "balloons.png" and arguments.preset == "paper" and device.type == "cpu"
    matmul = matmul_gflops(device)
    print(f"matrix product: {matmul:.0f} GFLOP/s", flush=True)

    rows, total, peak = [], 0.0, 0.0
    for scale, size in enumerate(plan.sizes):
        measured = time_in_subprocess(arguments, scale)
        seconds = measured["seconds"]
        total += seconds * config.iterations_at(size)
        peak = max(peak, measured["peak_gib"])
        gflops = iteration_flops(config, list(plan.sizes), scale) / seconds / 1e9
        original = ORIGINAL_BALLOONS.get(scale) if compare else None
        ratio = f"{original / seconds:.2f}x" if original else ""
        trained = trained_size(config, size)
        window = "" if trained == tuple(size) else f" (crops {trained[0]}x{trained[1]})"
        rows.append(f"| {scale} | {size[0]}x{size[1]}{window} | {config.width(scale)} | {seconds:.3f} | "
                    f"{original if original else ''} | {ratio} | {measured['peak_gib']:.2f} | {gflops:.0f} | "
                    f"{gflops / matmul:.0%} |")
        print(rows[-1], flush=True)
    final_matmul = matmul_gflops(device)

    memory = "peak GPU memory allocated" if device.type == "cuda" else "peak resident memory of the process"
    body = "\n".join([
        f"## Seconds per training iteration, `{arguments.preset}` preset, {arguments.image.name}, {device.type}",
        "",
        f"Machine: {machine_description(device)}; device {describe_device(device)}.",
        f"Command: `python benchmarks/speed_per_scale.py {' '.join(sys.argv[1:])}` (image {arguments.image.name}; "
        f"each scale in its own process; mean of at least {arguments.iterations} iterations and {MIN_SECONDS:g} s "
        f"after one warm-up; an iteration is {config.critic_steps} critic + {config.generator_steps} generator "
        "steps).",
        "",
        f"| scale | size (HxW) | channels | s/iter (ours) | s/iter (original) | speed-up | {memory} (GiB) "
        "| GFLOP/s | of matmul |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Whole training extrapolated ({_iteration_text(config)}): {total / 3600:.2f} h"
        + (" (original: about 14.9 h)." if compare else ".") + f" Peak memory of any scale: {peak:.2f} GiB"
        + (" (original: 3.0 GiB)." if compare else "."),
        f"Matrix product ({MATMUL_SIZE}x{MATMUL_SIZE}, float32) in the same run: {matmul:.0f} GFLOP/s before the "
        f"scales, {final_matmul:.0f} GFLOP/s after; 'of matmul' divides each scale's GFLOP/s by the first.",
        "GFLOP/s counts the arithmetic of one iteration from the layer shapes (singan/training/cost.py): every "
        "generator step recomputes its fake, which the original does not.",
        *([f"The original figures are the official code on this machine kind, from the reference (singan.md, "
           f"section 6); the target is at least {TARGET_SPEEDUP}x at every scale."] if compare else []),
    ])
    if not arguments.no_write:
        write_section(f"speed_per_scale_{arguments.preset}_{device.type}", body)
    print(body)


if __name__ == "__main__":
    main()
