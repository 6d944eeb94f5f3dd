import struct
import zlib

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from singan.errors import InputImageError
from singan.images import load_image, save_image

from conftest import synthetic_image


def write_png_16(path, pixels: np.ndarray) -> None:
    """A 16-bit PNG written by hand: Pillow cannot write 16-bit colour PNGs."""
    height, width, channels = pixels.shape
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\x00" + pixels[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


def test_rgb_png_maps_to_minus_one_one(tmp_path):
    pixels = synthetic_image(20, 30)
    pixels[0, 0] = (0, 128, 255)
    iio.imwrite(tmp_path / "a.png", pixels)
    image = load_image(tmp_path / "a.png")
    assert image.shape == (1, 3, 20, 30) and image.dtype == torch.float32
    assert image[0, :, 0, 0].tolist() == pytest.approx([-1.0, 128 / 127.5 - 1, 1.0], abs=1e-6)


@pytest.mark.parametrize("extension", [".png", ".jpg", ".bmp", ".tif", ".webp"])
def test_common_formats_load(tmp_path, extension):
    path = tmp_path / f"a{extension}"
    iio.imwrite(path, synthetic_image(20, 30))
    image = load_image(path)
    assert image.shape == (1, 3, 20, 30)
    assert -1 <= image.min() and image.max() <= 1


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), (200, 30, 30), np.uint8)).convert("CMYK").save(tmp_path / "c.jpg")
    image = load_image(tmp_path / "c.jpg")
    assert image.shape == (1, 3, 8, 8)
    assert ((image[0, :, 4, 4] + 1) * 127.5).tolist() == pytest.approx([200, 30, 30], abs=3)


def test_palette_png(tmp_path):
    from PIL import Image

    Image.fromarray(synthetic_image(20, 30)).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (1, 3, 20, 30)


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    picture = Image.fromarray(synthetic_image(20, 30))
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    picture.save(tmp_path / "phone.jpg", exif=exif)
    assert load_image(tmp_path / "phone.jpg").shape == (1, 3, 30, 20)


def test_rgba_drops_alpha(tmp_path):
    pixels = np.dstack([synthetic_image(20, 30), np.full((20, 30), 7, np.uint8)])
    iio.imwrite(tmp_path / "a.png", pixels)
    image = load_image(tmp_path / "a.png")
    assert image.shape == (1, 3, 20, 30)
    assert torch.allclose(image, load_image_from_array(tmp_path, pixels[:, :, :3]))


def load_image_from_array(tmp_path, pixels):
    iio.imwrite(tmp_path / "b.png", pixels)
    return load_image(tmp_path / "b.png")


def test_grayscale_stays_one_channel_and_saves_as_grayscale(tmp_path):
    iio.imwrite(tmp_path / "g.png", synthetic_image(20, 30, channels=1))
    image = load_image(tmp_path / "g.png")
    assert image.shape == (1, 1, 20, 30)
    save_image(tmp_path / "out.png", image)
    saved = iio.imread(tmp_path / "out.png")
    assert saved.shape == (20, 30) and saved.dtype == np.uint8
    assert np.array_equal(saved, synthetic_image(20, 30, channels=1))


def test_gray_with_alpha_is_grayscale(tmp_path):
    pixels = np.dstack([synthetic_image(20, 30, channels=1), np.full((20, 30), 200, np.uint8)])
    iio.imwrite(tmp_path / "la.png", pixels)
    assert load_image(tmp_path / "la.png").shape == (1, 1, 20, 30)


def test_sixteen_bit_grayscale_png_scales_exactly(tmp_path):
    pixels = np.array([[0, 1000, 32768, 65535]], np.uint16)
    iio.imwrite(tmp_path / "g16.png", pixels)
    image = load_image(tmp_path / "g16.png")
    expected = torch.tensor([0, 1000, 32768, 65535], dtype=torch.float64) / 65535 * 2 - 1
    assert torch.allclose(image[0, 0, 0].double(), expected, atol=1e-6)


def test_sixteen_bit_colour_png_scales_exactly(tmp_path):
    pixels = np.zeros((2, 3, 3), np.uint16)
    pixels[0, 0] = (0, 1000, 65535)
    pixels[1, 2] = (300, 40000, 12345)
    write_png_16(tmp_path / "c16.png", pixels)
    image = load_image(tmp_path / "c16.png")
    assert image.shape == (1, 3, 2, 3)
    expected = torch.from_numpy(pixels.astype(np.float64) / 65535 * 2 - 1).permute(2, 0, 1)
    assert torch.allclose(image[0].double(), expected, atol=1e-6)


def test_sixteen_bit_rgba_png_drops_alpha(tmp_path):
    pixels = np.full((2, 2, 4), 65535, np.uint16)
    pixels[..., 0] = 0
    write_png_16(tmp_path / "c16a.png", pixels)
    image = load_image(tmp_path / "c16a.png")
    assert image.shape == (1, 3, 2, 2)
    assert image[0, 0].eq(-1).all() and image[0, 1:].eq(1).all()


def test_float_and_sixteen_bit_tiff(tmp_path):
    floats = np.linspace(0, 1, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    iio.imwrite(tmp_path / "f.tif", floats)
    assert torch.allclose(load_image(tmp_path / "f.tif")[0], torch.from_numpy(floats * 2 - 1).permute(2, 0, 1))
    words = (floats * 65535).astype(np.uint16)
    iio.imwrite(tmp_path / "w.tif", words)
    expected = torch.from_numpy(words / 65535 * 2 - 1).permute(2, 0, 1).float()
    assert torch.allclose(load_image(tmp_path / "w.tif")[0], expected, atol=1e-6)


def test_float_values_outside_the_unit_range_are_clipped(tmp_path):
    iio.imwrite(tmp_path / "f.tif", np.array([[-0.5, 0.5, 2.0]], np.float32))
    assert load_image(tmp_path / "f.tif")[0, 0, 0].tolist() == pytest.approx([-1.0, 0.0, 1.0])


def test_save_and_load_round_trip_at_eight_bits(tmp_path):
    image = torch.rand(1, 3, 16, 24) * 2 - 1
    save_image(tmp_path / "r.png", image)
    assert iio.imread(tmp_path / "r.png").dtype == np.uint8
    assert (load_image(tmp_path / "r.png") - image).abs().max() <= 1 / 255 + 1e-6


def test_save_clips_out_of_range_values(tmp_path):
    save_image(tmp_path / "c.png", torch.tensor([-3.0, 0.0, 3.0]).view(1, 1, 1, 3))
    assert iio.imread(tmp_path / "c.png").tolist() == [[0, 128, 255]]


def test_missing_file(tmp_path):
    with pytest.raises(InputImageError, match="no such file"):
        load_image(tmp_path / "nope.png")


def test_directory(tmp_path):
    with pytest.raises(InputImageError, match="directory"):
        load_image(tmp_path)


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("this is not a picture\n")
    with pytest.raises(InputImageError, match="not a readable image"):
        load_image(tmp_path / "notes.png")


@pytest.mark.parametrize("extension", [".png", ".jpg"])
def test_truncated_image(tmp_path, extension):
    path = tmp_path / f"t{extension}"
    iio.imwrite(path, synthetic_image(64, 64))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(InputImageError, match="not a readable image"):
        load_image(path)


def test_corrupt_image_data(tmp_path):
    path = tmp_path / "c.png"
    iio.imwrite(path, synthetic_image(64, 64))
    data = bytearray(path.read_bytes())
    data[60:90] = b"\xff" * 30  # inside the compressed pixel data
    path.write_bytes(bytes(data))
    with pytest.raises(InputImageError):
        load_image(path)


def test_zero_dimension_image(tmp_path, monkeypatch):
    path = iio.imwrite(tmp_path / "z.png", synthetic_image()) or tmp_path / "z.png"
    monkeypatch.setattr(iio, "imread", lambda *args, **kwargs: np.zeros((0, 5, 3), np.uint8))
    with pytest.raises(InputImageError, match=r"zero dimension \(0x5\)"):
        load_image(path)


def test_png_declaring_a_zero_width(tmp_path):
    write_png_16(tmp_path / "flat.png", np.zeros((4, 0, 3), np.uint16))
    with pytest.raises(InputImageError):
        load_image(tmp_path / "flat.png")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputImageError, match="not a readable image"):
        load_image(tmp_path / "empty.png")
