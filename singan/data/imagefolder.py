"""A folder of training images for the multi-image GANs, held in memory as uint8 squares.

`load_image_folder` reads every image under a folder (recursively), makes each one square (centre crop or
black padding), resizes it to the training resolution and keeps it as uint8. `real_batch` turns chosen
images back into float tensors in [-1, 1], optionally mirrored; `singan.data.sampler` chooses which images
form each batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from singan.errors import ConfigError, InputImageError
from singan.images import DEFAULT_MAX_PIXELS, check_max_pixels, from_uint8, load_image, to_uint8

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
SQUARE_MODES = ("crop", "pad")
MIN_RESOLUTION, MAX_RESOLUTION = 4, 1024
# ITU-R BT.601 luma weights for R, G, B.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

ProgressCallback = Callable[[int, int], None]


@dataclass
class ImageFolderData:
    """The images of a folder, each resized to `resolution` x `resolution`.

    images: uint8 [N, C, R, R] (N * C * R * R bytes of memory: 70,000 colour images at 256 take 13.8 GB);
    files: the path of each kept image, in the same order; skipped: (path, reason) of each unreadable file;
    channels: C, 1 (every image grayscale or forced) or 3; root: the folder that was read.
    """

    images: torch.Tensor
    files: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    channels: int = 3
    resolution: int = 0
    root: Path = Path(".")

    def __len__(self) -> int:
        return self.images.shape[0]


def load_image_folder(root: str | Path, resolution: int, *, channels: int | None = None, square: str = "crop",
                      strict: bool = False, on_progress: ProgressCallback | None = None,
                      max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageFolderData:
    """Read every image under `root` (subfolders included, hidden files and folders ignored, sorted by path).

    channels: None picks 1 when every readable image is grayscale, else 3 (grayscale ones are repeated);
    1 or 3 forces it (colour becomes BT.601 luma). square: "crop" keeps the centred square of the shorter
    side, "pad" centres the image on a black square of the longer side. Unreadable files are skipped and
    listed in `skipped`, or with strict=True the first one raises InputImageError. on_progress(done, total)
    is called before the first file and after each one. Files above `max_pixels` pixels are unreadable ones.
    """
    _check_options(resolution, channels, square)
    check_max_pixels(max_pixels)
    root = Path(root)
    candidates = find_image_files(root)
    loaded, files, skipped = _load_all(candidates, resolution, channels, square, strict, on_progress, max_pixels)
    if not loaded:
        first_path, first_reason = skipped[0]
        raise InputImageError(f"{root}: none of the {len(candidates)} image files could be read "
                              f"(first: {first_path}: {first_reason})")
    channels = channels or max(image.shape[0] for image in loaded)
    return ImageFolderData(images=_stack(loaded, channels), files=files, skipped=skipped, channels=channels,
                           resolution=resolution, root=root)


def find_image_files(root: Path) -> list[Path]:
    """The image files under `root`, sorted by their path relative to it; errors if there are none."""
    if not root.exists():
        raise InputImageError(f"{root}: no such folder")
    if not root.is_dir():
        raise InputImageError(f"{root}: is a file; give a folder of images")
    relative_paths = sorted(_walk_images(root))
    if not relative_paths:
        empty = not any(root.iterdir())
        reason = "the folder is empty" if empty else "no image files in the folder or its subfolders"
        raise InputImageError(f"{root}: {reason} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return [root.joinpath(*parts) for parts in relative_paths]


def real_batch(data: ImageFolderData, indices: torch.Tensor, mirror: bool,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The images at `indices` as float [B, C, R, R] in [-1, 1]; with `mirror`, each one is flipped
    left-right with probability 1/2, decided by `generator` (a CPU generator)."""
    images = from_uint8(data.images[indices.to("cpu", torch.long)])
    if not mirror:
        return images
    flips = torch.rand(images.shape[0], generator=generator) < 0.5
    return torch.where(flips[:, None, None, None], images.flip(-1), images)


# ---- loading ----------------------------------------------------------------------------------------------


def _check_options(resolution: int, channels: int | None, square: str) -> None:
    is_integer = isinstance(resolution, int) and not isinstance(resolution, bool)
    if not is_integer or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION or resolution & (resolution - 1):
        raise ConfigError(f"--resolution must be a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION}, "
                          f"got {resolution!r}")
    if square not in SQUARE_MODES:
        raise ConfigError(f"--square must be 'crop' or 'pad', got {square!r}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1, 3 or None (automatic), got {channels!r}")


def _walk_images(root: Path) -> list[tuple[str, ...]]:
    """Relative paths (as tuples of parts, which sort folder by folder) of the image files under root."""
    found, visited = [], set()
    # followlinks lets a dataset folder hold symlinked subfolders; `visited` stops symlink loops.
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:
            subfolders[:] = []
            continue
        visited.add(real)
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        parts = Path(folder).relative_to(root).parts
        found += [(*parts, name) for name in names if _is_image_name(name)]
    return found


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _load_all(paths: list[Path], resolution: int, channels: int | None, square: str, strict: bool,
              on_progress: ProgressCallback | None, max_pixels: int) -> tuple[list[torch.Tensor], list[Path], list]:
    """Each readable file as uint8 [C, R, R] with its own channel count (or the forced one)."""
    loaded, files, skipped = [], [], []
    report = on_progress or (lambda done, total: None)
    report(0, len(paths))
    for done, path in enumerate(paths, start=1):
        try:
            loaded.append(_prepare(_load(path, resolution, square, max_pixels), resolution, channels, square))
            files.append(path)
        except InputImageError as error:
            if strict:
                raise
            skipped.append((path, _reason(error, path)))
        report(done, len(paths))
    return loaded, files, skipped


def _load(path: Path, resolution: int, square: str, max_pixels: int) -> torch.Tensor:
    """[C, H, W] in [-1, 1], decoded in full: no JPEG draft decoding here, so that the data (and the SWD and
    FID figures measured on it) are the ones every other tool gets from these files."""
    return load_image(path, max_pixels=max_pixels)[0]


def _reason(error: InputImageError, path: Path) -> str:
    """The error message without its leading "path: ", on one line."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _prepare(image: torch.Tensor, resolution: int, channels: int | None, square: str) -> torch.Tensor:
    """Float [C, H, W] in [-1, 1] -> uint8 [C', R, R]."""
    if channels == 1 and image.shape[0] == 3:
        image = to_grayscale(image)
    image = center_crop(image) if square == "crop" else pad_to_square(image)
    return to_uint8(resize_square(image, resolution))


def to_grayscale(image: torch.Tensor) -> torch.Tensor:
    """[3, H, W] -> [1, H, W] luma; the weights sum to 1, so this is right in [-1, 1] as in [0, 1]."""
    weights = torch.tensor(LUMA_WEIGHTS, dtype=image.dtype)
    return (image * weights[:, None, None]).sum(0, keepdim=True)


def center_crop(image: torch.Tensor) -> torch.Tensor:
    """The centred square of side min(H, W) of a [C, H, W] image."""
    height, width = image.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[:, top:top + side, left:left + side]


def pad_to_square(image: torch.Tensor) -> torch.Tensor:
    """A [C, H, W] image centred on a black (-1) square of side max(H, W)."""
    height, width = image.shape[-2:]
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    return F.pad(image, (left, side - width - left, top, side - height - top), value=-1.0)


def resize_square(image: torch.Tensor, resolution: int) -> torch.Tensor:
    """A square [C, S, S] image resized to [C, R, R] by bicubic interpolation, antialiased when shrinking."""
    side = image.shape[-1]
    if side == resolution:
        return image
    resized = F.interpolate(image[None], size=(resolution, resolution), mode="bicubic", align_corners=False,
                            antialias=side > resolution)
    # Bicubic overshoots near sharp edges.
    return resized[0].clamp(-1, 1)


def _stack(loaded: list[torch.Tensor], channels: int) -> torch.Tensor:
    """[N, channels, R, R] uint8, repeating grayscale images to colour where needed; frees each input as it
    is copied so that the folder is not held twice in memory."""
    resolution = loaded[0].shape[-1]
    images = torch.empty(len(loaded), channels, resolution, resolution, dtype=torch.uint8)
    for index in range(len(loaded)):
        images[index] = loaded[index].expand(channels, -1, -1)
        loaded[index] = None
    return images
