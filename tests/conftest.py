"""Shared fixtures: tiny synthetic images and a tiny trained run (seconds on a laptop CPU)."""

from __future__ import annotations

import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from singan import api
from singan.config.singan import TrainConfig
from singan.metrics.inception import InceptionV3

# Small enough for a test: 4 scales from 14x19 to 24x32, a few iterations each.
TINY = TrainConfig(min_size=14, max_size=32, iterations=6, log_every=2, seed=3)


def synthetic_image(height: int = 24, width: int = 32, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth colour field with a few rectangles: some structure at every scale, as uint8."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:height, 0:width]
    planes = [np.sin(rows / (3 + 2 * index)) * np.cos(columns / (4 + index)) for index in range(channels)]
    image = (np.stack(planes, axis=-1) + 1) / 2
    for _ in range(4):
        top, left = rng.integers(0, height - 4), rng.integers(0, width - 4)
        image[top:top + rng.integers(2, 6), left:left + rng.integers(2, 8)] = rng.random(channels)
    pixels = (image * 255).round().astype(np.uint8)
    return pixels[:, :, 0] if channels == 1 else pixels


def write_image(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, pixels)
    return path


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    return write_image(tmp_path / "input" / "tiny.png", synthetic_image())


def contents(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file()}


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A complete tiny run, shared and read-only: tests that change it must use `run_copy` (checked at the end)."""
    root = tmp_path_factory.mktemp("session")
    image = write_image(root / "tiny.png", synthetic_image())
    directory = api.train_run(image, TINY, out=root / "runs", device="cpu")
    before = contents(directory)
    yield directory
    assert contents(directory) == before, "a test wrote into the shared run; it should use run_copy"


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    destination = tmp_path / "runs" / trained_run.name
    shutil.copytree(trained_run, destination)
    return destination



@pytest.fixture(scope="session")
def loaded_run(trained_run: Path):
    """The tiny run loaded on the CPU, for tasks that only read it."""
    return api.load_run(trained_run, device="cpu")


@pytest.fixture(scope="session")
def padded_run(tmp_path_factory) -> Path:
    """A tiny run trained with --noise-padding (the variant the paper animates), for shapes and plumbing only:
    two iterations a scale."""
    root = tmp_path_factory.mktemp("padded")
    image = write_image(root / "tiny.png", synthetic_image())
    return api.train_run(image, TINY.replace(noise_padding=True, iterations=2), out=root / "runs", device="cpu")


def picture_at(run_dir: Path, name: str, seed: int = 7, size: tuple[int, int] = (24, 32)) -> Path:
    """A picture to inject (another synthetic image) beside the run."""
    return write_image(Path(run_dir).parent / "pictures" / name, synthetic_image(*size, seed=seed))


def shapes_folder(folder: Path, count: int = 12, size: int = 12) -> Path:
    """Grayscale squares and discs on a dark ground: a tiny data set with some structure."""
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:size, 0:size]
    for index in range(count):
        centre = rng.uniform(3, size - 3, 2)
        radius = rng.uniform(2, 4)
        if index % 2:
            mask = (rows - centre[0]) ** 2 + (columns - centre[1]) ** 2 < radius**2
        else:
            mask = (abs(rows - centre[0]) < radius) & (abs(columns - centre[1]) < radius)
        folder.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / f"shape{index:02d}.png", (mask * 200 + 30).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A randomly initialised FID Inception-v3 saved as safetensors: the real file is never downloaded."""
    save_file = pytest.importorskip("safetensors.torch").save_file
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("inception") / "inception.safetensors"
    save_file({name: value.contiguous() for name, value in InceptionV3().state_dict().items()}, str(path))
    return path


# The suite stays fast: a test over this many seconds belongs to the `slow` marker (see pyproject.toml).
SLOW_SECONDS = 10


def pytest_terminal_summary(terminalreporter):
    """Name the tests over SLOW_SECONDS that are not marked slow, so that they get marked or made faster."""
    unmarked = [report for report in terminalreporter.stats.get("passed", [])
                if report.when == "call" and report.duration > SLOW_SECONDS and "slow" not in report.keywords]
    for report in unmarked:
        terminalreporter.write_line(f"over {SLOW_SECONDS} s and not marked slow: {report.nodeid} "
                                    f"({report.duration:.1f} s)", yellow=True)
