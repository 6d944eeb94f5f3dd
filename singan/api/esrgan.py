"""The ESRGAN family for `singan esrgan ...` and notebooks: read a published weight file of any layout,
describe it, and upscale images with it (tiles blended, the image in host memory).

Reading goes through `singan.tensorfile` (safetensors, or `.pth` with weights_only=True); no code in a
weights file ever runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from singan.data.imagefolder import IMAGE_EXTENSIONS, find_image_files
from singan.device import resolve_device
from singan.errors import ConfigError, InputImageError, RunError, one_line
from singan.events import EventHandler, Notice, ignore
from singan.files import check_folder
from singan.images import DEFAULT_MAX_PIXELS, quantize, read_image, save_image
from singan.memory import available_memory_bytes, check_fits, float_images_bytes
from singan.models.esrgan_layouts import Detected, LayoutError, to_ours, unwrap
from singan.runs import esrgan as runs
from singan.runs import open_run
from singan.runs.common import DEFAULT_ROOT
from singan.runs.directory import create_run, run_path
from singan.tensorfile import TensorFileError, read_tensor_container
from tasks.esrgan.upscale import DEFAULT_TILE_PAD, activation_bytes_per_pixel, fitting_tile, upscale

DEFAULT_OUT = DEFAULT_ROOT / "upscaled"
LARGEST_OUTSCALE = 16


@dataclass
class LoadedNetwork:
    """A weights file read into our network, with what was detected in it."""

    path: Path
    detected: Detected
    network: nn.Module

    @property
    def parameters(self) -> int:
        return sum(parameter.numel() for parameter in self.network.parameters())


def load_network(weights: str | Path, device: str = "auto") -> LoadedNetwork:
    """The network in a published (or our) weights file, or in an ESRGAN-family run; a missing, unreadable or
    foreign file is a RunError that names it and says what was found."""
    path = Path(weights)
    if path.is_dir():
        return _load_run(path, device)
    try:
        detected, state = to_ours(unwrap(read_tensor_container(path)))
    except TensorFileError as error:
        raise RunError(f"{path}: {'no such weights file' if error.kind == 'missing' else error.reason}") from None
    except LayoutError as error:
        raise RunError(f"{path}: {error}") from None
    network = detected.build()
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise RunError(f"{path}: the {detected.layout} weights do not fit the detected network "
                       f"({one_line(error, 300)})") from None
    return LoadedNetwork(path, detected, network.eval().requires_grad_(False).to(resolve_device(device)))


def _load_run(directory: Path, device: str) -> LoadedNetwork:
    record = open_run(directory, "esrgan").record
    network = record.detected.build()
    network.load_state_dict(runs.load_state(directory, record, network))
    return LoadedNetwork(directory, record.detected, network.eval().requires_grad_(False).to(resolve_device(device)))


def interpolate_networks(first: str | Path, second: str | Path, alpha: float, *, out: str | Path | None = None,
                         name: str | None = None, force: bool = False) -> Path:
    """A run whose weights are (1 - alpha) x first's + alpha x second's (ESRGAN's network interpolation:
    alpha 0 is `first`, typically the PSNR model, 1 is `second`, the GAN one); returns its directory."""
    if not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
        raise ConfigError(f"--alpha must be from 0 to 1 (got {alpha})")
    one, other = load_network(first, "cpu"), load_network(second, "cpu")
    if _sizes(one.detected) != _sizes(other.detected):
        raise ConfigError(f"{first} and {second} are different networks ({one.detected.architecture} x"
                          f"{one.detected.scale}, {one.detected.features} features, {one.detected.blocks} blocks; "
                          f"{other.detected.architecture} x{other.detected.scale}, {other.detected.features} "
                          f"features, {other.detected.blocks} blocks): only the same network interpolates")
    theirs = other.network.state_dict()
    state = {key: torch.lerp(value, theirs[key], alpha) if value.is_floating_point() else value
             for key, value in one.network.state_dict().items()}
    directory = run_path(out, name or f"{Path(first).stem}-{Path(second).stem}-alpha{alpha:g}")
    record = runs.ESRGANRecord(network={**asdict(one.detected), "layout": "basicsr"},
                               source={"made_by": "interpolate", "inputs": [str(first), str(second)], "alpha": alpha})
    create_run(directory, force, runs.KIND, lambda folder: runs.save(folder, record, state))
    return directory


def _sizes(detected: Detected) -> dict:
    """A network's architecture and sizes, whatever layout its file had."""
    return {**asdict(detected), "layout": None}


def summary(directory: str | Path, record: runs.ESRGANRecord) -> dict:
    """What `singan info` shows of an ESRGAN-family run."""
    return {"directory": str(directory), "family": "esrgan", "complete": record.complete, **record.network,
            "source": record.source, "training": record.training, "created": record.created,
            "versions": {"format": record.format_version, "singan": record.package_version,
                         "torch": record.torch_version}}


def describe_network(loaded: LoadedNetwork) -> dict:
    """What `singan esrgan info` shows."""
    detected = loaded.detected
    return {"file": str(loaded.path), "architecture": detected.architecture, "layout": detected.layout,
            "scale": detected.scale, "image_channels": detected.image_channels, "features": detected.features,
            "blocks": detected.blocks, "growth": detected.growth or None, "parameters": loaded.parameters}


def input_images(inputs: list[str | Path]) -> list[Path]:
    """The image files named, and those in the folders named (searched recursively), in order."""
    found = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += find_image_files(item)
        elif item.suffix.lower() in IMAGE_EXTENSIONS or item.exists():
            found.append(item)
        else:
            raise InputImageError(f"{item}: no such file or folder")
    return found


def check_outscale(outscale: float | None) -> None:
    if outscale is not None and not 0 < outscale <= LARGEST_OUTSCALE:
        raise ConfigError(f"--outscale must be above 0 and at most {LARGEST_OUTSCALE} (got {outscale})")


def upscale_files(loaded: LoadedNetwork, inputs: list[str | Path], *, out: str | Path | None = None,
                  outscale: float | None = None, tile: int | None = None, tile_pad: int = DEFAULT_TILE_PAD,
                  half: bool | None = None, force: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                  on_event: EventHandler = ignore, on_progress=None) -> list[Path]:
    """Upscale every image of `inputs` into <out>/<name>_x<scale>.png; existing outputs are kept (and
    skipped) unless `force`. An alpha channel is resized apart from the colours, and a 16-bit file gives a
    16-bit one. Returns the paths written."""
    check_outscale(outscale)
    folder = check_folder(out if out is not None else DEFAULT_OUT)
    files = input_images(inputs)
    device = next(loaded.network.parameters()).device
    half = device.type == "cuda" if half is None else half
    if half and device.type != "cuda":
        raise ConfigError("--fp16 needs a CUDA device; on the CPU networks run in fp32")
    scale = outscale or loaded.detected.scale
    written = []
    for done, path in enumerate(files, start=1):
        target = folder / f"{path.stem}_x{scale:g}.png"
        if target.exists() and not force:
            on_event(Notice(f"{target} exists: skipped (--force writes it again)"))
        else:
            picture = read_image(path, max_pixels=max_pixels, keep_alpha=True)
            result = upscale_image(loaded, picture.pixels, outscale=outscale, tile=tile, tile_pad=tile_pad,
                                   half=half, on_event=on_event)
            alpha = _resized_alpha(picture.alpha, result)
            # Quantised first and the floats dropped before the PNG is encoded: at 8192 px they are 805 MB.
            levels = quantize(result.mul_(2).sub_(1), picture.bits)
            del result
            save_image(target, levels, alpha=alpha, bits=picture.bits)
            written.append(target)
        if on_progress is not None:
            on_progress(done, len(files))
    return written


def _resized_alpha(alpha: torch.Tensor | None, result: torch.Tensor) -> torch.Tensor | None:
    """The alpha channel at the output's size by plain bicubic resizing: through the network, a mask's hard
    edges come out with halos and ringing."""
    if alpha is None:
        return None
    return F.interpolate(alpha, size=tuple(result.shape[-2:]), mode="bicubic", antialias=True,
                         align_corners=False).clamp(-1, 1)


def _automatic_tile(loaded: LoadedNetwork, pixels: torch.Tensor, tile_pad: int, half: bool,
                    on_event: EventHandler) -> int | None:
    """Without --tile, the whole image runs at once where it fits; where it does not (the anchors run out
    of memory, or are killed), tiles of a size that fits, with a note."""
    height, width = pixels.shape[-2:]
    scale = loaded.detected.scale
    device = next(loaded.network.parameters()).device
    available = available_memory_bytes(device)
    if available is None:
        return None
    # Headroom for the output, the input and the allocator, on the CPU where they share the memory.
    budget = available // 2 - (float_images_bytes(1, 3, height * scale, width * scale) if device.type == "cpu" else 0)
    tile = fitting_tile(activation_bytes_per_pixel(loaded.network, half), height, width, max(budget, 0), tile_pad)
    if tile is not None:
        on_event(Notice(f"the whole {width}x{height} px image does not fit in memory at once: running tiles of "
                        f"{tile} px (--tile sets the size)"))
    return tile


def upscale_image(loaded: LoadedNetwork, image: torch.Tensor, *, outscale: float | None = None,
                  tile: int | None = None, tile_pad: int = DEFAULT_TILE_PAD, half: bool = False,
                  on_event: EventHandler = ignore) -> torch.Tensor:
    """[1, C, H, W] in [-1, 1] -> [1, C, H', W'] in [0, 1]: through the network (grayscale as RGB, back to
    one channel after), in fp16 when asked and redone in fp32 if that gives a non-finite value, then
    resized to `outscale` when it differs from the network's scale."""
    pixels = (image + 1) / 2
    channels = pixels.shape[1]
    if channels == 1 and loaded.detected.image_channels == 3:
        pixels = pixels.expand(-1, 3, -1, -1)
    height, width = pixels.shape[-2:]
    scale = loaded.detected.scale
    # The output is held in host memory as floats, and quantised in pieces when it is written.
    check_fits(float_images_bytes(1, pixels.shape[1], height * scale, width * scale) * 1.5,
               f"the {width * scale}x{height * scale} px output", "upscale a smaller image")
    tile = tile if tile is not None else _automatic_tile(loaded, pixels, tile_pad, half, on_event)
    result = upscale(loaded.network, pixels, tile=tile, tile_pad=tile_pad, half=half)
    if half and not torch.isfinite(result).all():
        on_event(Notice("fp16 gave non-finite values: redone in fp32"))
        result = upscale(loaded.network, pixels, tile=tile, tile_pad=tile_pad, half=False)
    if channels == 1 and result.shape[1] == 3:
        result = result.mean(dim=1, keepdim=True)
    if outscale is not None and outscale != loaded.detected.scale:
        size = (max(1, round(image.shape[-2] * outscale)), max(1, round(image.shape[-1] * outscale)))
        result = F.interpolate(result, size=size, mode="bicubic", antialias=True, align_corners=False)
    return result.clamp_(0, 1)
