"""Image files: the only module that reads or writes pictures (PNG, GIF, MP4) and converts to and from uint8.

Images inside the package are float32 tensors shaped [1, C, H, W] (or [N, C, H, W]) in [-1, 1], with
C = 3 (RGB) or C = 1 (grayscale); uint8 ones (data sets held in memory, images generated for metrics)
are 0-255 and come from `to_uint8`, which rounds exactly as the PNG writer does.

Reading checks the file before decoding it: only regular files are opened (a FIFO would block, a device
could be read forever), and the size its header declares must be within `max_pixels` (a PNG of a few
bytes can declare 60000 x 60000 pixels, which is 43 GB as floats).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import math
import os
import stat
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from singan.errors import ConfigError, InputImageError
from singan.files import atomic_write_bytes, make_folder

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both byte orders
_TIFF_SUFFIXES = (".tif", ".tiff")
# GIF frames last a whole number of hundredths of a second, and viewers slow down shorter ones.
MAX_FPS = 50
_CONVERT_TO_RGB = ("CMYK", "YCbCr", "LAB", "HSV")
# About 100 megapixels: a large camera's photo, 1.2 GB as a float32 colour tensor.
DEFAULT_MAX_PIXELS = 100_000_000
# A drafted JPEG keeps at least twice the sides the caller needs, so that the caller's antialiased bicubic
# resize still does the final shrinking (the decoder's own 1/2, 1/4, 1/8 scaling is a coarser filter).
_DRAFT_MARGIN = 2
_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_TURNING = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_SPECIAL_FILES = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))

Size = tuple[int, int]  # (height, width)


@dataclass(frozen=True)
class LoadedImage:
    """pixels: [1, C, H, W] in [-1, 1], possibly decoded smaller than the file (see `read_image`);
    size: (height, width) of the file's image, as a full decode gives it (EXIF orientation applied)."""

    pixels: torch.Tensor
    size: Size
    alpha: torch.Tensor | None = None  # [1, 1, H, W] in [-1, 1], when asked for and the file has one
    bits: int = 8  # 16 for 16-bit files, so that a tool can write what it was given


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, needed_side: int | None = None,
               needed_short_side: int | None = None, keep_alpha: bool = False) -> LoadedImage:
    """Read PNG/JPEG/BMP/TIFF/WebP/GIF (the first frame); alpha is dropped, or with `keep_alpha` returned
    apart from the colour planes.

    Files whose header declares more than `max_pixels` pixels are refused before anything is decoded.
    `needed_side` (`needed_short_side`): the caller will shrink the image until its longer (shorter) side
    is this long; a JPEG may then be decoded at 1/2, 1/4 or 1/8 of its size, keeping at least twice that.
    Plan sizes from `size`, which is always the file's own.
    """
    path = Path(path)
    header = _checked_header(path, max_pixels)
    with _reading(path):
        pixels, size = _decode(path, header, (needed_side, needed_short_side))
    pixels = _to_channels_last(pixels, path)
    _check_no_zero_side(path, pixels.shape[:2])
    bits = 16 if pixels.dtype == np.uint16 else 8
    alpha = _to_tensor(pixels[:, :, -1:], path) if keep_alpha and pixels.shape[2] in (2, 4) else None
    return LoadedImage(_to_tensor(_drop_alpha(pixels), path), size or tuple(pixels.shape[:2]), alpha, bits)


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, needed_side: int | None = None,
               needed_short_side: int | None = None) -> torch.Tensor:
    """The [1, C, H, W] tensor in [-1, 1] of `read_image`: with a `needed_side` hint it may be smaller than
    the file, so use `read_image` where the file's own size matters."""
    return read_image(path, max_pixels=max_pixels, needed_side=needed_side,
                      needed_short_side=needed_short_side).pixels


def check_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """The checks `read_image` makes before decoding (a regular file, a header we can read, at most
    `max_pixels`), alone: cheap enough to refuse a bad input before any other work."""
    _checked_header(Path(path), max_pixels)


def check_max_pixels(max_pixels: int) -> None:
    """--max-pixels must be a positive whole number."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ConfigError(f"--max-pixels must be a positive whole number, got {max_pixels!r}")


def save_image(path: str | Path, image: torch.Tensor, *, alpha: torch.Tensor | None = None, bits: int = 8) -> None:
    """Write a [1, C, H, W] (or [C, H, W]) tensor in [-1, 1] as a PNG, atomically: 8-bit by default, 16-bit
    with `bits` 16, with an alpha channel ([1, 1, H, W] in [-1, 1]) when one is given. An integer tensor is
    taken as already quantised to `bits` (`quantize`), so that a caller can drop a large float image first."""
    if bits not in (8, 16):
        raise ValueError(f"PNGs here are 8- or 16-bit, not {bits}")
    if bits == 8 and alpha is None:
        atomic_write_bytes(Path(path), encode_png(image))
        return
    atomic_write_bytes(Path(path), _encode_png_planes(image, alpha, bits))


def _levels(image: torch.Tensor, bits: int) -> torch.Tensor:
    """[C, H, W] integers 0 to 2**bits - 1 of an image in [-1, 1], or of one already quantised."""
    planes = (image[0] if image.dim() == 4 else image).cpu()
    return planes if not planes.is_floating_point() else quantize(planes, bits)


def _encode_png_planes(image: torch.Tensor, alpha: torch.Tensor | None, bits: int) -> bytes:
    """Any depth and alpha through pypng (Pillow cannot write 16-bit colour)."""
    import png  # pypng

    has_alpha = alpha is not None
    planes = [_levels(image, bits)] + ([_levels(alpha, bits)] if has_alpha else [])
    levels = torch.cat(planes) if has_alpha else planes[0]
    pixels = levels.permute(1, 2, 0).numpy().astype(np.uint16 if bits == 16 else np.uint8)
    height, width, channels = pixels.shape
    writer = png.Writer(width, height, greyscale=channels - has_alpha == 1, alpha=has_alpha, bitdepth=bits)
    stream = io.BytesIO()
    writer.write(stream, pixels.reshape(height, width * channels))
    return stream.getvalue()


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
    make_folder(path.parent)
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        temporary = Path(folder) / path.name
        iio.imwrite(temporary, pixels, extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                    macro_block_size=1, pixelformat="yuv420p")
        atomic_write_bytes(path, temporary.read_bytes())


def _plane_or_colour(pixels: np.ndarray) -> np.ndarray:
    return pixels[:, :, 0] if pixels.shape[2] == 1 else pixels


# Quantisation runs over pieces of this many values, so that an upscaled image of hundreds of megapixels
# needs no float temporaries of its own size.
QUANTIZE_CHUNK = 1 << 22


def quantize(images: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Images in [-1, 1] (any shape) -> integers 0 to 2**bits - 1 (uint8, or int32 for 16 bits) on the same
    device, rounded to nearest: the one quantisation, shared by the files we write, data sets held in
    memory and images made for metrics."""
    white = 2**bits - 1
    flat = images.detach().reshape(-1)
    result = torch.empty(flat.shape, dtype=torch.uint8 if bits == 8 else torch.int32, device=images.device)
    for start in range(0, flat.numel(), QUANTIZE_CHUNK):
        piece = flat[start:start + QUANTIZE_CHUNK].float().clamp(-1, 1)
        result[start:start + QUANTIZE_CHUNK] = piece.add_(1).div_(2).mul_(white).round_()
    return result.view(images.shape)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (any shape) -> uint8 0-255 (`quantize` at 8 bits)."""
    return quantize(images, 8)


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (0-255) -> float32 in [-1, 1]; float images are taken as already in [-1, 1]."""
    return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()


def _pixels(image: torch.Tensor) -> np.ndarray:
    """[1, C, H, W] or [C, H, W] in [-1, 1] -> H x W x C uint8, as image files hold them."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {image.shape[0]}")
        image = image[0]
    return _levels(image, 8).permute(1, 2, 0).numpy()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_regular_file(path: Path) -> None:
    """Refused by os.stat, before any open: opening a FIFO blocks until someone writes to it, and a device
    such as /dev/zero never ends. stat follows symlinks, so a link to an image is read."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InputImageError(f"{path}: no such file") from None
    except OSError as error:
        raise InputImageError(f"{path}: not a readable image ({error.strerror or error})") from None
    if stat.S_ISDIR(mode):
        raise InputImageError(f"{path}: is a directory, not an image")
    if not stat.S_ISREG(mode):
        kind = next((name for is_kind, name in _SPECIAL_FILES if is_kind(mode)), "a special file")
        raise InputImageError(f"{path}: not a regular file ({kind})")


def _check_no_zero_side(path: Path, size: Size) -> None:
    if size[0] == 0 or size[1] == 0:
        raise InputImageError(f"{path}: the image has a zero dimension ({size[0]}x{size[1]})")


def _check_pixel_count(path: Path, size: Size, max_pixels: int) -> None:
    """The size a header declares, before any decoding: the decoder would allocate all of it."""
    _check_no_zero_side(path, size)
    height, width = size
    if height * width > max_pixels:
        raise InputImageError(f"{path}: {width}x{height} px ({_megapixels(height * width)} megapixels) is above "
                              f"the limit of {_megapixels(max_pixels)} megapixels; raise it with --max-pixels")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.4g}"


@dataclass(frozen=True)
class _Header:
    """What a file's header says, before any pixel is decoded."""

    reader: str  # "pypng" (16-bit colour PNG), "tifffile" or "pillow"
    size: Size  # (height, width) as stored, before any EXIF orientation
    mode: str | None = None  # Pillow's mode and format name
    format: str | None = None


def _checked_header(path: Path, max_pixels: int) -> _Header:
    check_max_pixels(max_pixels)
    _check_regular_file(path)
    with _reading(path):
        header = _read_header(path)
    _check_pixel_count(path, header.size, max_pixels)
    return header


@contextlib.contextmanager
def _reading(path: Path):
    """Whatever a reader raises becomes one InputImageError line about `path`."""
    try:
        with _pillow_limit_off():
            yield
    except InputImageError:
        raise
    except MemoryError:
        raise InputImageError(f"{path}: too large to load into memory") from None
    except Exception as error:  # every reader has its own exception types; all mean "unreadable"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputImageError(f"{path}: not a readable image ({reason})") from None


@contextlib.contextmanager
def _pillow_limit_off():
    """Pillow's own bomb limit (89 megapixels: a warning, then at twice that an error that imageio reports as
    "unknown error initializing plugin pillow") is off while we read: our limit, checked on the header
    before decoding, decides. Restored afterwards, for any other user of Pillow in the process."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _read_header(path: Path) -> _Header:
    with open(path, "rb") as stream:
        head = stream.read(32)
    if head.startswith(_PNG_SIGNATURE) and _png_is_16_bit_colour(head):
        return _Header("pypng", _png_size(head))
    if path.suffix.lower() in _TIFF_SUFFIXES and head.startswith(_TIFF_SIGNATURES):
        return _Header("tifffile", _tiff_size(path))
    try:
        picture = Image.open(path)  # lazy: reads the header, no pixels
    except UnidentifiedImageError:
        raise InputImageError(f"{path}: not a readable image (not a format Pillow knows)") from None
    with picture:
        return _Header("pillow", (picture.height, picture.width), picture.mode, picture.format)


def _decode(path: Path, header: _Header, needed: tuple[int | None, int | None]) -> tuple[np.ndarray, Size | None]:
    """The pixels, and the file's (height, width) where they were decoded smaller (else None)."""
    if header.reader == "pypng":
        return _read_png_16_bit(path), None
    if header.reader == "tifffile":
        return np.asarray(iio.imread(path, index=0)), None
    request = _draft_request(header.size, needed) if header.format == "JPEG" else None
    if request is not None:
        return _decode_drafted(path, request)
    # Print-oriented colour spaces come back as 4 CMYK channels unless converted on reading.
    convert = "RGB" if header.mode in _CONVERT_TO_RGB else None
    # rotate=True honours the EXIF orientation of phone photos; the array is copied to floats at once, so
    # imageio need not make it writeable (a copy of its own).
    return np.asarray(iio.imread(path, index=0, plugin="pillow", rotate=True, mode=convert,
                                 writeable_output=False)), None


def _draft_request(stored: Size, needed: tuple[int | None, int | None]) -> tuple[int, int] | None:
    """The (width, height) a drafted JPEG must keep, or None where drafting would not shrink it by 2 or more.
    Longer and shorter sides do not depend on the EXIF orientation, so the stored size serves."""
    height, width = stored
    needed_side, needed_short_side = needed
    scales = ([needed_side / max(width, height)] if needed_side else []) + \
             ([needed_short_side / min(width, height)] if needed_short_side else [])
    if not scales:
        return None
    scale = max(scales) * _DRAFT_MARGIN
    request = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
    return request if min(width // request[0], height // request[1]) >= 2 else None


def _decode_drafted(path: Path, request: tuple[int, int]) -> tuple[np.ndarray, Size]:
    """A JPEG decoded at a fraction of its size (at least `request`), oriented and converted as imageio
    does for the full decode; with the file's own (height, width)."""
    with Image.open(path) as picture:
        width, height = picture.size
        turned = picture.getexif().get(_EXIF_ORIENTATION) in _ORIENTATIONS_TURNING
        picture.draft(None, request)
        oriented = ImageOps.exif_transpose(picture)
    if oriented.mode in _CONVERT_TO_RGB:
        oriented = oriented.convert("RGB")
    return np.asarray(oriented), ((width, height) if turned else (height, width))


def _png_is_16_bit_colour(head: bytes) -> bool:
    # IHDR is always the first chunk: bit depth at byte 24, colour type at byte 25.
    return len(head) >= 26 and head[12:16] == b"IHDR" and head[24] == 16 and head[25] in (2, 6)


def _png_size(head: bytes) -> Size:
    width, height = struct.unpack(">II", head[16:24])
    return height, width


def _tiff_size(path: Path) -> Size:
    """Series 0's (height, width), which is what imageio's TIFF reader decodes; other layouts (stacks of
    pages, planar channels) are refused here rather than after decoding them."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        shape = tuple(tiff.series[0].shape)
    if len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 2, 3, 4)):
        return shape[0], shape[1]
    raise InputImageError(f"{path}: unsupported image layout {shape} (expected H x W x 1-4)")


def _read_png_16_bit(path: Path) -> np.ndarray:
    import png  # pypng: exact 16-bit colour PNGs, which Pillow truncates to 8 bits

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    # Filled row by row: a list of rows stacked at the end would hold the image twice.
    pixels = np.empty((height, width * info["planes"]), np.uint16)
    for index, row in enumerate(rows):
        pixels[index] = row
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


def _to_tensor(pixels: np.ndarray, path: Path) -> torch.Tensor:
    """H x W x C pixels of any type -> float32 [1, C, H, W] in [-1, 1], made as one float copy and scaled in
    place (an 8000 x 8000 photo is 768 MB of float32, and each intermediate copy was as much again). The
    operations and their order are those of the float arrays before, so the values are the same to the bit."""
    if np.issubdtype(pixels.dtype, np.floating) and not np.isfinite(pixels).all():
        raise InputImageError(f"{path}: the image holds NaN or infinite values")
    if not (pixels.dtype == np.bool_ or np.issubdtype(pixels.dtype, np.floating)
            or np.issubdtype(pixels.dtype, np.integer)):
        raise InputImageError(f"{path}: unsupported pixel type {pixels.dtype}")
    height, width, channels = pixels.shape
    tensor = torch.empty(1, channels, height, width, dtype=torch.float32)
    planes = tensor[0].numpy()
    np.copyto(planes, pixels.transpose(2, 0, 1), casting="unsafe")
    if np.issubdtype(pixels.dtype, np.floating):
        # Float images are [0, 1] by convention; values outside are clipped.
        np.clip(planes, 0.0, 1.0, out=planes)
    elif np.issubdtype(pixels.dtype, np.integer):
        np.maximum(planes, 0, out=planes)
        np.divide(planes, np.float32(_integer_white(pixels)), out=planes)
    return tensor.mul_(2).sub_(1)


def _integer_white(pixels: np.ndarray) -> float:
    if pixels.dtype in (np.uint8, np.uint16):
        return float(np.iinfo(pixels.dtype).max)
    # Pillow hands some 16-bit images over as int32; judge the range by the values.
    peak = int(pixels.max(initial=0))
    return 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else float(np.iinfo(pixels.dtype).max)

