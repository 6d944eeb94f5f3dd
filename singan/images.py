"""Image files: the only module that reads or writes pictures (PNG, GIF, MP4) and converts to and from uint8.

Images inside the package are float32 tensors shaped [1, C, H, W] (or [N, C, H, W]) in [-1, 1], with
C = 3 (RGB) or C = 1 (grayscale); uint8 ones (data sets held in memory, images generated for metrics)
are 0-255 and come from `to_uint8`, which rounds exactly as the PNG writer does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from singan.errors import ConfigError, InputImageError
from singan.files import atomic_write_bytes

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# GIF frames last a whole number of hundredths of a second, and viewers slow down shorter ones.
MAX_FPS = 50
_CONVERT_TO_RGB = ("CMYK", "YCbCr", "LAB", "HSV")


def load_image(path: str | Path) -> torch.Tensor:
    """Read PNG/JPEG/BMP/TIFF/WebP as a [1, C, H, W] tensor in [-1, 1]; alpha is dropped."""
    path = Path(path)
    if not path.exists():
        raise InputImageError(f"{path}: no such file")
    if path.is_dir():
        raise InputImageError(f"{path}: is a directory, not an image")
    pixels = _read_pixels(path)
    pixels = _drop_alpha(_to_channels_last(pixels, path))
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InputImageError(f"{path}: the image has a zero dimension ({pixels.shape[0]}x{pixels.shape[1]})")
    unit = _to_unit_range(pixels, path)
    tensor = torch.from_numpy(np.ascontiguousarray(unit.transpose(2, 0, 1)))[None]
    return tensor * 2 - 1


def save_image(path: str | Path, image: torch.Tensor) -> None:
    """Write a [1, C, H, W] (or [C, H, W]) tensor in [-1, 1] as an 8-bit PNG, atomically."""
    atomic_write_bytes(Path(path), encode_png(image))


def encode_png(image: torch.Tensor) -> bytes:
    return iio.imwrite("<bytes>", _plane_or_colour(_pixels(image)), extension=".png")


def seed_file_name(seed: int) -> str:
    """The file of the image a seed names: seed0007.png."""
    return f"seed{seed:04d}.png"


def save_seed_images(folder: str | Path, images) -> list[Path]:
    """Write each (seed, [1, C, H, W] image) of `images` as <folder>/seed0007.png; returns the paths."""
    written = []
    for seed, image in images:
        written.append(Path(folder) / seed_file_name(seed))
        save_image(written[-1], image)
    return written


def check_video(fps: float, mp4: bool | None) -> None:
    """Refuse a frame rate GIFs cannot show, and an MP4 asked for without its encoder (before any work)."""
    if not 0 < fps <= MAX_FPS:
        raise ConfigError(f"--fps must be above 0 and at most {MAX_FPS} (got {fps})")
    if mp4 and not video_available():
        raise ConfigError('--mp4 needs the optional imageio-ffmpeg package: pip install "singan[video]"')


def save_video(stem: str | Path, frames: list[torch.Tensor], fps: float, mp4: bool | None = None) -> list[Path]:
    """<stem>.gif, and <stem>.mp4 unless `mp4` is False or imageio-ffmpeg is missing (None: when installed)."""
    check_video(fps, mp4)
    written = [Path(f"{stem}.gif")]
    save_gif(written[0], frames, fps)
    if mp4 is not False and video_available():
        written.append(Path(f"{stem}.mp4"))
        save_mp4(written[1], frames, fps)
    return written


def save_gif(path: str | Path, frames: list[torch.Tensor], fps: float) -> None:
    """An endlessly repeating GIF of [1, C, H, W] frames in [-1, 1], atomically."""
    pixels = np.stack([_plane_or_colour(_pixels(frame)) for frame in frames])
    # GIF stores frame delays in hundredths of a second.
    data = iio.imwrite("<bytes>", pixels, extension=".gif", duration=round(1000 / fps / 10) * 10, loop=0)
    atomic_write_bytes(Path(path), data)


def image_grid(images: torch.Tensor, columns: int | None = None, gutter: int = 2) -> torch.Tensor:
    """Images [N, C, H, W] tiled row by row into one [1, C, H', W'] picture with white gutters; `columns`
    defaults to a near-square layout."""
    count, channels, height, width = images.shape
    columns = columns or max(1, round(count**0.5 + 0.49))
    rows = -(-count // columns)
    grid = images.new_ones(1, channels, rows * (height + gutter) - gutter, columns * (width + gutter) - gutter)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + gutter), (index % columns) * (width + gutter)
        grid[0, :, top:top + height, left:left + width] = image
    return grid


def video_available() -> bool:
    """MP4 needs the optional imageio-ffmpeg package (pip install "singan[video]")."""
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def save_mp4(path: str | Path, frames: list[torch.Tensor], fps: float) -> None:
    """An H.264 MP4 (yuv420p, which needs even sides: odd ones are extended by a repeated edge)."""
    pixels = np.stack([_pixels(frame) for frame in frames])
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    pad_rows, pad_columns = pixels.shape[1] % 2, pixels.shape[2] % 2
    pixels = np.pad(pixels, ((0, 0), (0, pad_rows), (0, pad_columns), (0, 0)), mode="edge")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        temporary = Path(folder) / path.name
        iio.imwrite(temporary, pixels, extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                    macro_block_size=1, pixelformat="yuv420p")
        atomic_write_bytes(path, temporary.read_bytes())


def _plane_or_colour(pixels: np.ndarray) -> np.ndarray:
    return pixels[:, :, 0] if pixels.shape[2] == 1 else pixels


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (any shape) -> uint8 0-255 on the same device, rounded to nearest: the one
    quantisation, shared by the files we write, data sets held in memory and images made for metrics."""
    return ((images.detach().float().clamp(-1, 1) + 1) / 2 * 255).round().to(torch.uint8)


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (0-255) -> float32 in [-1, 1]; float images are taken as already in [-1, 1]."""
    return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()


def _pixels(image: torch.Tensor) -> np.ndarray:
    """[1, C, H, W] or [C, H, W] in [-1, 1] -> H x W x C uint8, as image files hold them."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {image.shape[0]}")
        image = image[0]
    return to_uint8(image.cpu()).permute(1, 2, 0).numpy()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_pixels(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as stream:
            head = stream.read(32)
        if head.startswith(_PNG_SIGNATURE) and _png_is_16_bit_colour(head):
            return _read_png_16_bit(path)
        if path.suffix.lower() in (".tif", ".tiff"):
            return np.asarray(iio.imread(path, index=0))
        # Print-oriented colour spaces come back as 4 CMYK channels unless converted on reading.
        mode = iio.immeta(path, index=0, plugin="pillow").get("mode")
        convert = "RGB" if mode in _CONVERT_TO_RGB else None
        # rotate=True honours the EXIF orientation of phone photos.
        return np.asarray(iio.imread(path, index=0, plugin="pillow", rotate=True, mode=convert))
    except InputImageError:
        raise
    except MemoryError:
        raise InputImageError(f"{path}: too large to load into memory") from None
    except Exception as error:  # every reader has its own exception types; all mean "unreadable"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputImageError(f"{path}: not a readable image ({reason})") from None


def _png_is_16_bit_colour(head: bytes) -> bool:
    # IHDR is always the first chunk: bit depth at byte 24, colour type at byte 25.
    return len(head) >= 26 and head[12:16] == b"IHDR" and head[24] == 16 and head[25] in (2, 6)


def _read_png_16_bit(path: Path) -> np.ndarray:
    import png  # pypng: exact 16-bit colour PNGs, which Pillow truncates to 8 bits

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    pixels = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    return pixels.reshape(height, width, info["planes"])


def _to_channels_last(pixels: np.ndarray, path: Path) -> np.ndarray:
    if pixels.ndim == 2:
        return pixels[:, :, None]
    if pixels.ndim == 3 and pixels.shape[2] in (1, 2, 3, 4):
        return pixels
    raise InputImageError(f"{path}: unsupported image layout {tuple(pixels.shape)} (expected H x W x 1-4)")


def _drop_alpha(pixels: np.ndarray) -> np.ndarray:
    channels = pixels.shape[2]
    if channels == 2:  # gray + alpha
        return pixels[:, :, :1]
    if channels == 4:  # RGBA
        return pixels[:, :, :3]
    return pixels


def _to_unit_range(pixels: np.ndarray, path: Path) -> np.ndarray:
    """Any integer, boolean or float image -> float32 in [0, 1]."""
    if pixels.dtype == np.bool_:
        return pixels.astype(np.float32)
    if np.issubdtype(pixels.dtype, np.floating):
        if not np.isfinite(pixels).all():
            raise InputImageError(f"{path}: the image holds NaN or infinite values")
        # Float images are [0, 1] by convention; values outside are clipped.
        return np.clip(pixels.astype(np.float32), 0.0, 1.0)
    if np.issubdtype(pixels.dtype, np.integer):
        return np.clip(pixels, 0, None).astype(np.float32) / np.float32(_integer_white(pixels))
    raise InputImageError(f"{path}: unsupported pixel type {pixels.dtype}")


def _integer_white(pixels: np.ndarray) -> float:
    if pixels.dtype in (np.uint8, np.uint16):
        return float(np.iinfo(pixels.dtype).max)
    # Pillow hands some 16-bit images over as int32; judge the range by the values.
    peak = int(pixels.max(initial=0))
    return 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else float(np.iinfo(pixels.dtype).max)

