"""Runs written by release 0.1.0 (run format 1, tests/fixtures/runs_v1, made by make_runs_v1.sh) keep working:
they load, `info` describes them, and `sample` / `gan generate` reproduce 0.1.0's images on a CPU: bit for bit on
the CPU kind they were made on, and to within one 8-bit level in a few values on another."""

import json
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from singan.runs import gan, open_run

from conftest import shapes_folder
from test_cli import assert_clean_error, invoke

FIXTURES = Path(__file__).parent / "fixtures" / "runs_v1"
SINGAN_RUNS = ["singan", "singan_padded"]
GAN_RUNS = ["pggan", "stylegan", "stylegan2"]


@pytest.fixture
def old_run(request, tmp_path) -> Path:
    """A copy of a 0.1.0 run (tasks write into their run; the fixtures stay as committed)."""
    return Path(shutil.copytree(FIXTURES / "runs" / request.param, tmp_path / request.param))


def expected_images(name: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((FIXTURES / "expected" / name).glob("*.png"))}


def written_images(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def assert_reproduced(command: list[str], run: Path, folder: Path) -> None:
    """`singan COMMAND RUN --seeds 0-2` writes the images 0.1.0 wrote.

    A seed promises the same result on one device and build: another CPU's convolution kernels (AVX-512
    against AVX2) round differently, which moves a value across an 8-bit step now and then (2 of 6912 on
    an AMD EPYC for the fixtures made on an Intel Xeon). Anything a format change would break moves far
    more values by far more.
    """
    result = invoke(*command, run, "--seeds", "0-2", "--out", folder, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    written, expected = written_images(folder), expected_images(run.name)
    assert sorted(written) == sorted(expected)
    for name, data in expected.items():
        if written[name] == data:
            continue
        ours, theirs = (iio.imread(image).astype(np.int16) for image in (written[name], data))
        assert ours.shape == theirs.shape, name
        difference = np.abs(ours - theirs)
        assert difference.max() <= 1 and np.count_nonzero(difference) <= difference.size // 100, name


@pytest.mark.parametrize("old_run", SINGAN_RUNS, indirect=True)
def test_singan_runs_of_0_1_sample_the_same_images(old_run, tmp_path):
    assert_reproduced(["sample"], old_run, tmp_path / "samples")


@pytest.mark.parametrize("old_run", SINGAN_RUNS, indirect=True)
def test_info_describes_singan_runs_of_0_1_as_it_did(old_run):
    result = invoke("info", old_run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = json.loads((FIXTURES / "expected" / old_run.name / "info.json").read_text())
    assert summary.pop("directory") == str(old_run)
    expected.pop("directory")
    assert summary == expected and summary["versions"]["format"] == 1


@pytest.mark.parametrize("old_run", GAN_RUNS, indirect=True)
def test_gan_runs_of_0_1_generate_the_same_images(old_run, tmp_path):
    assert_reproduced(["gan", "generate"], old_run, tmp_path / "generated")


@pytest.mark.parametrize("old_run", GAN_RUNS, indirect=True)
def test_info_describes_gan_runs_of_0_1(old_run):
    result = invoke("info", old_run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    record = json.loads((old_run / "run.json").read_text())
    assert summary["arch"] == old_run.name and summary["versions"]["format"] == 1
    assert summary["images_seen"] == record["images_seen"] and summary["stage"] == record["stage"]
    text = invoke("info", old_run).stdout
    assert f"{old_run.name} at 8 px" in text and "run format 1" in text


@pytest.mark.parametrize("old_run", ["stylegan"], indirect=True)
def test_a_gan_run_of_0_1_stopped_mid_fade_is_used_at_its_stage(old_run):
    run = open_run(old_run, "gan")
    assert run.record.format_version == 1
    assert json.loads(invoke("info", old_run, "--json").stdout)["stage"] == {"resolution": 8, "alpha": 0.5}


@pytest.mark.parametrize("old_run", ["pggan", "stylegan2"], indirect=True)
def test_gan_runs_of_0_1_resume_and_are_rewritten_in_the_current_format(old_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run.json names its data folder as it was given: "shapes"
    shapes_folder(tmp_path / "shapes", count=8, size=8)
    before = open_run(old_run, "gan").record.images_seen
    result = invoke("gan", "train", "shapes", "--resume", "--kimg", f"{(before + 8) / 1000:g}", "--out", old_run.parent,
                    "--name", old_run.name, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    record = open_run(old_run, "gan").record
    assert record.images_seen == before + 8 and record.format_version == gan.FORMAT_VERSION


@pytest.mark.parametrize("old_run", ["stylegan2"], indirect=True)
def test_eval_measures_a_gan_run_against_the_folder_it_was_trained_on(old_run, tmp_path, monkeypatch):
    result = invoke("eval", old_run, "--device", "cpu")
    assert_clean_error(result, "was trained on shapes, which is not there", "singan gan eval")
    monkeypatch.chdir(tmp_path)
    shapes_folder(tmp_path / "shapes", count=8, size=8)
    result = invoke("eval", old_run, "--num", "4", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "SWD average" in result.stdout and json.loads((old_run / "eval.json").read_text())["num_generated"] == 4
    assert_clean_error(invoke("eval", old_run, "--start-scale", "1"), "--start-scale is for SinGAN runs")


def test_commands_tell_the_families_apart(tmp_path):
    singan_run = shutil.copytree(FIXTURES / "runs" / "singan", tmp_path / "singan")
    gan_run = shutil.copytree(FIXTURES / "runs" / "pggan", tmp_path / "pggan")
    assert_clean_error(invoke("sample", gan_run), "is a multi-image GAN run", "singan gan generate")
    assert_clean_error(invoke("animate", gan_run), "is a multi-image GAN run")
    assert_clean_error(invoke("gan", "generate", singan_run), "is a single-image SinGAN run", "singan sample")
    assert_clean_error(invoke("gan", "mix", singan_run), "is a single-image SinGAN run")


@pytest.mark.parametrize("name", SINGAN_RUNS + GAN_RUNS)
def test_records_of_0_1_read_and_write_back_unchanged(name):
    """A record read and written again is the same JSON, key order included, but for the format version a
    newer format writes."""
    written = json.loads((FIXTURES / "runs" / name / "run.json").read_text())
    record = open_run(FIXTURES / "runs" / name).record
    again = record.to_json()
    assert again.pop("format_version") == 1 and written.pop("format_version") == 1
    assert list(again) == list(written) and again == written
