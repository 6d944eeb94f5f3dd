"""`singan batch`: one run per image, complete runs skipped, incomplete ones resumed, a bad image reported while
the others go on, and a manifest that a killed batch leaves consistent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import TINY, synthetic_image, write_image
from singan.api import batch
from singan.cli import app
from singan.errors import ConfigError, InputImageError
from singan.events import BatchImageStarted, IterationFinished, ScaleFinished

runner = CliRunner()
SMALL = TINY.replace(iterations=2)


@pytest.fixture
def pictures(tmp_path):
    folder = tmp_path / "pictures"
    write_image(folder / "a.png", synthetic_image(seed=1))
    write_image(folder / "trip" / "b.png", synthetic_image(seed=2))
    write_image(folder / "trip" / "a.png", synthetic_image(seed=3))
    return folder


def test_inputs_are_files_folders_and_globs_each_once_in_path_order(pictures):
    found = batch.collect_images([pictures / "trip", str(pictures / "*.png"), pictures / "a.png"])
    assert [path.relative_to(pictures).as_posix() for path in found] == ["a.png", "trip/a.png", "trip/b.png"]
    recursive = batch.collect_images([str(pictures / "**" / "*.png")])
    assert len(recursive) == 3
    with pytest.raises(InputImageError, match="no such file or folder"):
        batch.collect_images([pictures / "missing.png"])
    with pytest.raises(InputImageError, match="matches no image files"):
        batch.collect_images([str(pictures / "*.jpg")])


def test_clashing_names_get_their_folder_then_a_digest(tmp_path, pictures):
    images = batch.collect_images([pictures])
    assert batch.run_names(images) == ["a-pictures", "a-trip", "b"]
    assert batch.run_names(list(reversed(images))) == ["b", "a-trip", "a-pictures"]
    write_image(tmp_path / "other" / "trip" / "a.png", synthetic_image(seed=4))
    twice = batch.collect_images([pictures / "trip" / "a.png", tmp_path / "other" / "trip" / "a.png"])
    names = batch.run_names(twice)
    assert len(set(names)) == 2 and all(name.startswith("a-") and len(name) == 10 for name in names)
    with pytest.raises(ConfigError, match="--then"):
        batch.check_then(["sample", "paint"])


def test_a_batch_trains_skips_resumes_and_goes_past_a_bad_image(tmp_path, pictures):
    (pictures / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "runs"

    current = []

    def handler(event):
        """Ctrl-C after scale 1 of trip/a.png, the third image."""
        if isinstance(event, BatchImageStarted):
            current.append(event.image)
        if isinstance(event, ScaleFinished) and event.scale == 1 and current[-1].endswith("trip/a.png"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch.run_batch([pictures], SMALL, out=out, device="cpu", on_event=handler)
    manifest = json.loads((out / "batch.json").read_text())
    assert [item["status"] for item in manifest["images"]] == ["trained", "failed", "running", "pending"]
    assert "broken.png" in manifest["images"][1]["error"]

    result = batch.run_batch([pictures], SMALL, out=out, device="cpu", then=["sample"])
    statuses = [(item.run.split("/")[-1], item.status) for item in result.items]
    assert statuses == [("a-pictures", "skipped"), ("broken", "failed"), ("a-trip", "resumed"), ("b", "trained")]
    assert [len(result.items[index].outputs["sample"]) for index in (0, 2, 3)] == [4, 4, 4]
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["counts"] == {"failed": 1, "resumed": 1, "skipped": 1, "trained": 1}
    assert all(item["scales"] == [4, 4] for item in manifest["images"] if item["status"] != "failed")


def test_the_command_prints_a_table_and_fails_at_the_end_if_an_image_failed(tmp_path, pictures):
    (pictures / "broken.png").write_bytes(b"not an image")
    flags = ["--min-size", "14", "--max-size", "32", "--iterations", "2", "--seed", "1", "--device", "cpu"]
    result = runner.invoke(app, ["batch", str(pictures / "trip" / "b.png"), str(pictures / "broken.png"),
                                 "--out", str(tmp_path / "runs"), "--quiet", *flags])
    assert result.exit_code == 1, result.output
    assert "trained" in result.output and "failed" in result.output and "Traceback" not in result.output
    assert (tmp_path / "runs" / "b" / "run.json").is_file()
    result = runner.invoke(app, ["batch", str(pictures / "trip" / "b.png"), "--out", str(tmp_path / "runs"),
                                 "--quiet", "--then", "report,eval", *flags])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "runs" / "batch.json").read_text())
    assert manifest["images"][0]["status"] == "skipped" and manifest["images"][0]["eval"]["swd"]
    # --then report: after every image, each run's page and the batch's index, which links to them
    index = (tmp_path / "runs" / "report.html").read_text()
    assert "Report:" in result.output and 'href="b/report.html"' in index and "SWD" in index
    assert (tmp_path / "runs" / "b" / "report.html").is_file()
    result = runner.invoke(app, ["batch", str(pictures), "--then", "paint", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 1 and "--then paint" in result.output


def test_iteration_events_reach_the_display(tmp_path, pictures):
    events = []
    batch.run_batch([pictures / "trip" / "b.png"], SMALL, out=tmp_path, device="cpu", on_event=events.append)
    names = [type(event).__name__ for event in events]
    assert names[0] == "BatchImageStarted" and names[-1] == "BatchImageFinished"
    assert any(isinstance(event, IterationFinished) for event in events)


def test_a_finished_run_of_another_image_under_the_same_name_fails_that_image(tmp_path, pictures):
    batch.run_batch([pictures / "trip" / "b.png"], SMALL, out=tmp_path, device="cpu")
    other = write_image(tmp_path / "elsewhere" / "b.png", synthetic_image(seed=9))
    result = batch.run_batch([other], SMALL, out=tmp_path, device="cpu")
    assert result.items[0].status == "failed" and "holds a run of another image" in result.items[0].error


@pytest.mark.slow
def test_two_processes_share_the_images_and_a_relaunch_trains_none_again(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    for seed, name in enumerate("abcd"):
        write_image(tmp_path / "pictures" / f"{name}.png", synthetic_image(seed=seed))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "singan",
               "batch", str(tmp_path / "pictures"), "--out", str(tmp_path / "runs"), "--min-size", "14",
               "--max-size", "32", "--iterations", "2", "--seed", "1", "--device", "cpu", "--quiet"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    first = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240)
    assert first.returncode == 0, first.stderr[-3000:]
    manifest = json.loads((tmp_path / "runs" / "batch.json").read_text())
    assert [item["status"] for item in manifest["images"]] == ["trained"] * 4 and manifest["processes"] == 2
    parts = [json.loads((tmp_path / "runs" / ".batch" / f"part-{rank}-of-2.json").read_text())["images"]
             for rank in (0, 1)]
    assert sorted(Path(entry["image"]).name for part in parts for entry in part) == ["a.png", "b.png", "c.png", "d.png"]
    assert {Path(entry["image"]).name for entry in parts[0]} == {"a.png", "c.png"}
    again = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    manifest = json.loads((tmp_path / "runs" / "batch.json").read_text())
    assert [item["status"] for item in manifest["images"]] == ["skipped"] * 4


@pytest.mark.slow
def test_two_jobs_on_one_device_train_each_image_once_as_one_job_would(tmp_path):
    """--jobs-per-device 2: two job processes share the images (i mod 2), each run is the run one process
    would have trained (same seed, same device), and a relaunch skips them all."""
    from safetensors.torch import load_file

    for seed, name in enumerate("ab"):
        write_image(tmp_path / "pictures" / f"{name}.png", synthetic_image(seed=seed))
    result = batch.run_batch([tmp_path / "pictures"], SMALL, out=tmp_path / "jobs", device="cpu", jobs_per_device=2)
    assert [item.status for item in result.items] == ["trained"] * 2
    manifest = json.loads((tmp_path / "jobs" / "batch.json").read_text())
    assert [item["status"] for item in manifest["images"]] == ["trained"] * 2 and manifest["processes"] == 2
    part = json.loads((tmp_path / "jobs" / ".batch" / "part-1-of-2.json").read_text())["images"]
    assert [entry["image"].split("/")[-1] for entry in part] == ["b.png"]

    alone = batch.run_batch([tmp_path / "pictures" / "b.png"], SMALL, out=tmp_path / "alone", device="cpu")
    assert alone.items[0].status == "trained"
    for name in sorted(path.name for path in (tmp_path / "alone" / "b").glob("*.safetensors")):
        ours, theirs = load_file(tmp_path / "jobs" / "b" / name), load_file(tmp_path / "alone" / "b" / name)
        assert ours.keys() == theirs.keys() and all(ours[key].equal(theirs[key]) for key in ours), name

    again = batch.run_batch([tmp_path / "pictures"], SMALL, out=tmp_path / "jobs", device="cpu")
    assert [item.status for item in again.items] == ["skipped"] * 2


def test_a_dead_job_fails_its_unfinished_images(tmp_path, pictures, monkeypatch):
    from singan.api import batch_jobs

    monkeypatch.setattr(batch_jobs, "run_jobs", lambda target, arguments, on_event, threads: [0, -9])
    result = batch.run_batch([pictures], SMALL, out=tmp_path, device="cpu", jobs_per_device=2)
    assert [item.status for item in result.items] == ["pending", "failed", "pending"]
    assert "exit code -9" in result.items[1].error and "run the batch again" in result.items[1].error
    assert json.loads((tmp_path / "batch.json").read_text())["counts"] == {"failed": 1, "pending": 2}
    with pytest.raises(ConfigError, match="--jobs-per-device 0"):
        batch.run_batch([pictures], SMALL, out=tmp_path, device="cpu", jobs_per_device=0)
