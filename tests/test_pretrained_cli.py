"""`singan gan import`, and published files given to every `singan gan` task, from the command line: the same
images from the file as from its import, and one line (never a traceback, never a file's code run) for files
that cannot or must not be read."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import pickle
import zipfile

import pytest
from typer.testing import CliRunner

from conftest import shapes_folder
from pretrained_files import ada_pickle, random_generator, rosinality_file, tf_pickle
from singan.cli import app

runner = CliRunner()


def invoke(*arguments):
    return runner.invoke(app, [str(argument) for argument in arguments])


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published")
    generator = random_generator("stylegan2", 16)
    files = {"ada": folder / "ffhq.pkl", "tf": folder / "anime.pkl.xz", "rosinality": folder / "550000.pt"}
    files["ada"].write_bytes(ada_pickle(generator))
    files["tf"].write_bytes(lzma.compress(tf_pickle(generator)))
    files["rosinality"].write_bytes(rosinality_file(generator))
    return files


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize("kind", ["ada", "tf", "rosinality"])
def test_import_then_generate_gives_the_images_of_the_file_itself(tmp_path, published, kind):
    path = published[kind]
    result = invoke("gan", "import", path, "--out", tmp_path / "runs", "--name", "net", "--quiet")
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "net"
    record = json.loads((run / "run.json").read_text())
    assert record["format"] == "singan-gan-import" and record["source"]["file"] == path.name
    assert len(record["source"]["sha256"]) == 64 and record["network"]["resolution"] == 16
    for source, out in ((run, tmp_path / "from-run"), (path, tmp_path / "from-file")):
        result = invoke("gan", "generate", source, "--seeds", "0-2", "--trunc", "0.7", "--out", out, "--device",
                        "cpu", "--quiet")
        assert result.exit_code == 0, result.output
    for name in ("seed0000.png", "seed0001.png", "seed0002.png"):
        assert (tmp_path / "from-run" / name).read_bytes() == (tmp_path / "from-file" / name).read_bytes()
    assert sorted(item.name for item in path.parent.iterdir()) == sorted(item.name for item in published.values())


def test_every_task_takes_a_file(tmp_path, published):
    path = published["ada"]
    common = ["--device", "cpu", "--quiet"]
    assert invoke("gan", "interpolate", path, "--seeds", "0,1", "--frames", "4", "--no-mp4",
                  "--out", tmp_path / "video", *common).exit_code == 0
    assert (tmp_path / "video" / "interpolate.gif").is_file()
    assert invoke("gan", "mix", path, "--rows", "1", "--cols", "2", "--out", tmp_path / "mix", *common).exit_code == 0
    assert json.loads((tmp_path / "mix" / "mix.json").read_text())["seed_compat"] == "nvlabs"
    result = invoke("gan", "info", path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["imported"] and summary["source"]["format"] == "stylegan2-ada-pytorch"
    result = invoke("gan", "info", path)
    assert result.exit_code == 0 and "imported network" in result.output
    result = invoke("info", path)
    assert result.exit_code == 0 and "stylegan2-ada-pytorch" in result.output


def test_eval_of_a_file_writes_under_output(tmp_path, published, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = shapes_folder(tmp_path / "shapes")
    result = invoke("gan", "eval", published["tf"], folder, "--num", "8", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "Output" / "anime-eval" / "eval.json").read_text())
    assert figures["num_generated"] == 8 and figures["seed_compat"] == "nvlabs" and figures["noise"] == "const"


def test_noise_and_seed_options_change_the_images(tmp_path, published):
    path, outputs = published["rosinality"], {}
    for name, options in {"default": [], "const": ["--noise", "const", "--seed-compat", "nvlabs"],
                          "none": ["--noise", "none"], "random": ["--noise", "random"],
                          "singan": ["--seed-compat", "singan"]}.items():
        result = invoke("gan", "generate", path, "--seeds", "4", "--out", tmp_path / name, "--device", "cpu",
                        "--quiet", *options)
        assert result.exit_code == 0, result.output
        outputs[name] = (tmp_path / name / "seed0004.png").read_bytes()
    assert outputs["default"] == outputs["const"]
    assert len({outputs[name] for name in ("const", "none", "random", "singan")}) == 4
    line = one_error_line(invoke("gan", "generate", path, "--noise", "loud", "--device", "cpu"))
    assert "--noise must be one of random, const, none" in line
    line = one_error_line(invoke("gan", "generate", path, "--class", "1", "--device", "cpu"))
    assert "not conditional" in line


class Payload:
    """An object whose unpickling would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("container", ["pkl", "pkl.xz", "pkl.gz", "pt"])
def test_a_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path, container):
    marker = tmp_path / "PWNED"
    data = pickle.dumps({"G_ema": Payload(marker)}, protocol=4)
    path = tmp_path / f"evil.{container}"
    if container == "pkl.xz":
        data = lzma.compress(data)
    if container == "pkl.gz":
        data = gzip.compress(data)
    if container == "pt":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", data)
            archive.writestr("archive/version", "3\n")
    else:
        path.write_bytes(data)
    for command in (["gan", "import", path, "--out", tmp_path / "runs"], ["gan", "generate", path, "--device", "cpu"],
                    ["gan", "info", path]):
        line = one_error_line(invoke(*command))
        assert "system" in line and str(path) in line
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_truncated_and_wrong_files_are_one_line(tmp_path, published):
    data = published["ada"].read_bytes()
    cases = {"cut.pkl": data[:len(data) // 2], "image.pkl": b"\x89PNG\r\n\x1a\n" + bytes(64), "empty.pt": b"",
             "text.pkl": b"hello"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        line = one_error_line(invoke("gan", "generate", tmp_path / name, "--device", "cpu"))
        assert name in line
    line = one_error_line(invoke("gan", "import", tmp_path / "missing.pkl"))
    assert "no such file" in line


def test_resume_on_an_imported_network_says_there_is_nothing_to_train(tmp_path, published):
    assert invoke("gan", "import", published["ada"], "--out", tmp_path, "--name", "net", "--quiet").exit_code == 0
    line = one_error_line(invoke("gan", "train", shapes_folder(tmp_path / "shapes"), "--out", tmp_path, "--name", "net",
                                 "--resume", "--resolution", "16", "--device", "cpu"))
    assert "imported network" in line and "nothing to resume" not in line
