"""How the benchmarks run the official SinGAN code beside ours: unmodified, with a Python of its own, through
../shared/tools/official_singan_bench.sh (whose header lists its modes: per-scale timing, E2E=1, SR=1)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "shared" / "tools" / "official_singan_bench.sh"
PYTHON = Path("/tmp/venv-anchor/bin/python")


def add_python_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--original-python", type=Path, default=PYTHON,
                        help="the Python of the original's environment (see ../shared/tools/README.md)")


def command(checkout: Path, image: Path, iterations: int, *flags, script: Path = SCRIPT,
            scales: int = 0) -> list[str]:
    """The script's command line: the pyramid's first `scales` scales (0: every one), `iterations` a
    scale, `flags` for the original's own parser (such as --max_size 128 --manualSeed 1)."""
    return ["bash", str(script), str(checkout), str(image), str(iterations), str(scales), *map(str, flags)]


def environment(python: Path, threads: int, **settings) -> dict[str, str]:
    """This process's environment and the script's settings (E2E, SR, KEEP, WORKDIR, JSON_OUT)."""
    return {**os.environ, "PYTHON": str(python), "THREADS": str(threads),
            **{name: str(value) for name, value in settings.items()}}
