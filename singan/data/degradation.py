"""Low-resolution inputs made from high-resolution crops, for training super-resolution networks.

- `bicubic`: ESRGAN's and SRGAN's: an antialiased bicubic shrink by the scale.
- `realesrgan`: Real-ESRGAN's second-order degradation, with its published default ranges: twice (blur with
  a random kernel, a random resize, Gaussian or Poisson noise, JPEG), then a final resize to the low
  resolution, a sinc filter (probability 0.8) and JPEG, those two in random order.

Every draw comes from the `torch.Generator` handed in, so a seed gives the same degradations (the JPEG
round trip goes through Pillow, which is deterministic). Images are [N, C, H, W] float in [0, 1].
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.special import j1

KERNEL_KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")


@dataclass(frozen=True)
class Stage:
    """One order of Real-ESRGAN's degradation: its probabilities and ranges."""

    kernel_probabilities: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    blur_probability: float = 1.0
    sinc_probability: float = 0.1
    sigma: tuple[float, float] = (0.2, 3.0)
    generalized_beta: tuple[float, float] = (0.5, 4.0)
    plateau_beta: tuple[float, float] = (1.0, 2.0)
    resize_probabilities: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_noise_probability: float = 0.5
    noise_sigma: tuple[float, float] = (1.0, 30.0)  # in 8-bit levels
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_noise_probability: float = 0.4
    jpeg_quality: tuple[float, float] = (30.0, 95.0)


FIRST = Stage()
SECOND = Stage(blur_probability=0.8, sigma=(0.2, 1.5), resize_probabilities=(0.3, 0.4, 0.3), resize_range=(0.3, 1.2),
               noise_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5))
FINAL_SINC_PROBABILITY = 0.8
KERNEL_SIZES = tuple(range(7, 22, 2))  # odd sizes from 7 to 21 px


def bicubic(images: torch.Tensor, scale: int) -> torch.Tensor:
    """ESRGAN's degradation: an antialiased bicubic shrink by `scale` (sides must be multiples of it)."""
    height, width = images.shape[-2:]
    return _resize(images, (height // scale, width // scale))


def realesrgan(images: torch.Tensor, scale: int, generator: torch.Generator) -> torch.Tensor:
    """Real-ESRGAN's second-order degradation of each image of the batch, to 1/`scale` of its size."""
    return torch.cat([_degrade_one(image[None], scale, generator) for image in images])


def _degrade_one(image: torch.Tensor, scale: int, generator: torch.Generator) -> torch.Tensor:
    height, width = image.shape[-2:]
    for stage in (FIRST, SECOND):
        if _chance(generator, stage.blur_probability):
            image = _filter(image, _random_kernel(stage, generator))
        image = _random_resize(image, stage, generator)
        image = _random_noise(image, stage, generator)
        image = jpeg(image, _uniform(generator, *stage.jpeg_quality))
    target = (height // scale, width // scale)
    sinc = sinc_kernel(_choice(generator, KERNEL_SIZES), _uniform(generator, math.pi / 3, math.pi)) \
        if _chance(generator, FINAL_SINC_PROBABILITY) else None
    quality = _uniform(generator, *SECOND.jpeg_quality)
    if _chance(generator, 0.5):  # resize and sinc first, then JPEG
        image = _maybe_filter(_resize(image, target, _random_mode(generator)), sinc)
        return jpeg(image, quality)
    image = jpeg(image, quality)
    return _maybe_filter(_resize(image, target, _random_mode(generator)), sinc)


def _maybe_filter(image: torch.Tensor, kernel: torch.Tensor | None) -> torch.Tensor:
    return image if kernel is None else _filter(image, kernel)


def _random_resize(image: torch.Tensor, stage: Stage, generator: torch.Generator) -> torch.Tensor:
    direction = _weighted(generator, stage.resize_probabilities)
    low, high = stage.resize_range
    factor = (_uniform(generator, 1, high) if direction == 0 else _uniform(generator, low, 1) if direction == 1
              else 1.0)
    size = tuple(max(1, round(side * factor)) for side in image.shape[-2:])
    return _resize(image, size, _random_mode(generator))


def _random_noise(image: torch.Tensor, stage: Stage, generator: torch.Generator) -> torch.Tensor:
    gray = _chance(generator, stage.gray_noise_probability)
    channels = 1 if gray else image.shape[1]
    if _chance(generator, stage.gaussian_noise_probability):
        sigma = _uniform(generator, *stage.noise_sigma) / 255
        noise = torch.randn(image.shape[0], channels, *image.shape[-2:], generator=generator) * sigma
    else:
        noise = _poisson_noise(image, _uniform(generator, *stage.poisson_scale), gray, generator)
    return (image + noise).clamp(0, 1)


def _poisson_noise(image: torch.Tensor, scale: float, gray: bool, generator: torch.Generator) -> torch.Tensor:
    """Shot noise: counts drawn around the image's levels (as 8-bit levels), scaled by `scale`."""
    source = image.mean(dim=1, keepdim=True) if gray else image
    levels = (source.clamp(0, 1) * 255).round()
    counts = torch.poisson(levels, generator=generator)
    return (counts - levels) / 255 * scale


def jpeg(image: torch.Tensor, quality: float) -> torch.Tensor:
    """A JPEG round trip at `quality` (through Pillow), of each image of the batch."""
    results = []
    for one in image:
        pixels = (one.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        stream = io.BytesIO()
        picture.save(stream, format="JPEG", quality=int(round(quality)))
        decoded = np.asarray(Image.open(io.BytesIO(stream.getvalue())))
        decoded = decoded[:, :, None] if decoded.ndim == 2 else decoded
        results.append(torch.from_numpy(decoded.copy()).permute(2, 0, 1).float() / 255)
    return torch.stack(results)


def _random_kernel(stage: Stage, generator: torch.Generator) -> torch.Tensor:
    size = _choice(generator, KERNEL_SIZES)
    if _chance(generator, stage.sinc_probability):
        low = math.pi / 3 if size < 13 else math.pi / 5
        return sinc_kernel(size, _uniform(generator, low, math.pi))
    kind = KERNEL_KINDS[_weighted(generator, stage.kernel_probabilities)]
    isotropic = kind.endswith("iso") and not kind.endswith("aniso")
    sigma_x = _uniform(generator, *stage.sigma)
    sigma_y = sigma_x if isotropic else _uniform(generator, *stage.sigma)
    angle = 0.0 if isotropic else _uniform(generator, -math.pi, math.pi)
    if kind.startswith("generalized"):
        shape, beta = "generalized", _uniform(generator, *stage.generalized_beta)
    elif kind.startswith("plateau"):
        shape, beta = "plateau", _uniform(generator, *stage.plateau_beta)
    else:
        shape, beta = "gaussian", 1.0
    return blur_kernel(size, sigma_x, sigma_y, angle, shape, beta)


def blur_kernel(size: int, sigma_x: float, sigma_y: float, angle: float, shape: str = "gaussian",
                beta: float = 1.0) -> torch.Tensor:
    """A [size, size] kernel summing to 1: Gaussian, generalized Gaussian (exp(-(d/2)^beta)) or plateau
    (1 / (1 + d^beta)), d the Mahalanobis distance under the rotated covariance diag(sigma_x^2, sigma_y^2)."""
    radius = size // 2
    axis = torch.arange(-radius, radius + 1, dtype=torch.float64)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = cos * x + sin * y, -sin * x + cos * y
    squared = (u / sigma_x) ** 2 + (v / sigma_y) ** 2
    if shape == "gaussian":
        kernel = torch.exp(-0.5 * squared)
    elif shape == "generalized":
        kernel = torch.exp(-0.5 * squared.pow(beta / 2))
    elif shape == "plateau":
        kernel = 1 / (1 + squared.pow(beta / 2))
    else:
        raise ValueError(f"kernel shape {shape!r} is none of gaussian, generalized, plateau")
    return (kernel / kernel.sum()).float()


def sinc_kernel(size: int, cutoff: float) -> torch.Tensor:
    """A circular low-pass (2-D sinc, the jinc) of cutoff frequency `cutoff` (radians per pixel), summing to 1:
    it makes the ringing and overshoot artefacts of sharpened and resampled images."""
    radius = size // 2
    axis = np.arange(-radius, radius + 1, dtype=np.float64)
    distance = np.hypot(*np.meshgrid(axis, axis, indexing="ij"))
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * j1(cutoff * distance) / (2 * np.pi * distance)
    kernel[radius, radius] = cutoff**2 / (4 * np.pi)
    return torch.from_numpy(kernel / kernel.sum()).float()


def _filter(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Each channel convolved with `kernel`, the border reflected."""
    channels, radius = image.shape[1], kernel.shape[-1] // 2
    padded = F.pad(image, (radius,) * 4, mode="reflect" if min(image.shape[-2:]) > radius else "replicate")
    weight = kernel.to(image)[None, None].expand(channels, 1, -1, -1)
    return F.conv2d(padded, weight, groups=channels).clamp(0, 1)


def _resize(image: torch.Tensor, size: tuple[int, int], mode: str = "bicubic") -> torch.Tensor:
    if mode == "area":
        return F.interpolate(image, size=size, mode="area").clamp(0, 1)
    return F.interpolate(image, size=size, mode=mode, antialias=True, align_corners=False).clamp(0, 1)


def _random_mode(generator: torch.Generator) -> str:
    return _choice(generator, ("area", "bilinear", "bicubic"))


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _chance(generator: torch.Generator, probability: float) -> bool:
    return torch.rand((), generator=generator).item() < probability


def _choice(generator: torch.Generator, options: tuple):
    return options[int(torch.randint(len(options), (), generator=generator))]


def _weighted(generator: torch.Generator, probabilities: tuple[float, ...]) -> int:
    return int(torch.multinomial(torch.tensor(probabilities, dtype=torch.float64), 1, generator=generator))


# Real-ESRGAN's unsharp mask of the ground truth: a 51 px Gaussian (OpenCV's sigma for that size, 8), half
# of the detail added where it exceeds 10 levels, the mask itself softened by the same blur.
SHARPEN_SIZE, SHARPEN_SIGMA, SHARPEN_WEIGHT, SHARPEN_THRESHOLD = 51, 8.0, 0.5, 10 / 255


def unsharp_mask(images: torch.Tensor) -> torch.Tensor:
    """Real-ESRGAN's sharpened targets for the L1 and perceptual losses, [N, C, H, W] in [0, 1]."""
    kernel = blur_kernel(SHARPEN_SIZE, SHARPEN_SIGMA, SHARPEN_SIGMA, 0.0)
    detail = images - _filter(images, kernel)
    mask = (detail.abs() > SHARPEN_THRESHOLD).to(images.dtype)
    soft = _filter(mask, kernel)
    sharpened = (images + SHARPEN_WEIGHT * detail).clamp(0, 1)
    return soft * sharpened + (1 - soft) * images
