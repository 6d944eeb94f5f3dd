"""`singan esrgan train`: train an ESRGAN-family generator on a folder of HR images, or continue a run. Every
input (data, validation images, the VGG19 and --init weights) is read and checked before the run directory
is touched; the run's files are written through singan.runs.esrgan."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from singan.api.esrgan import load_network
from singan.config.esrgan import ESRGANConfig
from singan.data.crops import CropData, load_crop_data
from singan.data.degradation import bicubic
from singan.data.imagefolder import find_image_files
from singan.device import describe_device, resolve_device
from singan.errors import ConfigError, RunError
from singan.events import ESRGANTrainingStarted, EventHandler, Notice, ignore
from singan.files import describe_os_error
from singan.images import DEFAULT_MAX_PIXELS, load_image
from singan.memory import check_fits
from singan.metrics.fidelity import psnr_y, ssim_y
from singan.models.vgg import VGG19Features, vgg_state
from singan.runs import common, open_run
from singan.runs import esrgan as runs
from singan.runs.directory import (check_resume_or_force, create_run, finish_interrupted_replacements, holds_run,
                                   prepare_for_writing, run_path)
from singan.seeds import resolve_seed
from singan.tensorfile import TensorFileError, read_tensor_container
from singan.training.esrgan import ESRGANTrainer, network_spec
from singan.training.session import TrainingSession
from tasks.esrgan.upscale import upscale

# Settings a resumed run may change: how long it trains and how often it reports.
RESUMABLE_CHANGES = ("iterations", "log_every", "snapshot_every", "checkpoint_every", "val_every")
# The network sizes --init decides.
INIT_SIZES = ("arch", "scale", "features", "blocks", "growth")
VALIDATION_TILE = 256
LARGEST_VALIDATION_IMAGES = 1000


def train_esrgan(data: str | Path, config: ESRGANConfig | None = None, *, val: str | Path | None = None,
                 init: str | Path | None = None, vgg_weights: str | Path | None = None,
                 out: str | Path | None = None, name: str | None = None, device: str = "auto",
                 resume: bool = False, force: bool = False, strict: bool = False, changes: dict | None = None,
                 on_event: EventHandler = ignore, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Train on the HR images under `data`, or with `resume` continue the run in `out`/`name`; returns its
    directory. On resume the run's own settings and files apply; `changes` may extend `iterations` or change
    the reporting intervals."""
    check_resume_or_force(resume, force)
    config = (config or ESRGANConfig()).validate()
    directory = run_directory(data, config, out, name)
    if resume and not _writable_run(directory):
        on_event(Notice(f"nothing to resume in {directory}: starting the run"))
        resume = False
    torch_device = resolve_device(device)
    if resume:
        record = _resumed_record(directory, changes or {})
        config = ESRGANConfig.from_dict(record.training["config"])
        val, vgg_weights = val or record.training.get("val"), vgg_weights or record.training.get("vgg_weights")
        # A run killed before its first checkpoint starts again, from --init's weights where it had them.
        init = None if record.iteration else record.training.get("init")
        init_state = _initialized(config, init, {})[1]
    else:
        config, init_state = _initialized(config.replace(seed=resolve_seed(config.seed)), init, changes or {})
        if config.stage == "gan":
            config = config.replace(recipe=config.recipe_name)  # recorded by name
    vgg = _load_vgg(config, vgg_weights, on_event)
    images = load_crop_data(data, config.crop, max_pixels=max_pixels, strict=strict)
    validation = _validation(val, config, max_pixels) if val is not None else None
    if resume:
        _check_same_data(directory, record, images)
    else:
        if init_state is not None and config.image_channels != images.channels:
            raise ConfigError(f"--init {init} takes {config.image_channels}-channel images; {data} gives "
                              f"{images.channels}-channel ones")
        config = config.replace(image_channels=images.channels).validate()
        _check_training_fits(config, torch_device)
        record = _new_record(data, images, config, torch_device, val=val, init=init, vgg_weights=vgg_weights)
        create_run(directory, force, runs.KIND, lambda folder: common.write_record(folder, record))
    try:
        _train(directory, record, config, images, torch_device, vgg, validation, init_state, on_event)
    except OSError as error:
        raise RunError(f"{describe_os_error(error)}; training stopped: continue from the last checkpoint "
                       f"(iteration {record.iteration}) with --resume") from None
    return directory


def run_directory(data: str | Path, config: ESRGANConfig, out: str | Path | None = None,
                  name: str | None = None) -> Path:
    """<out>/<name>, the name defaulting to <data folder name>-<arch>-x<scale>-<stage>."""
    if name is not None:
        return run_path(out, name)
    return run_path(out, f"{Path(data).resolve().name}-{config.arch}-x{config.scale}-{config.stage}",
                    origin="the data folder's name")


def _writable_run(directory: Path) -> bool:
    finish_interrupted_replacements(directory, runs.KIND)
    if not holds_run(directory, runs.KIND):
        return False
    prepare_for_writing(directory, runs.KIND)
    return True


def _resumed_record(directory: Path, changes: dict) -> runs.ESRGANRecord:
    record = open_run(directory, "esrgan").record
    if record.training is None:
        raise RunError(f"{directory} was not trained here ({record.source.get('made_by', 'made')} run): there is "
                       f"nothing to resume")
    if record.iteration:
        runs.load_checkpoint(directory)  # a missing or corrupt checkpoint fails here, before any work
    saved = record.training["config"]
    fixed = sorted(key for key, value in changes.items()
                   if value is not None and key not in RESUMABLE_CHANGES and saved.get(key) != value)
    if fixed:
        flags = ", ".join("--" + key.replace("_", "-") for key in fixed)
        raise ConfigError(f"--resume continues with the settings saved in run.json; leave out {flags} "
                          f"(only --iterations and the reporting intervals may change)")
    given = {key: value for key, value in changes.items() if value is not None and key in RESUMABLE_CHANGES}
    record.training["config"] = ESRGANConfig.from_dict(saved).replace(**given).validate().to_dict()
    return record


def _initialized(config: ESRGANConfig, init: str | Path | None,
                 changes: dict) -> tuple[ESRGANConfig, dict[str, torch.Tensor] | None]:
    """The config with the network sizes of `init` (a run or weights file) and its weights; sizes given on
    the command line must agree with it."""
    if init is None:
        return config, None
    loaded = load_network(init, "cpu")
    detected = loaded.detected
    found = {"arch": detected.architecture, "scale": detected.scale, "features": detected.features,
             "blocks": detected.blocks, "growth": detected.growth if detected.architecture == "rrdb" else None}
    clashes = [f"--{key} {changes[key]} (it has {found[key]})" for key in INIT_SIZES
               if changes.get(key) is not None and found[key] is not None and changes[key] != found[key]]
    if clashes:
        raise ConfigError(f"--init {init} is a different network: {', '.join(clashes)}; leave the sizes out "
                          f"to take its own")
    config = config.replace(**{key: value for key, value in found.items() if value is not None}).validate()
    if detected.image_channels != 3:
        config = config.replace(image_channels=detected.image_channels)
    return config, loaded.network.state_dict()


def _load_vgg(config: ESRGANConfig, path: str | Path | None, on_event: EventHandler) -> VGG19Features | None:
    """The VGG19 features the gan stage's perceptual loss needs, from a local torchvision-layout file."""
    if config.stage != "gan":
        return None
    if not config.perceptual:
        on_event(Notice("training without the perceptual loss (--no-perceptual): the recipe's VGG19 term is off"))
        return None
    if path is None:
        raise ConfigError("the gan stage's perceptual loss needs the ImageNet VGG19 weights: give --vgg-weights "
                          "FILE (torchvision's vgg19 file, e.g. vgg19-dcbc0a07.pth; never downloaded), or "
                          "--no-perceptual to train without it")
    model = VGG19Features(tuple(name for name, _ in config.losses.perceptual_layers))
    try:
        tensors = read_tensor_container(path)
    except TensorFileError as error:
        raise RunError(f"{path}: {'no such weights file' if error.kind == 'missing' else error.reason}") from None
    state = vgg_state(tensors if isinstance(tensors, dict) else {}, model)
    expected = model.state_dict()
    if set(state) != set(expected) or any(state[key].shape != expected[key].shape for key in state):
        raise RunError(f"{path}: not VGG19 weights in torchvision's layout (expected {', '.join(list(expected)[:2])}"
                       f", ... with VGG19's shapes)")
    model.load_state_dict(state)
    return model.eval()


def _validation(folder: str | Path, config: ESRGANConfig, max_pixels: int):
    """A function of a generator giving the mean Y-PSNR and SSIM (border `scale`) over the images under
    `folder`, each shrunk by bicubic as the field evaluates."""
    files = find_image_files(Path(folder))
    if not files:
        raise ConfigError(f"--val {folder}: no images found")
    if len(files) > LARGEST_VALIDATION_IMAGES:
        raise ConfigError(f"--val {folder}: {len(files)} images; at most {LARGEST_VALIDATION_IMAGES} are validated")
    multiple = config.scale  # the LR side need not be the network's multiple: upscaling pads it
    targets = []
    for path in files:
        image = (load_image(path, max_pixels=max_pixels) + 1) / 2
        height, width = (side - side % multiple for side in image.shape[-2:])
        if min(height, width) < multiple:
            raise ConfigError(f"--val {path}: too small for x{config.scale}")
        targets.append(image[..., :height, :width])

    @torch.no_grad()
    def validate(generator: torch.nn.Module) -> dict:
        psnrs, ssims = [], []
        for target in targets:
            pixels = target.expand(-1, 3, -1, -1) if target.shape[1] == 1 and config.image_channels == 3 else target
            output = upscale(generator, bicubic(pixels, config.scale).clamp(0, 1), tile=VALIDATION_TILE)
            psnrs.append(psnr_y(output, pixels, config.scale))
            ssims.append(ssim_y(output, pixels, config.scale))
        return {"psnr_y": round(sum(psnrs) / len(psnrs), 4), "ssim_y": round(sum(ssims) / len(ssims), 5),
                "images": len(targets)}

    return validate


def _check_training_fits(config: ESRGANConfig, device: torch.device) -> None:
    """Refuse a batch and crop whose activations cannot fit, before any network is built: each of the
    generator's convolutions keeps its output for the backward pass."""
    low = config.batch * (config.crop // config.scale) ** 2 * 4
    per_layer = {"rrdb": 15 * config.features + 5 * 4 * config.growth, "srresnet": 6 * config.features,
                 "srvgg": 2 * config.features, "msrresnet": 4 * config.features}[config.arch]
    needed = low * per_layer * config.block_count + config.batch * config.crop**2 * 4 * config.features * 8
    check_fits(needed * (3 if config.stage == "gan" else 1), f"--batch {config.batch} of {config.crop} px crops",
               "lower --batch or --crop", device)


def _new_record(data: str | Path, images: CropData, config: ESRGANConfig, device: torch.device, *, val, init,
                vgg_weights) -> runs.ESRGANRecord:
    training = {"config": config.to_dict(), "data": {"path": str(data), "images": len(images),
                                                     "skipped": len(images.skipped), "channels": images.channels},
                "val": _absolute(val), "init": _absolute(init), "vgg_weights": _absolute(vgg_weights),
                "device": describe_device(device), "seed": config.seed, "iteration": 0, "seconds": 0.0,
                "validation": None}
    return runs.ESRGANRecord(network=asdict(network_spec(config)), source={"made_by": "train"}, training=training)


def _absolute(path: str | Path | None) -> str | None:
    """A path as resume reads it again from any working directory."""
    return None if path is None else str(Path(path).resolve())


def _check_same_data(directory: Path, record: runs.ESRGANRecord, images: CropData) -> None:
    data = record.training["data"]
    if len(images) != data.get("images") or images.channels != data.get("channels"):
        raise RunError(f"{directory} was trained on {data.get('images')} images with {data.get('channels')} "
                       f"channel(s); the folder now gives {len(images)} with {images.channels}, so the run cannot "
                       f"be resumed on it")


def _train(directory: Path, record: runs.ESRGANRecord, config: ESRGANConfig, images: CropData, device: torch.device,
           vgg, validation, init_state, on_event: EventHandler) -> None:
    trainer = ESRGANTrainer(config, images, device, vgg=vgg, validation=validation)
    if init_state is not None:
        trainer.initialize(init_state)
    if record.iteration:
        _restore(trainer, directory)
    for path, reason in images.skipped[:5]:
        on_event(Notice(f"skipped {path}: {reason}"))
    parameters = sum(parameter.numel() for parameter in trainer.generator.parameters())
    on_event(ESRGANTrainingStarted(str(directory), config.arch, config.stage, config.recipe_name, config.scale,
                                   trainer.count, config.iterations, describe_device(device), len(images),
                                   len(images.skipped), parameters))
    if record.complete:
        on_event(Notice(f"{directory} has already trained {record.iteration} of {config.iterations} iterations; "
                        f"give a larger --iterations with --resume to train on"))
        return
    writer = RunDirectoryWriter(directory, record, trainer)
    TrainingSession(trainer, config.iterations, writer, seconds=record.training.get("seconds", 0.0),
                    handle=on_event).run()


def _restore(trainer: ESRGANTrainer, directory: Path) -> None:
    """The trainer as the checkpoint left it."""
    tensors, state = runs.load_checkpoint(directory)
    common.restore_from_checkpoint(trainer.restore, tensors, state, directory / runs.CHECKPOINT_FILE)


class RunDirectoryWriter:
    """What a session writes into an ESRGAN-family run: log lines, snapshots, and checkpoints followed by the
    moving average's weights (which upscaling reads) and run.json."""

    def __init__(self, directory: Path, record: runs.ESRGANRecord, trainer: ESRGANTrainer):
        self.directory, self.record, self.trainer = directory, record, trainer

    def log(self, entry: dict) -> None:
        common.append_log(self.directory, entry)

    def snapshot(self, grid: torch.Tensor, iteration: int) -> None:
        runs.save_snapshot(self.directory, grid, iteration)

    def checkpoint(self, tensors: dict[str, torch.Tensor], state: dict, iteration: int, seconds: float) -> str:
        path = runs.save_checkpoint(self.directory, tensors, state)
        self.record.training |= {"iteration": iteration, "seconds": round(seconds, 3),
                                 "validation": self.trainer.last_validation}
        runs.save(self.directory, self.record, self.trainer.ema_state())
        return str(path)
