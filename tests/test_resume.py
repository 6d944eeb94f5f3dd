"""Interrupted training resumes from its first unfinished scale and ends where an uninterrupted run ends."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from singan import api
from singan.events import IterationFinished

from conftest import TINY


def files(directory):
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file())


def interrupt_at(scale: int, iteration: int):
    def handler(event):
        if isinstance(event, IterationFinished) and (event.scale, event.iteration) == (scale, iteration):
            raise KeyboardInterrupt

    return handler


def test_resume_after_an_interruption_at_a_middle_scale(tmp_path, image_file, trained_run):
    whole = trained_run  # TINY on the same picture, uninterrupted
    with pytest.raises(KeyboardInterrupt):
        api.train_run(image_file, TINY, out=tmp_path / "cut", device="cpu", on_event=interrupt_at(2, 3))
    cut = tmp_path / "cut" / "tiny"
    record = json.loads((cut / "run.json").read_text())
    assert len(record["scales"]) == 2 and record["complete"] is False
    assert not (cut / "weights" / "scale_02.safetensors").exists()

    api.train_run(image_file, out=tmp_path / "cut", device="cpu", resume=True)
    assert files(cut) == files(whole)
    assert json.loads((cut / "run.json").read_text())["complete"] is True
    # Each scale has its own seed, so the resumed run is the uninterrupted one, bit for bit.
    for name in files(whole):
        if name.endswith((".safetensors", ".png")):
            assert (cut / name).read_bytes() == (whole / name).read_bytes(), name
    whole_log = [json.loads(line) for line in (whole / "log.jsonl").read_text().splitlines()]
    cut_log = [json.loads(line) for line in (cut / "log.jsonl").read_text().splitlines()]
    assert cut_log == whole_log, "the interrupted attempt's lines for scale 2 are replaced, not duplicated"


def test_resume_of_a_complete_run_changes_nothing(run_copy, image_file):
    directory = run_copy
    before = {name: (directory / name).read_bytes() for name in files(directory)}
    notices = []
    api.train_run(image_file, out=directory.parent, device="cpu", resume=True, on_event=notices.append)
    assert {name: (directory / name).read_bytes() for name in files(directory)} == before
    assert any("already fully trained" in getattr(event, "message", "") for event in notices)


def test_resume_refuses_another_image(tmp_path, image_file):
    from singan.errors import RunError
    from conftest import synthetic_image, write_image

    with pytest.raises(KeyboardInterrupt):
        api.train_run(image_file, TINY, out=tmp_path, device="cpu", on_event=_stop_after_first_scale)
    other = write_image(tmp_path / "elsewhere" / "tiny.png", synthetic_image(seed=5))
    with pytest.raises(RunError, match="another image"):
        api.train_run(other, out=tmp_path, device="cpu", resume=True)


def _stop_after_first_scale(event):
    if isinstance(event, IterationFinished) and event.scale == 1:
        raise KeyboardInterrupt


@pytest.mark.slow
def test_resume_survives_a_killed_process(tmp_path, image_file):
    """SIGKILL at a random moment (no cleanup at all) still leaves a loadable, resumable run."""
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "singan", "train", str(image_file), "--out", str(out), "--quiet",
               "--min-size", "14", "--max-size", "32", "--scale-factor", "0.75", "--iterations", "30", "--seed", "3",
               "--device", "cpu"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    record_path = out / "tiny" / "run.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if record_path.exists() and len(json.loads(record_path.read_text())["scales"]) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read().decode()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    trained = len(json.loads(record_path.read_text())["scales"])
    assert 2 <= trained < 4
    api.train_run(image_file, out=out, device="cpu", resume=True)
    run = api.load_run(out / "tiny", device="cpu")
    assert run.record.complete and run.model.num_scales == 4
