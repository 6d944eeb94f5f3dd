"""Every task command end to end through the CLI, and its bad input as one clear line that writes nothing."""

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from test_cli import TINY_FLAGS, assert_clean_error, invoke
from conftest import picture_at, synthetic_image, write_image

TASK_FOLDERS = ("paint", "harmonize", "edit", "animate", "retarget", "sr", "samples")


@pytest.fixture
def pictures(run_copy):
    painting = picture_at(run_copy, "painting.png", seed=11)
    naive = picture_at(run_copy, "naive.png", seed=12, size=(48, 64))
    mask = np.zeros((48, 64), np.uint8)
    mask[10:26, 20:40] = 255
    write_image(naive.with_name("naive_mask.png"), mask)
    return {"painting": painting, "naive": naive, "mask": naive.with_name("naive_mask.png")}


def written(run_dir):
    return sorted(str(path.relative_to(run_dir)) for folder in TASK_FOLDERS for path in (run_dir / folder).rglob("*")
                  if path.is_file())


def test_paint_harmonize_and_edit(run_copy, pictures):
    result = invoke("paint", run_copy, pictures["painting"], "--start-scale", "1-2")
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.stdout
    result = invoke("harmonize", run_copy, pictures["naive"], "--mask", pictures["mask"], "--start-scale", 2)
    assert result.exit_code == 0, result.output
    assert "resized to the run's 32x24 px" in result.stderr, "the user is told about the resizing"
    result = invoke("edit", run_copy, pictures["naive"], "--start-scale", 1, "--start-scale", 3, "--dilate", 3,
                    "--quiet")
    assert result.exit_code == 0 and result.output == ""
    assert written(run_copy) == [
        "edit/naive_mask_used.png", "edit/naive_start1.png", "edit/naive_start3.png",
        "harmonize/naive_mask_used.png", "harmonize/naive_start2.png",
        "paint/painting_start1.png", "paint/painting_start2.png"]


def test_paint_with_quantisation(run_copy, pictures):
    result = invoke("paint", run_copy, pictures["painting"], "--start-scale", 2, "--quantize", "--colours", 4)
    assert result.exit_code == 0, result.output
    assert "fine-tuning scale 2" in result.stdout
    assert written(run_copy) == ["paint/painting_start2_quantized.png", "paint/quantized_scale02_4colours.safetensors"]


def test_animate_and_retarget(run_copy, tmp_path):
    result = invoke("animate", run_copy, "--frames", 6, "--fps", 5, "--start-scale", 1, "--no-mp4")
    assert result.exit_code == 0, result.output
    assert "--noise-padding" in result.stderr
    assert len(iio.imread(run_copy / "animate" / "start1_beta0.90.gif", index=None)) == 6
    result = invoke("retarget", run_copy, "--size", "20x50", "--num", 2, "--start-scale", 2)
    assert result.exit_code == 0, result.output
    assert iio.imread(run_copy / "retarget" / "20x50_start2" / "seed0001.png").shape == (20, 50, 3)


def test_sr_on_an_image_and_on_a_run(tmp_path):
    image = write_image(tmp_path / "low.png", synthetic_image(24, 32))
    result = invoke("sr", image, "--factor", 2, "--out", tmp_path / "runs", *TINY_FLAGS, "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "low_sr"
    assert iio.imread(run_dir / "sr" / "low_x2.png").shape == (48, 64, 3)
    assert iio.imread(run_dir / "sr" / "low_x2_bicubic.png").shape == (48, 64, 3)
    assert json.loads((run_dir / "run.json").read_text())["config"]["reconstruction_weight"] == 100
    result = invoke("sr", run_dir, "--factor", 4, "--output", tmp_path / "x4", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "x4" / "low_x4.png").shape == (96, 128, 3)
    result = invoke("sr", run_dir, "--factor", 4, "--output", tmp_path / "x4", "--back-projection", 2)
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "x4" / "low_x4_backprojected.png").shape == (96, 128, 3)
    result = invoke("sr", run_dir, "--factor", 4, "--output", tmp_path / "x4", "--back-projection", 11)
    assert result.exit_code != 0 and "--back-projection must be a whole number" in result.output
    assert "Traceback" not in result.output


def test_train_with_noise_padding(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path, *TINY_FLAGS, "--noise-padding", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "tiny" / "run.json").read_text())["config"]["noise_padding"] is True
    result = invoke("animate", tmp_path / "tiny", "--frames", 3, "--no-mp4")
    assert result.exit_code == 0 and "--noise-padding" not in result.stderr


def test_help_of_every_task():
    for command in ("paint", "harmonize", "edit", "sr", "animate", "retarget"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout


# Bad input: a clear one-line error, a non-zero exit, and nothing written.

@pytest.mark.parametrize("command", [
    ["paint", "{run}", "{painting}", "--start-scale", "0"],
    ["paint", "{run}", "{painting}", "--start-scale", "1-4"],
    ["harmonize", "{run}", "{naive}", "--start-scale", "7"],
    ["edit", "{run}", "{naive}", "--start-scale", "-1"],
])
def test_start_scale_outside_the_pyramid_names_the_valid_range(run_copy, pictures, command):
    arguments = [part.format(run=run_copy, **pictures) for part in command]
    result = invoke(*arguments)
    if "-1" in arguments:
        assert_clean_error(result, "--start-scale '-1': expected a scale or a range")
    else:
        assert_clean_error(result, "outside the pyramid: use 1 to 3")
    assert written(run_copy) == []


@pytest.mark.parametrize("command, fragment", [
    (["animate", "{run}", "--start-scale", "4"], "use 0 to 3"),
    (["retarget", "{run}", "--size", "20x"], "--size '20x'"),
    (["retarget", "{run}", "--size", "0x50"], "--size"),
    (["paint", "{run}", "{notes}"], "not a readable image"),
    (["paint", "{run}", "{missing}"], "no such file"),
    (["harmonize", "{run}", "{notes}", "--mask", "{mask}"], "not a readable image"),
    (["harmonize", "{run}", "{painting}"], "no mask: give --mask"),
    (["harmonize", "{run}", "{naive}", "--mask", "{black}"], "is empty"),
    (["edit", "{run}", "{naive}", "--mask", "{white}"], "is all white"),
    (["edit", "{run}", "{naive}", "--mask", "{missing}"], "no such file"),
    (["edit", "{run}", "{naive}"], "covers the whole picture"),
    (["edit", "{run}", "{naive}", "--dilate", "-3"], "--dilate"),
    (["paint", "{run}", "{painting}", "--quantize", "--colours", "0"], "--colours"),
    (["sr", "{run}", "--factor", "0.5"], "--factor must be from 1 to 16"),
    (["sr", "{notes}", "--factor", "2"], "not a readable image"),
])
def test_bad_task_input(run_copy, pictures, command, fragment):
    folder = run_copy.parent / "pictures"
    notes = folder / "notes.png"
    notes.write_text("not an image")
    black = write_image(folder / "black.png", np.zeros((24, 32), np.uint8))
    white = write_image(folder / "white.png", np.full((24, 32), 255, np.uint8))
    names = dict(pictures, run=run_copy, notes=notes, black=black, white=white, missing=folder / "missing.png")
    result = invoke(*[part.format(**names) for part in command])
    assert_clean_error(result, fragment)
    assert written(run_copy) == []
    assert not (run_copy.parent / "notes_sr").exists() and not Path("Output/notes_sr").exists()


@pytest.mark.parametrize("command", ["paint", "harmonize", "edit", "animate", "retarget", "sr"])
def test_a_run_that_does_not_exist(tmp_path, command):
    picture = write_image(tmp_path / "picture.png", synthetic_image())
    arguments = {"paint": [picture], "harmonize": [picture, "--mask", picture], "edit": [picture, "--mask", picture],
                 "animate": [], "retarget": ["--size", "10x10"], "sr": []}[command]
    result = invoke(command, tmp_path / "no-run", *arguments)
    if command == "sr":  # sr takes an image or a run: a missing path is a missing image
        assert_clean_error(result, "no such file")
    else:
        assert_clean_error(result, "no such run directory")
    assert list(tmp_path.iterdir()) == [picture]


def test_an_incomplete_run_says_how_to_finish_it(run_copy, pictures):
    record = json.loads((run_copy / "run.json").read_text())
    record["scales"] = record["scales"][:2]
    (run_copy / "run.json").write_text(json.dumps(record))
    assert_clean_error(invoke("paint", run_copy, pictures["painting"]), "incomplete (2 of 4", "--resume")
    assert_clean_error(invoke("sr", run_copy), "incomplete (2 of 4", "--resume")
    assert written(run_copy) == []


def test_sr_takes_a_run_by_name_under_the_run_root(run_copy, monkeypatch):
    monkeypatch.chdir(run_copy.parent.parent)
    (run_copy.parent.parent / "Output").mkdir()
    run_copy.rename(run_copy.parent.parent / "Output" / "tiny")
    result = invoke("sr", "tiny", "--factor", 2, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert (run_copy.parent.parent / "Output" / "tiny" / "sr" / "tiny_x2.png").is_file()
