"""`singan gan ...` from the command line: train, generate, interpolate, mix, eval, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shapes_folder
from singan.cli import app

runner = CliRunner()
SMALL = ["--resolution", "8", "--batch", "4", "--kimg", "0.016", "--z-dim", "16", "--w-dim", "16",
         "--channel-base", "64", "--channel-max", "16", "--mapping-layers", "2", "--seed", "2", "--log-kimg", "0.008",
         "--device", "cpu", "--quiet"]


def invoke(*arguments: str):
    return runner.invoke(app, [str(argument) for argument in arguments])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gan_cli")
    folder = shapes_folder(root / "shapes")
    result = invoke("gan", "train", folder, "--arch", "stylegan", "--phase-kimg", "0.004", *SMALL,
                    "--out", root / "runs", "--name", "faces")
    assert result.exit_code == 0, result.output
    return root / "runs" / "faces", folder


def test_train_writes_a_complete_run(trained):
    directory, _ = trained
    record = json.loads((directory / "run.json").read_text())
    assert record["complete"] and record["config"]["arch"] == "stylegan"
    assert record["stage"] == {"resolution": 8, "alpha": 1.0}


def test_generate_writes_one_png_per_seed_and_a_grid(trained):
    directory, _ = trained
    result = invoke("gan", "generate", directory, "--seeds", "0-3", "--trunc", "0.7", "--grid", "--device", "cpu")
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in (directory / "generated").iterdir())
    assert names == ["grid.png", "seed0000.png", "seed0001.png", "seed0002.png", "seed0003.png"]
    first = (directory / "generated" / "seed0002.png").read_bytes()
    invoke("gan", "generate", directory, "--seeds", "2", "--trunc", "0.7", "--device", "cpu", "--quiet")
    assert (directory / "generated" / "seed0002.png").read_bytes() == first


def test_interpolate_writes_a_gif(trained):
    directory, _ = trained
    result = invoke("gan", "interpolate", directory, "--seeds", "3,7,11", "--frames", "6", "--no-mp4",
                    "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert [path.name for path in (directory / "interpolate").iterdir()] == ["interpolate.gif"]


def test_mix_writes_the_grid(trained):
    directory, _ = trained
    result = invoke("gan", "mix", directory, "--rows", "1,2", "--cols", "4,5,6", "--layers", "0-1",
                    "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((directory / "mix" / "mix.json").read_text())["layers"] == [0, 1]


def test_eval_writes_swd_and_its_floor(trained):
    directory, folder = trained
    result = invoke("gan", "eval", directory, folder, "--num", "8", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "SWD average" in result.output
    evaluation = json.loads((directory / "eval.json").read_text())
    assert evaluation["swd"]["floor"] > 0 and evaluation["fid"] is None


@pytest.mark.slow  # FID's matrix square root of 2048 x 2048 covariances
def test_eval_computes_fid_with_local_inception_weights(trained, inception_file):
    directory, folder = trained
    result = invoke("gan", "eval", directory, folder, "--num", "4", "--inception-weights", inception_file,
                    "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    evaluation = json.loads((directory / "eval.json").read_text())
    assert evaluation["fid_computed"] and evaluation["fid"] > 0


@pytest.mark.parametrize("arguments, message", [
    (["--arch", "biggan"], "--arch"),
    (["--resolution", "24"], "--resolution"),
])
def test_bad_training_options_are_one_line_errors(tmp_path, arguments, message):
    folder = shapes_folder(tmp_path / "shapes", count=2)
    result = invoke("gan", "train", folder, *arguments, "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_empty_folder_and_missing_run_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("gan", "train", tmp_path / "empty", "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 1 and "empty" in result.output
    result = invoke("gan", "generate", tmp_path / "nothing")
    assert result.exit_code == 1 and "no such run" in result.output


def test_unreadable_files_are_skipped_or_fatal_with_strict(tmp_path):
    folder = shapes_folder(tmp_path / "shapes", count=4)
    (folder / "broken.png").write_bytes(b"not an image")
    result = invoke("gan", "train", folder, "--arch", "pggan", *SMALL, "--kimg", "0.004", "--out", tmp_path / "runs",
                    "--name", "skip")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "runs" / "skip" / "run.json").read_text())["data"]["skipped"] == 1
    result = invoke("gan", "train", folder, "--arch", "pggan", *SMALL, "--out", tmp_path / "runs", "--name", "strict",
                    "--strict")
    assert result.exit_code == 1 and "broken.png" in result.output


def test_mixing_a_pggan_run_is_refused(tmp_path):
    folder = shapes_folder(tmp_path / "shapes", count=4)
    invoke("gan", "train", folder, "--arch", "pggan", *SMALL, "--kimg", "0.004", "--out", tmp_path / "runs",
           "--name", "progressive")
    result = invoke("gan", "mix", tmp_path / "runs" / "progressive", "--device", "cpu")
    assert result.exit_code == 1 and "style" in result.output
