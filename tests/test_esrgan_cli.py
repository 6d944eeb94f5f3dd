"""`singan esrgan info` and `upscale` on synthetic weight files of each layout: what they detect, what they
write, and the bad inputs as one line."""

from __future__ import annotations

import json
import os
import pickle

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from conftest import synthetic_image, write_image
from singan.api import esrgan as esrgan_api
from singan.cli import app
from singan.models.esrgan import RRDBNet, SRVGGNetCompact
from singan.models.esrgan_layouts import from_ours


def invoke(*arguments):
    return CliRunner().invoke(app, [str(argument) for argument in arguments])


def one_line(result, *fragments):
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return RRDBNet(4, features=8, blocks=1, growth=4)


@pytest.fixture
def weights(tmp_path, network):
    path = tmp_path / "tiny_x4plus.pth"
    torch.save({"params_ema": network.state_dict(), "params": network.state_dict()}, path)
    return path


@pytest.mark.parametrize("layout", ["old-esrgan", "esrgan", "basicsr"])
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_info_detects_every_layout_and_format(tmp_path, network, layout, suffix):
    path = tmp_path / f"weights{suffix}"
    state = {key: value.contiguous() for key, value in from_ours(network.state_dict(), layout).items()}
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    result = invoke("esrgan", "info", path)
    assert result.exit_code == 0, result.output
    assert f"layout: {layout}" in result.stdout and "scale: 4" in result.stdout and "parameters: 14,083" in result.stdout
    loaded = esrgan_api.load_network(path, "cpu")
    assert all(torch.equal(loaded.network.state_dict()[key], value) for key, value in network.state_dict().items())


def test_upscale_writes_each_image_and_skips_existing_ones(tmp_path, weights):
    images = tmp_path / "in"
    write_image(images / "a.png", synthetic_image(12, 16))
    write_image(images / "sub" / "b.png", synthetic_image(10, 8, channels=1))
    out = tmp_path / "out"
    result = invoke("esrgan", "upscale", images, "--weights", weights, "--out", out, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert iio.imread(out / "a_x4.png").shape == (48, 64, 3)
    assert iio.imread(out / "b_x4.png").shape == (40, 32)  # grayscale stays grayscale
    before = (out / "a_x4.png").stat().st_mtime_ns
    result = invoke("esrgan", "upscale", images / "a.png", "--weights", weights, "--out", out, "--device", "cpu")
    assert result.exit_code == 0 and "skipped" in result.output
    assert (out / "a_x4.png").stat().st_mtime_ns == before
    result = invoke("esrgan", "upscale", images / "a.png", "--weights", weights, "--out", out, "--outscale", "2.5",
                    "--tile", "8", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert iio.imread(out / "a_x2.5.png").shape == (30, 40, 3)


def test_tiled_and_untiled_files_agree(tmp_path, weights):
    write_image(tmp_path / "a.png", synthetic_image(24, 32))
    for tile, folder in ((None, "whole"), (8, "tiled")):
        flags = [] if tile is None else ["--tile", tile, "--tile-pad", 4]
        assert invoke("esrgan", "upscale", tmp_path / "a.png", "--weights", weights, "--out", tmp_path / folder,
                      "--device", "cpu", "--quiet", *flags).exit_code == 0
    whole = iio.imread(tmp_path / "whole" / "a_x4.png").astype(np.float64)
    tiled = iio.imread(tmp_path / "tiled" / "a_x4.png").astype(np.float64)
    assert np.abs(whole - tiled).mean() < 1


def test_srvgg_weights_upscale(tmp_path):
    path = tmp_path / "general.pth"
    torch.save({"params": SRVGGNetCompact(4, features=8, convs=2).state_dict()}, path)
    write_image(tmp_path / "a.png", synthetic_image(8, 8))
    result = invoke("esrgan", "upscale", tmp_path / "a.png", "--weights", path, "--out", tmp_path / "o", "--quiet",
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "o" / "a_x4.png").shape == (32, 32, 3)


class Marker:
    def __reduce__(self):
        return (open, ("/tmp/singan-esrgan-pickle-ran", "w"))


@pytest.mark.parametrize("make, fragments", [
    (lambda path: None, ("no such weights file",)),
    (lambda path: path.write_text("not weights"), ("unreadable",)),
    (lambda path: torch.save({"encoder.weight": torch.zeros(2)}, path), ("found keys encoder.weight", "expected")),
    (lambda path: path.write_bytes(pickle.dumps({"params": Marker()})), ("unreadable",)),
    (lambda path: torch.save([1, 2], path), ("not a state dict",)),
])
def test_bad_weights_files_are_one_line_and_run_no_code(tmp_path, make, fragments):
    path = tmp_path / "weights.pth"
    make(path)
    write_image(tmp_path / "a.png", synthetic_image(8, 8))
    one_line(invoke("esrgan", "upscale", tmp_path / "a.png", "--weights", path, "--out", tmp_path / "o"), *fragments)
    assert not (tmp_path / "o").exists()
    assert not os.path.exists("/tmp/singan-esrgan-pickle-ran")


@pytest.mark.parametrize("flags, fragments", [
    (["--outscale", "0"], ("--outscale",)),
    (["--fp16"], ("--fp16 needs a CUDA device",)),
    (["--tile", "0"], ("tile must be",)),
])
def test_bad_options_are_one_line(tmp_path, weights, flags, fragments):
    write_image(tmp_path / "a.png", synthetic_image(8, 8))
    one_line(invoke("esrgan", "upscale", tmp_path / "a.png", "--weights", weights, "--out", tmp_path / "o",
                    "--device", "cpu", *flags), *fragments)


def test_an_unreadable_image_is_one_line(tmp_path, weights):
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    one_line(invoke("esrgan", "upscale", tmp_path / "a.png", "--weights", weights, "--out", tmp_path / "o",
                    "--device", "cpu"), "a.png", "not a readable image")


def test_the_summary_is_plain_json(weights):
    summary = esrgan_api.describe_network(esrgan_api.load_network(weights, "cpu"))
    assert json.loads(json.dumps(summary))["architecture"] == "rrdb"


def test_rgba_and_16_bit_inputs_keep_their_alpha_and_depth(tmp_path, weights):
    import png

    pixels = np.zeros((8, 10, 4), np.uint16)
    pixels[..., :3] = (np.random.default_rng(1).random((8, 10, 3)) * 65535).astype(np.uint16)
    pixels[2:6, 3:8, 3] = 65535  # an opaque rectangle on a transparent ground
    with open(tmp_path / "sprite.png", "wb") as stream:
        png.Writer(10, 8, greyscale=False, alpha=True, bitdepth=16).write(stream, pixels.reshape(8, 40))
    write_image(tmp_path / "plain.png", np.dstack([synthetic_image(8, 10), np.full((8, 10), 200, np.uint8)]))
    result = invoke("esrgan", "upscale", tmp_path / "sprite.png", tmp_path / "plain.png", "--weights", weights,
                    "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    width, height, rows, info = png.Reader(filename=str(tmp_path / "o" / "sprite_x4.png")).asDirect()
    alpha = np.vstack([np.asarray(row, np.uint16) for row in rows]).reshape(height, width, 4)[..., 3]
    assert (width, height, info["bitdepth"], info["alpha"]) == (40, 32, 16, True)
    assert alpha[14, 22] == 65535 and alpha[0, 0] == 0  # inside the rectangle, and far outside it
    plain = iio.imread(tmp_path / "o" / "plain_x4.png")
    assert plain.shape == (32, 40, 4) and plain.dtype == np.uint8 and (plain[..., 3] == 200).all()


def test_interpolation_writes_a_run_that_upscale_and_info_take(tmp_path, network):
    torch.manual_seed(1)
    other = RRDBNet(4, features=8, blocks=1, growth=4)
    psnr, gan = tmp_path / "psnr.pth", tmp_path / "gan.safetensors"
    torch.save(from_ours(network.state_dict(), "old-esrgan"), psnr)
    save_file({key: value.contiguous() for key, value in other.state_dict().items()}, str(gan))
    result = invoke("esrgan", "interpolate", psnr, gan, "--alpha", "0.25", "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "psnr-gan-alpha0.25"
    blended = esrgan_api.load_network(run, "cpu").network.state_dict()
    for key, value in network.state_dict().items():
        expected = 0.75 * value + 0.25 * other.state_dict()[key]
        assert torch.allclose(blended[key], expected, atol=1e-6), key
    write_image(tmp_path / "a.png", synthetic_image(8, 8))
    assert invoke("esrgan", "upscale", tmp_path / "a.png", "--weights", run, "--out", tmp_path / "o", "--quiet",
                  "--device", "cpu").exit_code == 0
    info = invoke("info", run, "--json")
    assert info.exit_code == 0 and json.loads(info.stdout)["source"]["alpha"] == 0.25
    one_line(invoke("esrgan", "interpolate", psnr, gan, "--out", tmp_path / "runs", "--name", run.name,
                    "--alpha", "0.25"), "already holds a run")


def test_interpolating_different_networks_or_a_bad_alpha_is_one_line(tmp_path, network):
    small = tmp_path / "small.pth"
    torch.save(RRDBNet(4, features=8, blocks=2, growth=4).state_dict(), small)
    big = tmp_path / "big.pth"
    torch.save(network.state_dict(), big)
    one_line(invoke("esrgan", "interpolate", small, big, "--out", tmp_path / "runs"), "different networks")
    one_line(invoke("esrgan", "interpolate", big, big, "--alpha", "1.5", "--out", tmp_path / "runs"), "--alpha")
    assert not (tmp_path / "runs").exists()
