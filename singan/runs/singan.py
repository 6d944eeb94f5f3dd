"""The SinGAN run format: run.json (what was trained, how, on what) and safetensors weights, one file per scale.

Every file is written atomically and run.json is rewritten only after a scale's weights are on
disk, so a run killed at any moment can be loaded (its finished scales) and resumed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch

from singan.config.singan import LARGEST_SIDE, TrainConfig
from singan.device import resolve_device
from singan.errors import ConfigError, RunError
from singan.files import atomic_write_bytes, json_line, read_json_lines
from singan.models.singan import PatchCritic, ScaleGenerator, SinGAN, freeze
from singan.pyramid import Size
from singan.runs.common import (EVALUATION_FILE, LOG_FILE, RECORD_FILE, REPORT_FILE, RecordHeader, RunKind,
                                check_record_format, check_run_layout, check_run_tensors, read_run_tensors)
from singan.runs.directory import run_path
from singan.tensorfile import encode_tensors, prefixed, unprefixed

REAL_FILE = "real.safetensors"
WEIGHTS_DIR = "weights"
PREVIEWS_DIR = "previews"
_SEED_IMAGE = r"seed\d{4,}\.png"
_NUMBER = r"[0-9.e+-]+"
# The files a run directory holds (regular expressions of paths inside it): the training's, then the files
# the tasks write into their default folders. --force deletes these and nothing else.
RUN_FILES = tuple(re.escape(name) for name in (RECORD_FILE, REAL_FILE, LOG_FILE, EVALUATION_FILE,
                                                REPORT_FILE)) + (
    rf"{WEIGHTS_DIR}/scale_\d{{2,}}\.safetensors",
    rf"{PREVIEWS_DIR}/scale_\d{{2,}}_(real|sample|reconstruction)\.png",
    rf"samples/start\d+(_h{_NUMBER}_v{_NUMBER})?/{_SEED_IMAGE}",
    rf"retarget/\d+x\d+_start\d+/{_SEED_IMAGE}",
    rf"animate/start\d+_beta{_NUMBER}(_loop)?\.(gif|mp4)",
    r"paint/[^/]+_start\d+(_quantized)?\.png",
    r"paint/quantized_scale\d{2,}_\d+colours\.safetensors",
    r"(harmonize|edit)/[^/]+_(start\d+|mask_used)\.png",
    rf"sr/[^/]+_x{_NUMBER}(_backprojected|_bicubic)?\.png",
)
KIND = RunKind(format="singan-run", version=1, family="singan", label="singan run",
               description="single-image SinGAN run", commands="`singan sample` and the other tasks",
               version_label="run format", files=RUN_FILES)
FORMAT, FORMAT_VERSION = KIND.format, KIND.version


@dataclass
class ScaleRecord:
    size: list[int]  # [height, width]
    channels: int  # width of every layer of this scale's generator and critic
    iterations: int
    seconds: float
    noise_amp: float
    weights: str  # file name relative to the run directory


@dataclass
class InputRecord:
    path: str
    sha256: str
    size: list[int]  # [height, width] of the file, before any shrinking
    channels: int  # 1 (grayscale) or 3 (RGB)


@dataclass(kw_only=True)
class RunRecord(RecordHeader):
    kind: ClassVar[RunKind] = KIND
    config: dict
    seed: int
    input: InputRecord
    pyramid: dict  # {"sizes": [[h, w], ...] coarsest first, "scale_factor": r}
    device: str
    scales: list[ScaleRecord] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def planned_sizes(self) -> list[Size]:
        return [tuple(size) for size in self.pyramid["sizes"]]

    @property
    def num_scales(self) -> int:
        return len(self.pyramid["sizes"])

    @property
    def complete(self) -> bool:
        return len(self.scales) == self.num_scales

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config)

    def derived(self) -> dict:
        return {"complete": self.complete}


@dataclass
class SinGANRun:
    """A loaded run: its directory, its record (run.json) and its trained scales."""

    directory: Path
    record: RunRecord
    model: SinGAN

    @property
    def device(self) -> torch.device:
        return self.model.device


def run_directory(image: str | Path, out: str | Path | None = None, name: str | None = None) -> Path:
    """<out>/<name>, the name defaulting to the image's file name without its extension; the name must be
    one folder name (singan.runs.directory)."""
    if name is not None:
        return run_path(out, name)
    return run_path(out, Path(image).stem, origin="the image's file name")


def resume_command(directory: Path, image: str | Path) -> str:
    return f"singan train {image} --resume --out {directory.parent} --name {directory.name}"


def weights_name(scale: int) -> str:
    return f"{WEIGHTS_DIR}/scale_{scale:02d}.safetensors"


def record_from_json(values: object, path: Path) -> RunRecord:
    """A checked RunRecord from run.json's values; any problem is a RunError naming the file."""
    check_record_format(values, path, KIND)
    try:
        return _record(values)
    except (KeyError, TypeError, ValueError, ConfigError) as error:
        raise RunError(f"{path}: malformed run record ({type(error).__name__}: {error})") from None


def _record(values: dict) -> RunRecord:
    values = dict(values)
    values.pop("complete", None)
    values["input"] = InputRecord(**values["input"])
    values["scales"] = [ScaleRecord(**scale) for scale in values["scales"]]
    record = RunRecord(**values)
    config = record.train_config.validate()  # the keys, and the sizes within their limits
    if record.input.channels not in (1, 3):
        raise ValueError(f"image channels must be 1 or 3, not {record.input.channels}")
    _check_sizes(record)
    for scale, entry in enumerate(record.scales):
        if list(entry.size) != list(record.pyramid["sizes"][scale]):
            raise ValueError(f"scale {scale} has size {entry.size}, planned {record.pyramid['sizes'][scale]}")
        if not (math.isfinite(entry.noise_amp) and entry.noise_amp >= 0):
            raise ValueError(f"scale {scale} has noise amplitude {entry.noise_amp}")
        # One file of its own per scale, in the run, as save_scale names it (a record cannot point a
        # thousand scales at one file, or out of the run directory).
        if entry.weights != weights_name(scale):
            raise ValueError(f"scale {scale} has weights {entry.weights!r}, expected {weights_name(scale)!r}")
        # The networks are built at this width before their weights are read: it must be the config's.
        if not _is_count(entry.channels) or entry.channels != config.width(scale):
            raise ValueError(f"scale {scale} has {entry.channels!r} channels; its config gives {config.width(scale)}")
    return record


def _check_sizes(record: RunRecord) -> None:
    """Every size is a [height, width] of whole pixels within LARGEST_SIDE, the scales grow from the coarsest
    to the finest, and the finest is no larger than the input image (the pyramid only shrinks)."""
    if not _is_size(record.input.size, limit=None):
        raise ValueError(f"the input size must be [height, width] in pixels, not {record.input.size!r}")
    sizes = record.pyramid["sizes"]
    if not isinstance(sizes, list) or not sizes or not all(_is_size(size) for size in sizes):
        raise ValueError(f"pyramid sizes must be [height, width] pairs of 1 to {LARGEST_SIDE} px")
    if any(later[0] < earlier[0] or later[1] < earlier[1] for earlier, later in zip(sizes, sizes[1:])):
        raise ValueError("pyramid sizes must grow from the coarsest scale to the finest")
    if sizes[-1][0] > record.input.size[0] or sizes[-1][1] > record.input.size[1]:
        raise ValueError(f"the finest scale {sizes[-1]} is larger than the input image {record.input.size}")
    if len(record.scales) > len(sizes):
        raise ValueError(f"{len(record.scales)} trained scales for {len(sizes)} planned")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_size(size: object, limit: int | None = LARGEST_SIDE) -> bool:
    return (isinstance(size, list) and len(size) == 2 and all(_is_count(side) for side in size)
            and (limit is None or max(size) <= limit))


def load(directory: Path, record: RunRecord, device: str = "auto", require_complete: bool = True) -> SinGANRun:
    """The run for use; by default an unfinished run is an error that says how to finish it."""
    if require_complete and not record.complete:
        raise RunError(f"{directory} is incomplete ({len(record.scales)} of {record.num_scales} scales trained); "
                       f"finish it with: {resume_command(directory, record.input.path)}")
    return SinGANRun(directory, record, load_model(directory, record, resolve_device(device)))


def save_scale(run_dir: Path, model: SinGAN, scale: int) -> str:
    """Write one trained scale's generator, critic (and the reconstruction noise at scale 0)."""
    tensors = _network_tensors(model.generators[scale], model.critics[scale])
    if scale == 0:
        tensors["reconstruction_noise"] = model.reconstruction_noise
    name = weights_name(scale)
    atomic_write_bytes(run_dir / name, encode_tensors(tensors))
    return name


def _network_tensors(generator: ScaleGenerator, critic: PatchCritic) -> dict[str, torch.Tensor]:
    """One scale's two networks as flat tensors: generator.* and critic.*."""
    return prefixed("generator.", generator) | prefixed("critic.", critic)


def _load_networks(tensors: dict[str, torch.Tensor], generator: ScaleGenerator, critic: PatchCritic) -> None:
    generator.load_state_dict(unprefixed("generator.", tensors))
    critic.load_state_dict(unprefixed("critic.", tensors))


def load_model(run_dir: Path, record: RunRecord, device: torch.device) -> SinGAN:
    """The trained scales of a run, strictly checked against run.json, on `device`."""
    model = SinGAN(record.input.channels, record.train_config.noise_padding)
    for scale, entry in enumerate(record.scales):
        path = Path(run_dir) / entry.weights
        expected = _expected_tensors(model, scale, entry)
        # The file's header first: networks of the width run.json claims are built only for a file that holds them.
        check_run_layout(path, expected)
        tensors = read_run_tensors(path)
        check_run_tensors(tensors, expected, path)
        generator = ScaleGenerator(record.input.channels, entry.channels)
        critic = PatchCritic(record.input.channels, entry.channels)
        _load_networks(tensors, generator, critic)
        if scale == 0:
            model.reconstruction_noise = tensors["reconstruction_noise"]
        model.add_scale(generator, critic, entry.noise_amp, tuple(entry.size))
    return model.to(device)


def _expected_tensors(model: SinGAN, scale: int, entry: ScaleRecord) -> dict[str, torch.Tensor]:
    """What a scale's weights file must hold, as meta tensors: shapes and dtypes, nothing allocated."""
    with torch.device("meta"):
        expected = _network_tensors(ScaleGenerator(model.image_channels, entry.channels),
                                    PatchCritic(model.image_channels, entry.channels))
        if scale == 0:
            expected["reconstruction_noise"] = torch.empty(1, 1, *model.noise_size(entry.size))
    return expected


def save_networks(path: Path, generator: ScaleGenerator, critic: PatchCritic, extra: dict[str, torch.Tensor]) -> None:
    """One scale's networks outside the pyramid (a task's fine-tuned scale), with tensors of its own."""
    atomic_write_bytes(path, encode_tensors(_network_tensors(generator, critic) | extra))


def load_networks(path: Path, image_channels: int, width: int, extra: dict[str, torch.Tensor]
                  ) -> tuple[ScaleGenerator, PatchCritic, dict[str, torch.Tensor]]:
    """Read what `save_networks` wrote, strictly checked: `extra` gives the other tensors' expected shapes."""
    tensors = read_run_tensors(path)
    generator, critic = ScaleGenerator(image_channels, width), PatchCritic(image_channels, width)
    check_run_tensors(tensors, _network_tensors(generator, critic) | extra, path)
    _load_networks(tensors, generator, critic)
    return generator, critic, {key: tensors[key] for key in extra}


def save_real(run_dir: Path, image: torch.Tensor) -> None:
    """The training image at its finest pyramid size, in float, for tasks that need it later."""
    atomic_write_bytes(run_dir / REAL_FILE, encode_tensors({"image": image}))


def load_real(run_dir: Path, record: RunRecord) -> torch.Tensor:
    tensors = read_run_tensors(Path(run_dir) / REAL_FILE)
    expected = {"image": torch.empty(1, record.input.channels, *record.planned_sizes[-1], device="meta")}
    check_run_tensors(tensors, expected, Path(run_dir) / REAL_FILE)
    return tensors["image"]


def keep_log_scales_below(run_dir: Path, scale: int) -> None:
    """Before resuming at `scale`, drop the log lines an interrupted attempt at it left behind."""
    path = Path(run_dir) / LOG_FILE
    if not path.exists():
        return
    kept = [entry for entry in read_json_lines(path) if isinstance(entry, dict) and entry.get("scale", 0) < scale]
    atomic_write_bytes(path, "".join(json_line(entry) for entry in kept).encode("utf-8"))


def finetuned_path(run_dir: Path, scale: int, colours: int) -> Path:
    """Where paint --quantize keeps the start scale it fine-tuned for a palette of `colours`."""
    return Path(run_dir) / "paint" / f"quantized_scale{scale:02d}_{colours}colours.safetensors"


def save_finetuned(path: Path, generator: ScaleGenerator, critic: PatchCritic, noise_amplitude: float,
                   palette: torch.Tensor) -> None:
    save_networks(path, generator, critic, {"palette": palette, "noise_amplitude": torch.tensor(noise_amplitude)})


def load_finetuned(path: Path, image_channels: int, width: int, colours: int
                   ) -> tuple[ScaleGenerator, float, torch.Tensor]:
    """The fine-tuned generator (frozen), its noise amplitude and its palette; a bad file says to delete it."""
    expected = {"palette": torch.empty(colours, image_channels), "noise_amplitude": torch.empty(())}
    try:
        generator, _, extra = load_networks(path, image_channels, width, expected)
    except RunError as error:
        raise RunError(f"{error}; delete it to fine-tune again") from None
    return freeze(generator), float(extra["noise_amplitude"]), extra["palette"]
