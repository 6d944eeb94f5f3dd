"""High-resolution training images for super-resolution, held whole in memory as uint8, and the random
crops a training step takes from them (with flips and 90-degree turns, as BasicSR's paired data).

Unlike the GAN image folders, images keep their own sizes: a step crops `crop` x `crop` px anywhere in
any of them. An image smaller than the crop on a side cannot give one and is skipped with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from singan.data.imagefolder import find_image_files
from singan.errors import ConfigError, InputImageError
from singan.images import DEFAULT_MAX_PIXELS, load_image, to_uint8


@dataclass
class CropData:
    """images: uint8 [C, H, W] each (C is the same for all: 3, or 1 when every image is grayscale)."""

    images: list[torch.Tensor]
    files: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return self.images[0].shape[0]

    def __len__(self) -> int:
        return len(self.images)


def load_crop_data(root: str | Path, crop: int, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                   strict: bool = False) -> CropData:
    """Every image under `root` at least `crop` px on both sides; unreadable or too small ones are skipped
    (or, with `strict`, the first raises)."""
    if not isinstance(crop, int) or isinstance(crop, bool) or crop < 4:
        raise ConfigError(f"--crop must be a whole number of at least 4 px (got {crop!r})")
    images, files, skipped = [], [], []
    for path in find_image_files(Path(root)):
        try:
            image = load_image(path, max_pixels=max_pixels)[0]
            if min(image.shape[-2:]) < crop:
                raise InputImageError(f"{path}: {image.shape[-1]}x{image.shape[-2]} px is smaller than the "
                                      f"{crop} px crop")
        except InputImageError as error:
            if strict:
                raise
            skipped.append((path, str(error).removeprefix(f"{path}: ")))
            continue
        images.append(to_uint8(image))
        files.append(path)
    if not images:
        raise InputImageError(f"{root}: no image of at least {crop}x{crop} px among {len(skipped)} file(s)"
                              + (f"; the first: {skipped[0][1]}" if skipped else ""))
    if any(image.shape[0] == 3 for image in images):  # one channel count for all: grayscale ones repeated
        images = [image.expand(3, -1, -1).contiguous() if image.shape[0] == 1 else image for image in images]
    return CropData(images, files, skipped)


def random_crops(data: CropData, count: int, crop: int, generator: torch.Generator,
                 augment: bool = True) -> torch.Tensor:
    """`count` crops [count, C, crop, crop] float in [0, 1], each from a random image at a random place,
    with a random horizontal flip, vertical flip and transpose (the eight symmetries of the square) when
    `augment`. Every draw comes from `generator`."""
    crops = []
    for _ in range(count):
        image = data.images[int(torch.randint(len(data), (), generator=generator))]
        height, width = image.shape[-2:]
        top = int(torch.randint(height - crop + 1, (), generator=generator))
        left = int(torch.randint(width - crop + 1, (), generator=generator))
        piece = image[:, top:top + crop, left:left + crop]
        if augment:
            flips = torch.rand(3, generator=generator) < 0.5
            piece = piece.flip(-1) if flips[0] else piece
            piece = piece.flip(-2) if flips[1] else piece
            piece = piece.transpose(-1, -2) if flips[2] else piece
        crops.append(piece)
    return torch.stack(crops).float() / 255


