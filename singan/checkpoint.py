"""The run directory: run.json (what was trained, how, on what) and safetensors weights, one file per scale.

Every file is written atomically and run.json is rewritten only after a scale's weights are on
disk, so a run killed at any moment can be loaded (its finished scales) and resumed.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as encode_tensors

import singan
from singan.config import TrainConfig
from singan.errors import ConfigError, RunError
from singan.files import atomic_write_bytes, atomic_write_json
from singan.models.singan import PatchCritic, ScaleGenerator, SinGAN
from singan.pyramid import Size

FORMAT = "singan-run"
FORMAT_VERSION = 1
RECORD_FILE = "run.json"
REAL_FILE = "real.safetensors"
LOG_FILE = "log.jsonl"
WEIGHTS_DIR = "weights"
PREVIEWS_DIR = "previews"
# What a run directory may hold; --force deletes these and nothing else.
RUN_ENTRIES = (RECORD_FILE, REAL_FILE, LOG_FILE, WEIGHTS_DIR, PREVIEWS_DIR, "samples", "retarget", "animate", "paint",
               "harmonize", "edit", "sr")


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


@dataclass
class RunRecord:
    config: dict
    seed: int
    input: InputRecord
    pyramid: dict  # {"sizes": [[h, w], ...] coarsest first, "scale_factor": r}
    device: str
    scales: list[ScaleRecord] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    package_version: str = singan.__version__
    torch_version: str = torch.__version__
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

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

    def to_json(self) -> dict:
        values = asdict(self)
        ordered = {key: values.pop(key) for key in ("format", "format_version")}
        return {**ordered, **values, "complete": self.complete}


def weights_name(scale: int) -> str:
    return f"{WEIGHTS_DIR}/scale_{scale:02d}.safetensors"


def prepare_run_directory(run_dir: Path, force: bool, entries: tuple[str, ...] = RUN_ENTRIES) -> None:
    """Create an empty run directory; an existing run is replaced only with `force` (deleting `entries`)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} exists and is not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not (run_dir / RECORD_FILE).exists():
            raise RunError(f"{run_dir} exists, is not empty and is not a singan run; choose another --name or --out")
        if not force:
            raise RunError(f"{run_dir} already holds a run; use --resume to continue it or --force to replace it")
        for entry in entries:
            path = run_dir / entry
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)


def is_run_directory(path: str | Path) -> bool:
    return (Path(path) / RECORD_FILE).is_file()


def write_record(run_dir: Path, record: RunRecord) -> None:
    atomic_write_json(run_dir / RECORD_FILE, record.to_json())


def read_record(run_dir: Path) -> RunRecord:
    """Read and check run.json; any problem is a RunError naming the directory."""
    values, path = read_record_json(run_dir)
    _check_format(values, path)
    try:
        return _record_from_json(values)
    except (KeyError, TypeError, ValueError, ConfigError) as error:
        raise RunError(f"{path}: malformed run record ({type(error).__name__}: {error})") from None


def read_record_json(run_dir: str | Path) -> tuple[object, Path]:
    """The parsed run.json of a run directory (of either kind) and its path; a RunError if there is none."""
    path = Path(run_dir) / RECORD_FILE
    if not Path(run_dir).exists():
        raise RunError(f"{run_dir}: no such run directory")
    if not Path(run_dir).is_dir():
        raise RunError(f"{run_dir}: not a run directory (a file)")
    if not path.is_file():
        raise RunError(f"{run_dir}: not a singan run (no {RECORD_FILE})")
    try:
        return json.loads(path.read_text(encoding="utf-8")), path
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"{path}: unreadable ({error})") from None


def _check_format(values: object, path: Path) -> None:
    check_record_format(values, path, FORMAT, FORMAT_VERSION, "singan run", "run format")


def check_record_format(values: object, path: Path, expected: str, newest: int, kind: str, label: str) -> None:
    """run.json must name the `expected` format, in a version this code reads (at most `newest`)."""
    if not isinstance(values, dict) or values.get("format") != expected:
        raise RunError(f"{path}: not a {kind} record")
    version = values.get("format_version")
    if not isinstance(version, int):
        raise RunError(f"{path}: malformed run record (no format_version)")
    if version > newest:
        raise RunError(f"{path}: written by a newer singan ({label} {version}; this version "
                       f"{singan.__version__} reads up to {newest}); upgrade singan to use it")


def _record_from_json(values: dict) -> RunRecord:
    values = dict(values)
    values.pop("complete", None)
    values["input"] = InputRecord(**values["input"])
    values["scales"] = [ScaleRecord(**scale) for scale in values["scales"]]
    record = RunRecord(**values)
    record.train_config  # validates the keys
    sizes = record.pyramid["sizes"]
    if not sizes or any(len(size) != 2 or min(size) < 1 for size in sizes):
        raise ValueError("pyramid sizes must be [height, width] pairs")
    if len(record.scales) > len(sizes):
        raise ValueError(f"{len(record.scales)} trained scales for {len(sizes)} planned")
    for scale, entry in enumerate(record.scales):
        if list(entry.size) != list(sizes[scale]):
            raise ValueError(f"scale {scale} has size {entry.size}, planned {sizes[scale]}")
        if not (math.isfinite(entry.noise_amp) and entry.noise_amp >= 0):
            raise ValueError(f"scale {scale} has noise amplitude {entry.noise_amp}")
    if record.input.channels not in (1, 3):
        raise ValueError(f"image channels must be 1 or 3, not {record.input.channels}")
    return record


def save_scale(run_dir: Path, model: SinGAN, scale: int) -> str:
    """Write one trained scale's generator, critic (and the reconstruction noise at scale 0)."""
    tensors = _network_tensors(model.generators[scale], model.critics[scale])
    if scale == 0:
        tensors["reconstruction_noise"] = model.reconstruction_noise.detach().cpu().contiguous()
    name = weights_name(scale)
    atomic_write_bytes(run_dir / name, encode_tensors(tensors, metadata={"scale": str(scale)}))
    return name


def _network_tensors(generator: ScaleGenerator, critic: PatchCritic) -> dict[str, torch.Tensor]:
    """One scale's two networks as flat tensors: generator.* and critic.*."""
    return _prefixed("generator.", generator) | _prefixed("critic.", critic)


def _load_networks(tensors: dict[str, torch.Tensor], generator: ScaleGenerator, critic: PatchCritic) -> None:
    generator.load_state_dict(unprefixed("generator.", tensors))
    critic.load_state_dict(unprefixed("critic.", tensors))


def _prefixed(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {prefix + key: value.detach().cpu().contiguous() for key, value in module.state_dict().items()}


def load_model(run_dir: Path, record: RunRecord, device: torch.device) -> SinGAN:
    """The trained scales of a run, strictly checked against run.json, on `device`."""
    model = SinGAN(record.input.channels, record.train_config.noise_padding)
    for scale, entry in enumerate(record.scales):
        tensors = read_tensors(Path(run_dir) / entry.weights)
        generator = ScaleGenerator(record.input.channels, entry.channels)
        critic = PatchCritic(record.input.channels, entry.channels)
        expected = _network_tensors(generator, critic)
        if scale == 0:
            expected["reconstruction_noise"] = torch.empty(1, 1, *model.noise_size(entry.size))
        check_tensors(tensors, expected, Path(run_dir) / entry.weights)
        _load_networks(tensors, generator, critic)
        if scale == 0:
            model.reconstruction_noise = tensors["reconstruction_noise"]
        model.add_scale(generator, critic, entry.noise_amp, tuple(entry.size))
    return model.to(device)


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise RunError(f"{path}: weights file missing")
    try:
        return load_tensors(path.read_bytes())
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise RunError(f"{path}: corrupt weights file ({error})") from None


def check_tensors(found: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        details = "; ".join(part for part in (
            f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}" if missing else "",
            f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}" if unexpected else "",
        ) if part)
        raise RunError(f"{path}: tensors do not match run.json ({details})")
    for key, reference in expected.items():
        tensor = found[key]
        if tuple(tensor.shape) != tuple(reference.shape) or tensor.dtype != reference.dtype:
            raise RunError(f"{path}: tensor {key} is {tuple(tensor.shape)} {tensor.dtype}, run.json "
                           f"implies {tuple(reference.shape)} {reference.dtype}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise RunError(f"{path}: tensor {key} holds NaN or infinite values")


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors whose keys start with `prefix`, keyed without it (a module's state dict)."""
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def save_networks(path: Path, generator: ScaleGenerator, critic: PatchCritic, extra: dict[str, torch.Tensor]) -> None:
    """One scale's networks outside the pyramid (a task's fine-tuned scale), with tensors of its own."""
    tensors = _network_tensors(generator, critic)
    tensors |= {key: value.detach().cpu().contiguous() for key, value in extra.items()}
    atomic_write_bytes(path, encode_tensors(tensors))


def load_networks(path: Path, image_channels: int, width: int, extra: dict[str, torch.Tensor]
                  ) -> tuple[ScaleGenerator, PatchCritic, dict[str, torch.Tensor]]:
    """Read what `save_networks` wrote, strictly checked: `extra` gives the other tensors' expected shapes."""
    tensors = read_tensors(path)
    generator, critic = ScaleGenerator(image_channels, width), PatchCritic(image_channels, width)
    check_tensors(tensors, _network_tensors(generator, critic) | extra, path)
    _load_networks(tensors, generator, critic)
    return generator, critic, {key: tensors[key] for key in extra}


def save_real(run_dir: Path, image: torch.Tensor) -> None:
    """The training image at its finest pyramid size, in float, for tasks that need it later."""
    atomic_write_bytes(run_dir / REAL_FILE, encode_tensors({"image": image.detach().cpu().contiguous()}))


def load_real(run_dir: Path, record: RunRecord) -> torch.Tensor:
    tensors = read_tensors(Path(run_dir) / REAL_FILE)
    expected = {"image": torch.empty(1, record.input.channels, *record.planned_sizes[-1])}
    check_tensors(tensors, expected, Path(run_dir) / REAL_FILE)
    return tensors["image"]


class TrainingLog:
    """log.jsonl: one JSON line per logged iteration."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOG_FILE

    def append(self, entry: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(entry) + "\n")

    def keep_scales_below(self, scale: int) -> None:
        """Before resuming at `scale`, drop the lines an interrupted attempt at it left behind."""
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("scale", 0) < scale:
                    kept.append(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed process
        atomic_write_bytes(self.path, "".join(line + "\n" for line in kept).encode("utf-8"))
