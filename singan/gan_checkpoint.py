"""The run directory of a multi-image GAN: run.json (what, how, how far) and one resumable checkpoint.

`checkpoint.safetensors` holds the generator, its moving average and the discriminator, both
optimisers' states, the random streams, and (as a tensor of UTF-8 bytes) the counters and data order,
so the file is complete on its own: run.json is rewritten after it and only describes it. Both are
written atomically, so a run killed at any moment resumes from its last checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors.torch import save as encode_tensors
from torch import nn

import singan
from singan import checkpoint
from singan.errors import ConfigError, RunError
from singan.files import atomic_write_bytes, atomic_write_json
from singan.gan_config import GANConfig
from singan.models.gan import StagedGenerator, build_generator
from singan.training.progressive import stage_at

FORMAT = "singan-gan-run"
FORMAT_VERSION = 1
RECORD_FILE = checkpoint.RECORD_FILE
CHECKPOINT_FILE = "checkpoint.safetensors"
LOG_FILE = "log.jsonl"
SNAPSHOTS_DIR = "snapshots"
EVALUATION_FILE = "eval.json"
# What a run directory may hold; --force deletes these and nothing else.
RUN_ENTRIES = (RECORD_FILE, CHECKPOINT_FILE, LOG_FILE, SNAPSHOTS_DIR, "generated", "interpolate", "mix",
               EVALUATION_FILE)
_STATE_KEY = "state_json"


@dataclass
class GANRecord:
    config: dict
    data: dict  # {"path": folder, "images": used, "skipped": unreadable files, "channels": 1 or 3}
    device: str
    processes: int
    seed: int
    images_seen: int = 0
    seconds: float = 0.0
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    package_version: str = singan.__version__
    torch_version: str = torch.__version__
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def gan_config(self) -> GANConfig:
        return GANConfig.from_dict(self.config)

    @property
    def total_images(self) -> int:
        return round(self.gan_config.kimg * 1000)

    @property
    def complete(self) -> bool:
        return self.images_seen >= self.total_images

    def to_json(self) -> dict:
        values = asdict(self)
        ordered = {key: values.pop(key) for key in ("format", "format_version")}
        stage = stage_at(self.gan_config, self.images_seen)
        return {**ordered, **values, "complete": self.complete,
                "stage": {"resolution": stage.resolution, "alpha": stage.alpha}}


def prepare_run_directory(run_dir: Path, force: bool) -> None:
    checkpoint.prepare_run_directory(run_dir, force, RUN_ENTRIES)


def write_record(run_dir: Path, record: GANRecord) -> None:
    atomic_write_json(Path(run_dir) / RECORD_FILE, record.to_json())


def read_record(run_dir: str | Path) -> GANRecord:
    """Read and check run.json; any problem is a RunError naming the directory."""
    values, path = checkpoint.read_record_json(run_dir)
    _check_format(values, path)
    values = {key: value for key, value in values.items() if key not in ("complete", "stage")}
    try:
        record = GANRecord(**values)
        record.gan_config.validate()
    except (TypeError, ValueError, ConfigError) as error:
        raise RunError(f"{path}: malformed run record ({error})") from None
    return record


def _check_format(values: object, path: Path) -> None:
    if isinstance(values, dict) and values.get("format") == checkpoint.FORMAT:
        raise RunError(f"{path.parent} is a single-image SinGAN run; use `singan sample` and the other tasks on it")
    checkpoint.check_record_format(values, path, FORMAT, FORMAT_VERSION, "multi-image GAN run", "GAN run format")


def save_checkpoint(run_dir: Path, tensors: dict[str, torch.Tensor], state: dict) -> Path:
    """Write the trainer's tensors and its JSON state into one file, atomically."""
    encoded = torch.frombuffer(bytearray(json.dumps(state, sort_keys=True).encode("utf-8")), dtype=torch.uint8)
    path = Path(run_dir) / CHECKPOINT_FILE
    atomic_write_bytes(path, encode_tensors({**tensors, _STATE_KEY: encoded}))
    return path


def load_checkpoint(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and the JSON state `save_checkpoint` wrote; a missing or corrupt file is a RunError."""
    path = Path(run_dir) / CHECKPOINT_FILE
    tensors = checkpoint.read_tensors(path)
    encoded = tensors.pop(_STATE_KEY, None)
    try:
        state = json.loads(bytes(encoded.numpy()).decode("utf-8"))
    except (AttributeError, UnicodeDecodeError, json.JSONDecodeError):
        raise RunError(f"{path}: corrupt checkpoint (its training state is missing or unreadable)") from None
    return tensors, state


def load_generator(run_dir: str | Path, record: GANRecord, device: torch.device) -> nn.Module:
    """The run's moving-average generator, for tasks, held at the stage training reached."""
    config = record.gan_config
    tensors, state = load_checkpoint(Path(run_dir))
    generator = build_generator(config)
    expected = {f"generator_ema.{key}": value for key, value in generator.state_dict().items()}
    found = {key: value for key, value in tensors.items() if key.startswith("generator_ema.")}
    checkpoint.check_tensors(found, expected, Path(run_dir) / CHECKPOINT_FILE)
    generator.load_state_dict(checkpoint.unprefixed("generator_ema.", found))
    generator.requires_grad_(False).eval()
    stage = stage_at(config, int(state.get("images_seen", record.images_seen)))
    if config.progressive and (stage.resolution < config.resolution or stage.alpha < 1):
        generator = StagedGenerator(generator, stage.resolution, stage.alpha)
    return generator.to(device)
