"""Hostile image files: headers declaring huge sizes, special files, and decodes larger than needed.

Every hostile file here is a few bytes to a few KB on disk: what is tested is that it is refused from its
header, before the decoder allocates what the header declares.
"""

import io
import json
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from singan import api
from singan.data.imagefolder import load_image_folder
from singan.errors import ConfigError, InputImageError
from singan.images import DEFAULT_MAX_PIXELS, load_image, read_image
from singan.pyramid import build_pyramid, plan_for

from conftest import TINY, synthetic_image, write_image
from test_cli import assert_clean_error, invoke

# Well above the 100-megapixel default; each file stays tiny because its pixel data is cut short.
HUGE = 60000


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(path: Path, width: int, height: int, bit_depth: int = 8) -> Path:
    """An RGB PNG whose IHDR declares width x height, with a few rows' worth of zlib stream."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
                     + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + png_chunk(b"IEND", b""))
    return path


def tiff_declaring(path: Path, width: int, height: int, rows_per_strip: int = 1000) -> Path:
    """A zlib-compressed grayscale TIFF declaring width x height, every strip pointing at one short block."""
    block = zlib.compress(b"\x00" * 100)
    strips = -(-height // rows_per_strip)
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
               (273, 4, strips, "offsets"), (277, 3, 1, 1), (278, 4, 1, rows_per_strip), (279, 4, strips, "counts")]
    offsets_at = 8 + 2 + 12 * len(entries) + 4
    counts_at = offsets_at + 4 * strips
    data_at = counts_at + 4 * strips
    directory = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = {"offsets": offsets_at, "counts": counts_at}.get(value, value)
        packed_value = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        directory += struct.pack("<HHI", tag, kind, count) + packed_value
    directory += struct.pack("<I", 0)
    tables = struct.pack(f"<{strips}I", *[data_at] * strips) + struct.pack(f"<{strips}I", *[len(block)] * strips)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + directory + tables + block)
    return path


def small_file_bytes(image_format: str, **options) -> bytearray:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, image_format, **options)
    return bytearray(buffer.getvalue())


def jpeg_declaring(path: Path, width: int, height: int) -> Path:
    data = small_file_bytes("JPEG")
    frame = data.index(b"\xff\xc0")  # baseline start-of-frame: length, precision, then height and width
    data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def bmp_declaring(path: Path, width: int, height: int) -> Path:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    path.write_bytes(struct.pack("<2sIHHI", b"BM", 54 + 64, 0, 0, 54) + info + b"\x00" * 64)
    return path


def gif_declaring(path: Path, width: int, height: int) -> Path:
    data = small_file_bytes("GIF")
    data[6:10] = struct.pack("<HH", width, height)  # the logical screen
    path.write_bytes(bytes(data))
    return path


def webp_declaring(path: Path, width: int, height: int) -> Path:
    """A lossless WebP whose VP8L header (14 bits each for width - 1 and height - 1) declares the size."""
    payload = b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + b"\x00" * 17  # RIFF: even length
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(payload)) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


# name -> (writer, declared width and height)
HOSTILE = {
    "bomb.png": (png_declaring, HUGE, HUGE),
    "bomb16.png": (lambda path, width, height: png_declaring(path, width, height, bit_depth=16), 30000, 30000),
    "bomb.tif": (tiff_declaring, 30000, 30000),
    "bomb.jpg": (jpeg_declaring, HUGE, HUGE),
    "bomb.bmp": (bmp_declaring, HUGE, HUGE),
    "bomb.gif": (gif_declaring, HUGE, HUGE),
    "bomb.webp": (webp_declaring, 16000, 16000),  # WebP's largest canvas is 16384 px a side
}


def write_hostile(folder: Path, name: str) -> Path:
    writer, width, height = HOSTILE[name]
    return writer(folder / name, width, height)


def limit_message(width: int, height: int) -> str:
    return (f"{width}x{height} px ({width * height / 1e6:.4g} megapixels) is above the limit of 100 megapixels; "
            f"raise it with --max-pixels")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_header_declaring_too_many_pixels_is_refused_before_decoding(tmp_path, name):
    path = write_hostile(tmp_path, name)
    _, width, height = HOSTILE[name]
    assert path.stat().st_size < 50_000
    started = time.perf_counter()
    # Any warning (Pillow's DecompressionBombWarning) becomes an error, and so a different message.
    with warnings.catch_warnings(), pytest.raises(InputImageError) as raised:
        warnings.simplefilter("error")
        load_image(path)
    assert time.perf_counter() - started < 2
    assert str(raised.value) == f"{path}: {limit_message(width, height)}"


CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from singan.images import load_image
    from singan.errors import InputImageError

    def peak_mb():
        try:
            with open("/proc/self/status") as status:
                return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux

    try:
        # Resets the peak to the present size: importing torch peaks higher than it stays.
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass  # then the growth is measured from the import's peak: a weaker bound, never a false failure
    baseline, results = peak_mb(), {}
    for path in sys.argv[1:]:
        started = time.perf_counter()
        try:
            load_image(path)
            message = "loaded"
        except InputImageError as error:
            message = str(error)
        results[path] = [time.perf_counter() - started, message]
    print(json.dumps({"growth_mb": peak_mb() - baseline, "results": results}))
""")

@pytest.mark.skipif(sys.platform != "linux", reason="the peak memory is read from /proc")
def test_refusing_every_hostile_file_takes_little_time_and_memory(tmp_path):
    paths = [str(write_hostile(tmp_path, name)) for name in sorted(HOSTILE)]
    child = subprocess.run([sys.executable, "-c", CHILD, *paths], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
    report = json.loads(child.stdout.strip().splitlines()[-1])
    for path, (seconds, message) in report["results"].items():
        assert "is above the limit of 100 megapixels" in message, (path, message)
        assert seconds < 2, (path, seconds)
    # What the headers declare would take gigabytes (30000 x 30000 x 3 x 2 bytes for the 16-bit PNG alone).
    assert report["growth_mb"] < 200, report


@pytest.mark.skipif(sys.platform != "linux", reason="the peak memory is read from /proc")
def test_a_large_image_is_decoded_without_needless_float_copies(tmp_path):
    side = 3000
    rows, columns = np.mgrid[0:side, 0:side]
    pixels = np.stack([rows % 256, columns % 256, (rows + columns) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "large.png", compress_level=1)
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "large.png")], capture_output=True,
                           text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
    report = json.loads(child.stdout.strip().splitlines()[-1])
    float_tensor_mb = side * side * 3 * 4 / 2**20
    # The tensor itself and the uint8 pixels it was made from; the reader used to hold four float copies.
    assert report["growth_mb"] < 1.6 * float_tensor_mb, report


def test_max_pixels_lowers_and_raises_the_limit(tmp_path):
    path = write_image(tmp_path / "photo.png", synthetic_image(200, 200))
    with pytest.raises(InputImageError) as raised:
        load_image(path, max_pixels=10_000)
    assert str(raised.value) == (f"{path}: 200x200 px (0.04 megapixels) is above the limit of 0.01 megapixels; "
                                 f"raise it with --max-pixels")
    assert load_image(path).shape == (1, 3, 200, 200)
    assert load_image(path, max_pixels=200 * 200).shape == (1, 3, 200, 200)  # the limit itself is allowed
    assert DEFAULT_MAX_PIXELS == 100_000_000


@pytest.mark.parametrize("value", [0, -5, True, 2.5])
def test_max_pixels_must_be_a_positive_whole_number(tmp_path, value):
    path = write_image(tmp_path / "photo.png", synthetic_image())
    with pytest.raises(ConfigError, match="--max-pixels must be a positive whole number"):
        load_image(path, max_pixels=value)


def load_within(path: Path, seconds: float = 5.0):
    """load_image(path) in a thread: the error it raised, failing the test if it blocks (as opening a FIFO
    does); a blocked reader is released by opening the FIFO's other end."""
    outcome = {}

    def read() -> None:
        try:
            load_image(path)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"load_image({path}) was still blocked after {seconds} s")
    return outcome.get("error")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    error = load_within(tmp_path / "pipe.png")
    assert isinstance(error, InputImageError)
    assert str(error) == f"{tmp_path / 'pipe.png'}: not a regular file (a named pipe)"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_character_device_is_refused():
    error = load_within(Path("/dev/zero"))
    assert str(error) == "/dev/zero: not a regular file (a character device)"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.png"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert str(load_within(path)) == f"{path}: not a regular file (a socket)"
    finally:
        server.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_symlink_to_an_image_is_read_and_one_to_a_fifo_is_refused(tmp_path):
    image = write_image(tmp_path / "real.png", synthetic_image())
    (tmp_path / "link.png").symlink_to(image)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "pipe.png").symlink_to(tmp_path / "pipe")
    assert torch.equal(load_image(tmp_path / "link.png"), load_image(image))
    assert "not a regular file (a named pipe)" in str(load_within(tmp_path / "pipe.png"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_the_image_folder_skips_images_over_the_limit_and_special_files(tmp_path):
    write_image(tmp_path / "a_small.png", synthetic_image(16, 16))
    write_image(tmp_path / "b_large.png", synthetic_image(200, 200))
    os.mkfifo(tmp_path / "c_pipe.png")
    data = load_image_folder(tmp_path, 8, max_pixels=10_000)
    assert [path.name for path in data.files] == ["a_small.png"]
    assert [(path.name, reason) for path, reason in data.skipped] == [
        ("b_large.png", "200x200 px (0.04 megapixels) is above the limit of 0.01 megapixels; "
                        "raise it with --max-pixels"),
        ("c_pipe.png", "not a regular file (a named pipe)")]
    assert len(load_image_folder(tmp_path, 8)) == 2
    with pytest.raises(InputImageError, match="b_large.png: 200x200 px"):
        load_image_folder(tmp_path, 8, strict=True, max_pixels=10_000)


def photo_jpeg(path: Path, height: int = 384, width: int = 512, orientation: int | None = None,
               mode: str = "RGB") -> Path:
    """A smooth, textured picture saved as a JPEG (optionally with an EXIF orientation, or as CMYK)."""
    rows, columns = np.mgrid[0:height, 0:width]
    planes = [np.sin(rows / 23) * np.cos(columns / 31), np.sin(columns / 13), np.cos((rows + columns) / 41)]
    noise = np.random.default_rng(0).normal(0, 10, (height, width, 3))
    pixels = ((np.stack(planes, -1) + 1) * 100 + noise).clip(0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels).convert(mode)
    exif = picture.getexif()
    if orientation is not None:
        exif[0x0112] = orientation
    picture.save(path, quality=92, exif=exif)
    return path


@pytest.mark.parametrize("orientation, mode", [(None, "RGB"), (6, "RGB"), (None, "CMYK")])
def test_a_drafted_jpeg_plans_the_same_pyramid_as_the_full_decode(tmp_path, orientation, mode):
    path = photo_jpeg(tmp_path / "photo.jpg", orientation=orientation, mode=mode)
    full = load_image(path)
    drafted = read_image(path, needed_side=TINY.max_size)
    # Decoded at 1/8 (64 px for the needed 32), the file's own size kept for planning.
    assert drafted.pixels.shape[-1] * drafted.pixels.shape[-2] * 16 <= full.shape[-1] * full.shape[-2]
    assert min(drafted.pixels.shape[-2:]) >= 2 * min(plan_for(*full.shape[-2:], TINY).finest)
    assert drafted.size == tuple(full.shape[-2:])
    assert drafted.pixels.shape[:2] == full.shape[:2]
    plan = plan_for(*drafted.size, TINY)
    assert plan == plan_for(*full.shape[-2:], TINY)
    for from_draft, from_full in zip(build_pyramid(drafted.pixels, plan), build_pyramid(full, plan)):
        assert from_draft.shape == from_full.shape
        assert (from_draft - from_full).abs().mean() < 0.02  # about a quarter of one 8-bit step, in [-1, 1]


def test_a_jpeg_not_much_larger_than_needed_is_decoded_in_full(tmp_path):
    path = photo_jpeg(tmp_path / "photo.jpg", 96, 128)
    loaded = read_image(path, needed_side=40)  # 1/2 would leave 64 px, less than twice 40
    assert torch.equal(loaded.pixels, load_image(path)) and loaded.size == (96, 128)
    assert read_image(path, needed_side=32).pixels.shape[-2:] == (48, 64)
    assert read_image(path, needed_short_side=24).pixels.shape[-2:] == (48, 64)
    assert read_image(path, needed_short_side=25).pixels.shape[-2:] == (96, 128)


def test_training_decodes_a_large_jpeg_small_and_plans_from_its_true_size(tmp_path, monkeypatch):
    path = photo_jpeg(tmp_path / "photo.jpg")
    decoded = []

    def recording(*args, **kwargs):
        loaded = read_image(*args, **kwargs)
        decoded.append(tuple(loaded.pixels.shape[-2:]))
        return loaded

    monkeypatch.setattr("singan.api.singan.read_image", recording)
    directory = api.train_run(path, TINY.replace(iterations=2), out=tmp_path / "runs", device="cpu")
    record = api.open_run(directory, "singan").record
    assert decoded == [(48, 64)]
    assert record.input.size == [384, 512]
    assert record.planned_sizes == list(plan_for(384, 512, TINY).sizes)


def test_the_cli_refuses_a_bomb_in_one_line_and_writes_nothing(tmp_path):
    bomb = png_declaring(tmp_path / "bomb.png", HUGE, HUGE)
    result = invoke("train", bomb, "--out", tmp_path / "runs", "--device", "cpu")
    assert result.exit_code == 1
    assert_clean_error(result, f"{bomb}: {limit_message(HUGE, HUGE)}")
    assert not (tmp_path / "runs").exists()


def test_the_cli_max_pixels_option(tmp_path, trained_run):
    photo = write_image(tmp_path / "photo.png", synthetic_image(200, 200))
    result = invoke("train", photo, "--out", tmp_path / "runs", "--max-pixels", 10_000)
    assert result.exit_code == 1
    assert_clean_error(result, "200x200 px (0.04 megapixels) is above the limit of 0.01 megapixels")
    assert_clean_error(invoke("train", photo, "--out", tmp_path / "runs", "--max-pixels", 0),
                       "--max-pixels must be a positive whole number, got 0")
    assert_clean_error(invoke("sr", photo, "--out", tmp_path / "runs", "--max-pixels", 10_000, "--device", "cpu"),
                       "above the limit of 0.01 megapixels")
    assert not (tmp_path / "runs").exists()
    for command in (["paint", trained_run, photo], ["harmonize", trained_run, photo, "--mask", photo],
                    ["edit", trained_run, photo, "--mask", photo]):
        result = invoke(*command, "--out", tmp_path / "out", "--max-pixels", 10_000, "--device", "cpu")
        assert_clean_error(result, "above the limit of 0.01 megapixels")
    assert not (tmp_path / "out").exists()


def test_the_gan_cli_max_pixels_option(tmp_path):
    write_image(tmp_path / "data" / "photo.png", synthetic_image(200, 200))
    result = invoke("gan", "train", tmp_path / "data", "--strict", "--max-pixels", 10_000, "--out", tmp_path / "runs",
                    "--device", "cpu")
    assert_clean_error(result, "photo.png: 200x200 px (0.04 megapixels) is above the limit of 0.01 megapixels")
    result = invoke("gan", "train", tmp_path / "data", "--max-pixels", 10_000, "--out", tmp_path / "runs",
                    "--device", "cpu")
    assert_clean_error(result, "none of the 1 image files could be read", "above the limit")
