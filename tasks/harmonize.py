"""Harmonization and editing: inject a pasted or edited picture, then keep the result only near the mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from skimage.filters import gaussian
from skimage.morphology import binary_dilation, disk

from singan.errors import InputImageError
from singan.events import EventHandler, ignore
from singan.images import load_image, save_image
from singan.models.singan import SinGAN
from singan.pyramid import Size, upsample
from singan.runs import Run
from tasks.inject import check_injection_scale, inject, load_picture, output_folder

# The original's mask treatment: dilate by a disk, then soften with a Gaussian (both in pixels of the output).
HARMONIZE_RADIUS = 7
EDIT_RADIUS = 20
BLUR_SIGMA = 5.0
RADIUS = {"harmonize": HARMONIZE_RADIUS, "edit": EDIT_RADIUS}


def binary_mask(mask: torch.Tensor, name: str = "the mask") -> torch.Tensor:
    """A mask image in [-1, 1] (any channels) -> [1, 1, H, W] bool; white marks the region to redo."""
    selected = mask.mean(dim=1, keepdim=True) > 0
    if not selected.any():
        raise InputImageError(f"{name} is empty (all black): paint the region to blend in white")
    if selected.all():
        raise InputImageError(f"{name} is all white: it must leave part of the picture untouched")
    return selected


def soft_mask(selected: torch.Tensor, radius: int, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Dilate by a disk of `radius`, blur by `sigma`, rescale to [0, 1]: 0 exactly where the input is kept."""
    pixels = selected[0, 0].cpu().numpy()
    grown = binary_dilation(pixels, disk(radius)).astype(np.float64)
    blurred = gaussian(grown, sigma=sigma)
    blurred[blurred < 1e-6] = 0  # the Gaussian's far tail: keep the input exactly there
    low, high = blurred.min(), blurred.max()
    if high <= low:
        raise InputImageError(f"the mask, grown by {radius} px, covers the whole picture: "
                              f"it must leave part of it untouched")
    soft = (blurred - low) / (high - low)
    return torch.from_numpy(soft.astype(np.float32))[None, None].to(selected.device)


@torch.no_grad()
def blend_injected(model: SinGAN, picture: torch.Tensor, mask: torch.Tensor, scale: int, seed: int) -> torch.Tensor:
    """(1 - m) * picture + m * (the picture injected at `scale`); picture and mask at the run's finest size."""
    generated = inject(model, picture, scale, seed)
    return (1 - mask) * picture + mask * generated


def load_mask(path: str | Path, reference_size: Size, model: SinGAN, radius: int) -> torch.Tensor:
    """The soft blending mask at the run's size from a mask file made for the reference picture."""
    mask = load_image(path)
    if tuple(mask.shape[-2:]) != tuple(reference_size):
        raise InputImageError(f"{path}: the mask is {mask.shape[-1]}x{mask.shape[-2]} px but the picture is "
                              f"{reference_size[1]}x{reference_size[0]} px; they must match")
    mask = upsample(mask.to(model.reconstruction_noise.device), model.sizes[-1])
    return soft_mask(binary_mask(mask, f"{path}: the mask"), radius)


def blend_run(run: Run, task: str, picture_path: str | Path, mask_path: str | Path, scales: list[int], *,
              seed: int = 0, out: str | Path | None = None, on_event: EventHandler = ignore) -> list[Path]:
    """`task` "harmonize" or "edit": one output per start scale, <picture>_start<n>.png, plus the mask used."""
    model = run.model
    for scale in scales:
        check_injection_scale(model, scale)
    reference_size = tuple(load_image(picture_path).shape[-2:])
    mask = load_mask(mask_path, reference_size, model, RADIUS[task])
    picture = load_picture(picture_path, model, "the picture", on_event)
    folder = output_folder(run.directory, task, out)
    stem = Path(picture_path).stem
    written = []
    for scale in scales:
        path = folder / f"{stem}_start{scale}.png"
        save_image(path, blend_injected(model, picture, mask, scale, seed))
        written.append(path)
    save_image(folder / f"{stem}_mask_used.png", mask * 2 - 1)
    return written
