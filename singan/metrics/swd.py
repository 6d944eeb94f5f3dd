"""Patch sliced Wasserstein distance on a Laplacian pyramid (Karras et al., PGGAN), adapted to one image.

PGGAN compares 7x7 patches of many real images with patches of as many generated ones, level by
level of a Laplacian pyramid, so that each level measures one band of detail. With a single training
image the "real set" is patches of that one image, drawn at random positions; two more independent
draws give a real-vs-real figure, the noise floor that any comparison of that many patches has (and
what a model that reproduced the image's patches exactly would score). A result then reads as
"x times the floor". `dataset_swd` is PGGAN's own setting: a data set's images against generated ones,
with two disjoint halves of the data set as the floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from singan.errors import ConfigError
from singan.images import from_uint8

PATCH_SIZE = 7
PATCHES_PER_IMAGE = 128
DIRECTIONS = 128
REPEATS = 4
# Each level's smaller side, apart from the full-resolution one, is at least this (PGGAN: down to 16 px).
SMALLEST_LEVEL = 16
# PGGAN reports distances x1000.
REPORT_FACTOR = 1000.0

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
# The 5x5 binomial kernel (cv2.pyrDown's): the outer product of [1, 4, 6, 4, 1], divided by 256.
KERNEL = torch.outer(_BINOMIAL, _BINOMIAL) / 256.0


@dataclass(frozen=True)
class SWDResult:
    """Per-level distances and their average, with the real-vs-real floor of the same patch counts (all x1000)."""

    levels: list[float]
    average: float
    floor_levels: list[float]
    floor: float
    level_sizes: list[tuple[int, int]]  # (height, width) of each level of the real image

    @property
    def ratio(self) -> float:
        """The average over the floor: about 1 for patches as alike as the real image's own."""
        if self.floor > 0:
            return self.average / self.floor
        return 0.0 if self.average == 0 else math.inf

    def to_dict(self) -> dict:
        ratio = self.ratio
        return {"levels": self.levels, "average": self.average, "floor_levels": self.floor_levels,
                "floor": self.floor, "ratio": ratio if math.isfinite(ratio) else None,
                "level_sizes": [list(size) for size in self.level_sizes]}


def pyramid_levels(height: int, width: int) -> int:
    """How many levels an image of this size gets: the full resolution, then halvings (rounded up) while
    the smaller side of the next level stays >= 16 px. The last level is the low-pass remainder."""
    count = 1
    while min(_half(height), _half(width)) >= SMALLEST_LEVEL:
        height, width = _half(height), _half(width)
        count += 1
    return count


def _half(size: int) -> int:
    return (size + 1) // 2


def laplacian_pyramid(images: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
    """[N, C, H, W] -> band-pass levels, finest first, then the low-pass remainder (PGGAN's recipe).

    `levels` defaults to `pyramid_levels` of the image size; pass a count to match another image's pyramid.
    Upsampling each level to the next finer one and adding them all gives back the images exactly
    (see `collapse_pyramid`).
    """
    count = pyramid_levels(*images.shape[-2:]) if levels is None else levels
    pyramid = [images.float()]
    for _ in range(count - 1):
        smaller = pyramid_down(pyramid[-1])
        pyramid[-1] = pyramid[-1] - pyramid_up(smaller, pyramid[-1].shape[-2:])
        pyramid.append(smaller)
    return pyramid


def collapse_pyramid(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """The inverse of `laplacian_pyramid`: the images back from their levels."""
    images = pyramid[-1]
    for level in reversed(pyramid[:-1]):
        images = pyramid_up(images, level.shape[-2:]) + level
    return images


def pyramid_down(images: torch.Tensor) -> torch.Tensor:
    """Blur with the binomial kernel (mirror padding), keep every other pixel: as cv2.pyrDown."""
    return _blur(images, KERNEL)[..., ::2, ::2]


def pyramid_up(images: torch.Tensor, size) -> torch.Tensor:
    """Spread the pixels over every other position of a `size` grid and blur (kernel x 4): as cv2.pyrUp."""
    spread = images.new_zeros(*images.shape[:2], *size)
    spread[..., ::2, ::2] = images[..., : _half(size[0]), : _half(size[1])]
    return _blur(spread, KERNEL * 4)


def _blur(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    channels = images.shape[1]
    weight = kernel.to(images).expand(channels, 1, *kernel.shape)
    # "mirror" in PGGAN's scipy call: reflection about the edge pixel, which is not repeated.
    return F.conv2d(F.pad(images, (2, 2, 2, 2), mode="reflect"), weight, groups=channels)


def patch_positions(height: int, width: int) -> int:
    """How many 7x7 neighbourhoods fit wholly inside a height x width level."""
    return max(0, height - PATCH_SIZE + 1) * max(0, width - PATCH_SIZE + 1)


def extract_patches(level: torch.Tensor, images: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The 7x7 neighbourhoods [P, C, 7, 7] of `level` [N, C, H, W]: patch p from image images[p] at the
    p-th position, numbered row by row over the top-left corners that keep the patch inside."""
    columns = level.shape[-1] - PATCH_SIZE + 1
    offsets = torch.arange(PATCH_SIZE, device=level.device)
    positions, images = positions.to(level.device), images.to(level.device)
    rows = (positions // columns)[:, None] + offsets  # [P, 7]
    cols = (positions % columns)[:, None] + offsets
    patches = level[images[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # [P, 7, 7, C]
    return patches.permute(0, 3, 1, 2)


def normalize_descriptors(patches: torch.Tensor) -> torch.Tensor:
    """[P, C, 7, 7] -> [P, 49 C]: each channel shifted and scaled to mean 0, std 1 over the set (as PGGAN,
    separately for each set compared, so a distance measures structure rather than brightness or contrast)."""
    mean = patches.mean(dim=(0, 2, 3), keepdim=True)
    std = patches.std(dim=(0, 2, 3), keepdim=True, unbiased=False).clamp_min(1e-8)
    return ((patches - mean) / std).flatten(1)


def sliced_wasserstein(first: torch.Tensor, second: torch.Tensor, directions: int = DIRECTIONS,
                       repeats: int = REPEATS, generator: torch.Generator | None = None) -> float:
    """Sliced Wasserstein distance of two equal-size sets of descriptors [P, D]: per repeat, project both
    onto random unit directions, sort, and average the absolute differences; then average the repeats."""
    if first.shape != second.shape or first.dim() != 2:
        raise ValueError(f"expected two [P, D] sets of the same shape, got {tuple(first.shape)} "
                         f"and {tuple(second.shape)}")
    results = []
    for _ in range(repeats):
        axes = torch.randn(first.shape[1], directions, generator=generator, device=_device_of(generator))
        axes = (axes / axes.norm(dim=0, keepdim=True)).to(first)
        projected_first = torch.sort(first @ axes, dim=0).values
        projected_second = torch.sort(second @ axes, dim=0).values
        results.append((projected_first - projected_second).abs().mean())
    return float(torch.stack(results).mean())


def patch_swd(real: torch.Tensor, fakes: torch.Tensor, generator: torch.Generator | None = None,
              patches_per_image: int = PATCHES_PER_IMAGE) -> SWDResult:
    """SWD (x1000) of generated images [N, C, H', W'] against the one training image [1, C, H, W].

    Per level of the real image's pyramid: `patches_per_image` random patches from each fake (from its
    own pyramid, so fakes of another size are fine) against as many patches, N x that, at random
    positions of the real level (with replacement). The floor compares two more such draws of the real
    level with each other. Deterministic for a given generator state.
    """
    count = fakes.shape[0] * patches_per_image
    real_pyramid = laplacian_pyramid(real)
    _check_sizes(real_pyramid, fakes)
    fake_pyramid = laplacian_pyramid(fakes, len(real_pyramid))
    levels, floors = [], []
    for real_level, fake_level in zip(real_pyramid, fake_pyramid):
        real_set = _real_draw(real_level, count, generator)
        fake_set = _fake_draw(fake_level, patches_per_image, generator)
        levels.append(REPORT_FACTOR * sliced_wasserstein(real_set, fake_set, generator=generator))
        floors.append(REPORT_FACTOR * sliced_wasserstein(*_floor_draws(real_level, count, generator),
                                                         generator=generator))
    return SWDResult(levels, sum(levels) / len(levels), floors, sum(floors) / len(floors),
                     [tuple(level.shape[-2:]) for level in real_pyramid])


def _check_sizes(real_pyramid: list[torch.Tensor], fakes: torch.Tensor) -> None:
    if fakes.dim() != 4 or fakes.shape[1] != real_pyramid[0].shape[1]:
        raise ConfigError(f"the generated images {tuple(fakes.shape)} must be [N, C, H, W] with the training "
                          f"image's {real_pyramid[0].shape[1]} channel(s)")
    if patch_positions(*real_pyramid[0].shape[-2:]) < 2:
        raise ConfigError(f"the training image ({_size_text(real_pyramid[0])}) is too small for 7x7 patch statistics")
    height, width = fakes.shape[-2:]
    for _ in real_pyramid[1:]:
        height, width = _half(height), _half(width)
    if min(height, width) < PATCH_SIZE:
        raise ConfigError(f"the generated images ({width}x{height} px) are too small to compare with the "
                          f"training image's {len(real_pyramid)} pyramid levels")


def _real_draw(level: torch.Tensor, count: int, generator: torch.Generator | None) -> torch.Tensor:
    positions = _randint(patch_positions(*level.shape[-2:]), count, generator)
    return normalize_descriptors(extract_patches(level, torch.zeros_like(positions), positions))


def _fake_draw(level: torch.Tensor, per_image: int, generator: torch.Generator | None) -> torch.Tensor:
    positions = _randint(patch_positions(*level.shape[-2:]), level.shape[0] * per_image, generator)
    return normalize_descriptors(_patches_per_image(level, positions))


def _patches_per_image(level: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Patches [N * k, C, 7, 7] of `level` [N, C, H, W]: k = len(positions) / N of each image, image by image."""
    images = torch.arange(level.shape[0]).repeat_interleave(len(positions) // level.shape[0])
    return extract_patches(level, images, positions)


def _floor_draws(level: torch.Tensor, count: int,
                 generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent sets of `count` patches at random positions of the real level: what a perfect
    model, whose samples have exactly the image's patches, scores in expectation. (Two disjoint halves of
    the positions would each hold half the distinct patches, which inflates the floor on the small levels
    until an exact copy of the image reads below it.)"""
    return _real_draw(level, count, generator), _real_draw(level, count, generator)


def _randint(high: int, count: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(0, high, (count,), generator=generator, device=_device_of(generator))


def _device_of(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _size_text(images: torch.Tensor) -> str:
    return f"{images.shape[-1]}x{images.shape[-2]} px"


# PGGAN's own setting: a data set of real images against as many generated ones.

# Images per pyramid computation in `dataset_swd`: bounds the memory of a large data set.
DATASET_BATCH = 64


def dataset_swd(reals: torch.Tensor, fakes: torch.Tensor, generator: torch.Generator | None = None,
                patches_per_image: int = PATCHES_PER_IMAGE, count: int | None = None,
                device: torch.device | str | None = None, batch_size: int = DATASET_BATCH) -> SWDResult:
    """SWD (x1000) of generated images [M, C, H, W] against a data set's real images [N, C, H, W] (PGGAN).

    The reals are shuffled and split into two disjoint sets of K images (K = `count`, by default
    min(N // 2, M)). K fakes are compared with the first set, and the first set with the second gives the
    floor: what K images of the data set itself score against K others. Both figures compare K images a side
    (PGGAN: 16384), so the ratio reads "x times the floor"; with N reals, at most N // 2 of them enter
    the fakes' figure. Per image and Laplacian level (down to 16 px; a single level below 32 px),
    `patches_per_image` 7x7 patches at random positions. Images are uint8 (0-255) or floats in [-1, 1],
    processed `batch_size` at a time on `device` (default: where they are). Deterministic for a given
    generator state.
    """
    count = _dataset_count(reals, fakes, count)
    height, width = reals.shape[-2:]
    sizes = _level_sizes(height, width, pyramid_levels(height, width))
    order = torch.randperm(reals.shape[0], generator=generator, device=_device_of(generator)).cpu()
    sets = [(reals, order[:count]), (reals, order[count:2 * count]), (fakes, torch.arange(count))]
    positions = [[_randint(patch_positions(*size), count * patches_per_image, generator) for size in sizes]
                 for _ in sets]
    levels, floors = [], []
    # One level at a time, so that only one level's descriptors of the three sets are ever held.
    for index in range(len(sizes)):
        first, second, fake = (_level_descriptors(images, chosen, index, len(sizes), places[index], device,
                                                  batch_size) for (images, chosen), places in zip(sets, positions))
        levels.append(REPORT_FACTOR * sliced_wasserstein(first, fake, generator=generator))
        floors.append(REPORT_FACTOR * sliced_wasserstein(first, second, generator=generator))
    return SWDResult(levels, sum(levels) / len(levels), floors, sum(floors) / len(floors), sizes)


def _dataset_count(reals: torch.Tensor, fakes: torch.Tensor, count: int | None) -> int:
    """K, the images a side; refuses sets of different image sizes, images too small, and too few images."""
    if reals.dim() != 4 or fakes.dim() != 4 or reals.shape[1:] != fakes.shape[1:]:
        raise ConfigError(f"the generated images {tuple(fakes.shape)} and the real ones {tuple(reals.shape)} "
                          f"must both be [N, C, H, W] with the same C, H and W")
    if patch_positions(*reals.shape[-2:]) < 1:
        raise ConfigError(f"images of {_size_text(reals)} are too small for 7x7 patch statistics")
    largest = min(reals.shape[0] // 2, fakes.shape[0])
    count = largest if count is None else count
    if not 1 <= count <= largest:
        raise ConfigError(f"SWD compares K generated with K real images and K real with K other real ones: "
                          f"K = {count} is impossible with {reals.shape[0]} real and {fakes.shape[0]} generated "
                          f"images (K from 1 to {largest})")
    return count


def _level_sizes(height: int, width: int, levels: int) -> list[tuple[int, int]]:
    sizes = [(height, width)]
    for _ in range(levels - 1):
        sizes.append((_half(sizes[-1][0]), _half(sizes[-1][1])))
    return sizes


def _level_descriptors(images: torch.Tensor, chosen: torch.Tensor, level_index: int, levels: int,
                       positions: torch.Tensor, device: torch.device | str | None, batch_size: int) -> torch.Tensor:
    """Normalised descriptors of pyramid level `level_index` of images[chosen], with len(positions) / K patches
    of each image (image by image), computed `batch_size` images at a time."""
    per_image = len(positions) // len(chosen)
    patches = []
    for start in range(0, len(chosen), batch_size):
        batch = images[chosen[start:start + batch_size]]
        level = laplacian_pyramid(from_uint8(batch if device is None else batch.to(device)), levels)[level_index]
        patches.append(_patches_per_image(level, positions[start * per_image:(start + len(batch)) * per_image]))
    return normalize_descriptors(torch.cat(patches))
