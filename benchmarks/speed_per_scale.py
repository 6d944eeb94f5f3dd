"""Seconds per training iteration at every scale of a preset, beside the original implementation's figures.

    python benchmarks/speed_per_scale.py [IMAGE] [--iterations 3] [--preset paper] [--device auto]

Each scale is timed on its own: the coarser scales are random frozen networks of the right shapes
(the time of an iteration does not depend on what they have learnt). Writes the "speed_per_scale"
section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from report import machine_description, write_section
from singan.config import preset
from singan.device import describe_device, make_generator, resolve_device
from singan.images import load_image
from singan.models.singan import SinGAN, draw_noise, new_networks
from singan.pyramid import build_pyramid, plan_for
from singan.training.cost import iteration_flops, seconds_per_iteration
from singan.training.singan import ScaleTrainer

SHARED_BALLOONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "singan-inputs" / "Images" / "balloons.png"
# The official SinGAN code on this project's machine kind (2-core CPU, torch 2.13), balloons.png,
# from ../shared/reference/singan.md: scale -> seconds per iteration.
ORIGINAL_BALLOONS = {0: 0.061, 3: 0.167, 4: 0.70, 7: 3.27, 8: 19.3}
MIN_SECONDS = 3.0


def time_scale(model: SinGAN, reals: list[torch.Tensor], scale: int, config, iterations: int) -> float:
    device = reals[scale].device
    rng = make_generator(device, scale)
    while model.num_scales < scale:
        index = model.num_scales
        model.add_scale(*new_networks(3, config.width(index), rng), 0.1 if index else 1.0,
                        tuple(reals[index].shape[-2:]))
    generator, critic = new_networks(3, config.width(scale), rng)
    trainer = ScaleTrainer(model, reals[scale], generator, critic, config, rng)
    # Small scales take milliseconds: repeat them for at least MIN_SECONDS so the figure is stable.
    return seconds_per_iteration(trainer, iterations, MIN_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", nargs="?", type=Path, default=SHARED_BALLOONS)
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per scale (after one warm-up)")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    arguments = parser.parse_args()

    device = resolve_device(arguments.device)
    config = preset(arguments.preset).replace(seed=0)
    image = load_image(arguments.image)
    if image.shape[1] != 3:
        raise SystemExit("the benchmark expects an RGB image")
    plan = plan_for(*image.shape[-2:], config)
    reals = build_pyramid(image.to(device), plan)
    model = SinGAN(3).to(device)
    model.reconstruction_noise = draw_noise(make_generator(device, 0), 1, plan.sizes[0])
    compare = arguments.image.name == "balloons.png" and arguments.preset == "paper"

    rows, total = [], 0.0
    for scale, size in enumerate(plan.sizes):
        seconds = time_scale(model, reals, scale, config, arguments.iterations)
        total += seconds * config.iterations
        gflops = iteration_flops(config, list(plan.sizes), scale) / seconds / 1e9
        original = ORIGINAL_BALLOONS.get(scale) if compare else None
        ratio = f"{original / seconds:.2f}x" if original else ""
        rows.append(f"| {scale} | {size[0]}x{size[1]} | {config.width(scale)} | {seconds:.3f} | "
                    f"{original if original else ''} | {ratio} | {gflops:.0f} |")
        print(rows[-1], flush=True)

    body = "\n".join([
        f"## Seconds per training iteration, `{arguments.preset}` preset, {arguments.image.name}",
        "",
        f"Machine: {machine_description(device)}; device {describe_device(device)}.",
        f"Command: `python benchmarks/speed_per_scale.py {' '.join(sys.argv[1:])}` (image {arguments.image.name}; "
        f"mean of at least {arguments.iterations} iterations and {MIN_SECONDS:g} s per scale after one warm-up; "
        f"an iteration is {config.critic_steps} critic + {config.generator_steps} generator steps).",
        "",
        "| scale | size (HxW) | channels | s/iter (ours) | s/iter (original) | speed-up | GFLOP/s |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Whole training extrapolated ({config.iterations} iterations per scale): {total / 3600:.2f} h"
        + (" (original: about 14.9 h)." if compare else "."),
        "The original figures are the official code on this machine kind, from the reference (singan.md, section 6).",
        "Our iteration does more arithmetic than the original's: each generator step recomputes its fake.",
        "GFLOP/s counts the arithmetic of one iteration from the layer shapes (singan/training/cost.py).",
    ])
    if not arguments.no_write:
        write_section(f"speed_per_scale_{arguments.preset}_{device.type}", body)
    print(body)


if __name__ == "__main__":
    main()
