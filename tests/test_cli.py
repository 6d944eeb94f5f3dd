"""Every command through Typer's CliRunner, and every bad input as one clear line with a non-zero exit."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from singan.cli import app, parse_seeds
from singan.config.singan import preset
from singan.runs import open_run
from singan.training.singan import ScaleTrainer

from conftest import synthetic_image, write_image

# The default (fast) preset with the paper's scale factor, so the tiny image gets 4 scales.
TINY_FLAGS = ["--min-size", "14", "--max-size", "32", "--scale-factor", "0.75", "--iterations", "4", "--seed", "1",
              "--device", "cpu"]


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def assert_clean_error(result, *fragments):
    """Non-zero exit, a single 'error:' line on stderr naming the problem, no traceback."""
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def cli_trained_run(tmp_path_factory):
    """One run trained through the CLI for the module's tests (they get copies: `cli_run`)."""
    root = tmp_path_factory.mktemp("cli")
    image = write_image(root / "input" / "tiny.png", synthetic_image())
    result = invoke("train", image, "--out", root / "runs", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    return root / "runs" / "tiny"


@pytest.fixture
def cli_run(cli_trained_run, tmp_path, image_file):
    """A copy of the CLI-trained run in tmp_path/runs/tiny, beside `image_file` (the same picture)."""
    return Path(shutil.copytree(cli_trained_run, tmp_path / "runs" / "tiny"))


def test_train_writes_a_run_and_reports_progress(cli_run):
    record = json.loads((cli_run / "run.json").read_text())
    assert record["complete"] and record["seed"] == 1 and record["config"]["iterations"] == 4
    # No --preset: the fast preset's settings, with the flags given on top.
    fast = preset("fast")
    assert record["config"]["crop_size"] == fast.crop_size and record["config"]["critic_steps"] == fast.critic_steps
    assert record["config"]["scale_factor"] == 0.75


def test_train_output(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path, "--name", "named", *TINY_FLAGS)
    assert result.exit_code == 0
    assert "Training 4 scales" in result.stdout and "Saved to" in result.stdout
    assert (tmp_path / "named" / "run.json").exists()


def test_train_can_print_a_time_estimate(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path, "--estimate", *TINY_FLAGS)
    assert result.exit_code == 0
    assert "Estimated training time: about" in result.stdout


def test_train_quiet_prints_nothing(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path, "--quiet", *TINY_FLAGS)
    assert result.exit_code == 0 and result.output == ""


def test_presets_and_overrides(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path, "--preset", "quick", "--quiet", *TINY_FLAGS,
                    "--gradient-penalty-weight", "0.5", "--lr-decay-at", "0.5")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "tiny" / "run.json").read_text())["config"]
    assert config["gradient_penalty_weight"] == 0.5 and config["lr_decay_at"] == 0.5
    assert config["iterations"] == 4 and config["max_size"] == 32


def test_sample_num_and_seeds(cli_run, tmp_path):
    result = invoke("sample", cli_run, "--num", 3)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (cli_run / "samples" / "start0").iterdir()) == [
        "seed0000.png", "seed0001.png", "seed0002.png"]
    result = invoke("sample", cli_run, "--seeds", "0-1,12", "--out", tmp_path / "picked")
    assert result.exit_code == 0
    assert sorted(path.name for path in (tmp_path / "picked").iterdir()) == [
        "seed0000.png", "seed0001.png", "seed0012.png"]
    assert (tmp_path / "picked" / "seed0001.png").read_bytes() == (
        cli_run / "samples" / "start0" / "seed0001.png").read_bytes()


def test_sample_size_and_start_scale(cli_run, tmp_path):
    result = invoke("sample", cli_run, "--seeds", "3", "--start-scale", 2, "--scale-h", 1.5, "--scale-v", 0.75,
                    "--out", tmp_path / "wide", "--batch", 1)
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "wide" / "seed0003.png").shape == (18, 48, 3)


def test_sample_by_name_under_the_run_root(cli_run, monkeypatch):
    monkeypatch.chdir(cli_run.parent.parent)
    (cli_run.parent.parent / "Output").mkdir()
    (cli_run.parent.parent / "runs").rename(cli_run.parent.parent / "Output" / "runs")
    result = invoke("sample", "runs/tiny", "--num", 1, "--quiet")
    assert result.exit_code == 0, result.output


def test_info(cli_run):
    result = invoke("info", cli_run)
    assert result.exit_code == 0
    assert "complete" in result.stdout and "noise amp" in result.stdout and "14 x 19" in result.stdout
    summary = json.loads(invoke("info", cli_run, "--json").stdout)
    assert summary["num_scales"] == 4 and summary["complete"] and len(summary["scales"]) == 4
    assert summary["scales"][0]["noise_amp"] == 1.0


def test_info_on_an_incomplete_run(cli_run):
    record = json.loads((cli_run / "run.json").read_text())
    record["scales"] = record["scales"][:1]
    (cli_run / "run.json").write_text(json.dumps(record))
    result = invoke("info", cli_run)
    assert result.exit_code == 0 and "incomplete: 1 of 4" in result.stdout


@pytest.mark.slow  # starts Python twice
def test_help_and_module_entry_point():
    assert invoke("--help").exit_code == 0
    for command in ("train", "sample", "info"):
        assert invoke(command, "--help").exit_code == 0
    process = subprocess.run([sys.executable, "-m", "singan", "--help"], capture_output=True, text=True)
    assert process.returncode == 0 and "train" in process.stdout


# Bad input: each a clear one-line error, a non-zero exit, nothing already saved is lost.

def test_error_messages_keep_brackets_in_file_names(tmp_path):
    result = invoke("train", tmp_path / "[draft] photo.png", "--out", tmp_path)
    assert_clean_error(result, "[draft] photo.png: no such file")


def test_missing_image(tmp_path):
    assert_clean_error(invoke("train", tmp_path / "nope.png", "--out", tmp_path), "no such file")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello")
    assert_clean_error(invoke("train", path, "--out", tmp_path / "runs"), "not a readable image")
    assert not (tmp_path / "runs").exists()


def test_truncated_image(tmp_path):
    path = write_image(tmp_path / "cut.png", synthetic_image(64, 64))
    path.write_bytes(path.read_bytes()[:200])
    assert_clean_error(invoke("train", path, "--out", tmp_path), "not a readable image")


def test_image_smaller_than_min_size(tmp_path):
    path = write_image(tmp_path / "small.png", synthetic_image(20, 30))
    assert_clean_error(invoke("train", path, "--out", tmp_path), "too small", "--min-size 25")


def test_image_with_a_zero_dimension(tmp_path):
    from test_images import write_png_16

    path = tmp_path / "flat.png"
    write_png_16(path, np.zeros((0, 40, 3), np.uint16))
    assert_clean_error(invoke("train", path, "--out", tmp_path), str(path))


def test_huge_image_is_shrunk_and_the_user_told(tmp_path):
    path = write_image(tmp_path / "big.png", synthetic_image(300, 400))
    result = invoke("train", path, "--out", tmp_path, *TINY_FLAGS)
    assert result.exit_code == 0
    assert "shrunk to 32x24 px" in result.stdout


@pytest.mark.parametrize("flags, fragment", [
    (["--iterations", "-5"], "--iterations must be a positive integer"),
    (["--scale-factor", "1.2"], "--scale-factor must be strictly between 0 and 1"),
    (["--scale-factor", "0"], "--scale-factor"),
    (["--min-size", "4"], "--min-size must be at least 11"),
    (["--preset", "slow"], "--preset 'slow'"),
    (["--device", "tpu"], "--device 'tpu'"),
])
def test_invalid_option_values(tmp_path, image_file, flags, fragment):
    assert_clean_error(invoke("train", image_file, "--out", tmp_path / "runs", *flags), fragment)
    assert not (tmp_path / "runs").exists()


def test_cuda_that_is_not_there(tmp_path, image_file, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert_clean_error(invoke("train", image_file, "--out", tmp_path, "--device", "cuda"), "CUDA is not available")


def test_existing_run_is_kept_without_force(cli_run, image_file):
    before = {path: path.read_bytes() for path in cli_run.rglob("*") if path.is_file()}
    result = invoke("train", image_file, "--out", cli_run.parent, *TINY_FLAGS)
    assert_clean_error(result, "already holds a run", "--force")
    assert {path: path.read_bytes() for path in cli_run.rglob("*") if path.is_file()} == before


def test_resume_with_new_settings_is_refused(cli_run, image_file):
    assert_clean_error(invoke("train", image_file, "--out", cli_run.parent, "--resume", "--iterations", "9"),
                       "--resume", "--iterations")


def test_resume_of_a_missing_run_starts_it_with_the_settings_given(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path, "--resume", "--device", "cpu", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / Path(image_file).stem / "run.json").read_text())
    assert record["complete"] and record["config"]["iterations"] == 4


def test_resume_through_the_cli(cli_run, image_file):
    record = json.loads((cli_run / "run.json").read_text())
    record["scales"] = record["scales"][:2]
    (cli_run / "run.json").write_text(json.dumps(record))
    result = invoke("train", image_file, "--out", cli_run.parent, "--resume", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "from scale 2" in result.stdout
    assert json.loads((cli_run / "run.json").read_text())["complete"]


@pytest.mark.parametrize("breakage, fragment", [
    ("missing", "no such run directory"),
    ("incomplete", "incomplete (2 of 4 scales trained)"),
    ("newer", "newer singan"),
    ("mismatch", "do not match run.json"),
    ("corrupt", "corrupt weights file"),
])
def test_broken_runs(cli_run, breakage, fragment):
    record_path = cli_run / "run.json"
    record = json.loads(record_path.read_text())
    if breakage == "missing":
        cli_run = cli_run.parent / "nothing-here"
    elif breakage == "incomplete":
        record["scales"] = record["scales"][:2]
    elif breakage == "newer":
        record["format_version"] = 99
    elif breakage == "mismatch":
        (cli_run / "weights" / "scale_02.safetensors").write_bytes(
            (cli_run / "weights" / "scale_00.safetensors").read_bytes())
    elif breakage == "corrupt":
        (cli_run / "weights" / "scale_01.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{bad")
    if cli_run.exists():
        record_path.write_text(json.dumps(record))
    assert_clean_error(invoke("sample", cli_run, "--num", 1), fragment)
    if cli_run.exists():
        assert not (cli_run / "samples").exists(), "nothing is written for a broken run"


@pytest.mark.parametrize("flags, fragment", [
    (["--seeds", "3-1"], "reversed"),
    (["--seeds", "a,b"], "expected non-negative seeds"),
    (["--num", "0"], "--num must be a positive integer"),
    (["--num", "2", "--seeds", "1"], "not both"),
    (["--start-scale", "9"], "use 0 to 3"),
    (["--scale-h", "0"], "--scale-h"),
    (["--batch", "0"], "--batch"),
    (["--seeds", "99999999999999999999"], "below 2**63"),
])
def test_bad_sample_options(cli_run, flags, fragment):
    assert_clean_error(invoke("sample", cli_run, *flags), fragment)
    assert not (cli_run / "samples").exists()


def test_non_finite_loss_stops_and_keeps_the_finished_scales(tmp_path, image_file, monkeypatch):
    original = ScaleTrainer.iteration

    def poisoned(self):
        losses = original(self)
        if self.scale == 2:
            losses["reconstruction"] = losses["reconstruction"] * float("inf")
        return losses

    monkeypatch.setattr(ScaleTrainer, "iteration", poisoned)
    result = invoke("train", image_file, "--out", tmp_path, *TINY_FLAGS)
    assert_clean_error(result, "non-finite loss at scale 2, iteration 1", "finished scales are saved")
    record = open_run(tmp_path / "tiny", "singan").record
    assert len(record.scales) == 2
    assert (tmp_path / "tiny" / "weights" / "scale_01.safetensors").exists()


def test_interrupt_says_how_to_resume(tmp_path, image_file, monkeypatch):
    original = ScaleTrainer.iteration

    def interrupted(self):
        if self.scale == 1:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(ScaleTrainer, "iteration", interrupted)
    result = invoke("train", image_file, "--out", tmp_path, *TINY_FLAGS)
    assert result.exit_code == 130
    assert "1 of 4 scales are saved" in result.stderr and "--resume" in result.stderr
    assert "Traceback" not in result.output


def test_parse_seeds():
    assert parse_seeds("0-3,12, 2") == [0, 1, 2, 3, 12]
    assert parse_seeds("7") == [7]
