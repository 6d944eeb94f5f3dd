"""Hostile input and faults around run directories: names that would escape --out, --force on what is not
ours, interrupted and failed writes, a full disk, usage errors and warnings. Each is one line, and nothing
outside the run is written or deleted."""

from __future__ import annotations

import errno
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import TINY, contents, picture_at, shapes_folder, write_image
from singan import api
from singan.cli import app
from singan.errors import ConfigError, RunError
from singan.runs import directory as policy
from singan.runs import gan as gan_runs
from singan.runs import singan as runs
from singan.training.gan import FIRST_CHECKPOINT_IMAGES

GAN_SMALL = ["--resolution", "8", "--batch", "4", "--z-dim", "16", "--w-dim", "16", "--channel-base", "64",
             "--channel-max", "16", "--mapping-layers", "2", "--seed", "2", "--device", "cpu", "--quiet"]
# Two iterations a scale: these tests are about the run's files and messages, not what it learns.
TINY_FLAGS = ["--min-size", "14", "--max-size", "32", "--scale-factor", "0.75", "--iterations", "2", "--seed", "1",
              "--device", "cpu", "--quiet"]


def invoke(*arguments):
    return CliRunner().invoke(app, [str(argument) for argument in arguments])


def assert_one_line(result, *fragments, code: int | None = None):
    assert result.exit_code != 0 if code is None else result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def tree(folder: Path) -> dict[str, bytes]:
    return contents(folder) if folder.exists() else {}


# --- names and paths -----------------------------------------------------------------------------------

BAD_NAMES = ["../escape", "/tmp/singan-absolute-escape", "a/b", "..", ".", "x" * 300, "", "back\\slash",
             "two\nlines", "tab\tbed"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_run_name_must_be_one_folder_name(tmp_path, image_file, name):
    before = tree(tmp_path)
    result = invoke("train", image_file, "--out", tmp_path / "runs", "--name", name, *TINY_FLAGS)
    assert_one_line(result, "run name")
    assert tree(tmp_path) == before and not (tmp_path / "runs").exists()
    assert not Path("/tmp/singan-absolute-escape").exists()


@pytest.mark.parametrize("name", ["../escape", "/tmp/singan-absolute-gan-escape", "a/b"])
def test_a_gan_run_name_must_be_one_folder_name(tmp_path, name):
    folder = shapes_folder(tmp_path / "shapes")
    result = invoke("gan", "train", folder, "--kimg", "0.008", *GAN_SMALL, "--out", tmp_path / "runs", "--name", name)
    assert_one_line(result, "run name")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "runs").exists()
    assert not Path("/tmp/singan-absolute-gan-escape").exists()


def test_a_name_from_an_image_file_that_cannot_be_a_run_name_asks_for_one(tmp_path):
    with pytest.raises(ConfigError, match="the image's file name.*give one with --name"):
        runs.run_directory(tmp_path / ("y" * 220 + ".png"), tmp_path)


def test_train_with_out_that_is_a_file(tmp_path, image_file):
    (tmp_path / "afile").write_text("mine")
    assert_one_line(invoke("train", image_file, "--out", tmp_path / "afile", *TINY_FLAGS), "a file, not a folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_gan_task_out_that_is_a_file(tmp_path):
    from singan.errors import OutputError

    (tmp_path / "afile").write_text("mine")
    with pytest.raises(OutputError, match="a file, where a folder is needed"):
        api.gan.generate_images(None, [0], tmp_path / "afile" / "inner")
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("command", [["sample", "--num", "1"], ["retarget", "--size", "20x30", "--num", "1"],
                                     ["animate", "--frames", "2", "--no-mp4"]])
def test_a_task_out_that_is_a_file(run_copy, tmp_path, command):
    (tmp_path / "afile").write_text("mine")
    result = invoke(command[0], run_copy, *command[1:], "--out", tmp_path / "afile", "--device", "cpu", "--quiet")
    assert_one_line(result, "afile", "a file")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_run_folder_that_is_a_symbolic_link_is_not_written(tmp_path, image_file):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "tiny").symlink_to(elsewhere)
    assert_one_line(invoke("train", image_file, "--out", tmp_path / "runs", *TINY_FLAGS), "symbolic link")
    assert list(elsewhere.iterdir()) == []


# --- --force -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("record", ["garbage {", "{}", json.dumps({"format": "another-program", "weights": 1})])
def test_force_refuses_a_folder_whose_run_json_is_not_ours(tmp_path, image_file, record):
    folder = tmp_path / "runs" / "tiny"
    for relative in ("weights/mine.bin", "samples/holiday.png", "previews/p.png", "notes.txt"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(relative)
    (folder / "run.json").write_text(record)
    before = tree(folder)
    result = invoke("train", image_file, "--out", tmp_path / "runs", "--force", *TINY_FLAGS)
    assert_one_line(result, "not a singan run record", "--force does not touch it")
    assert tree(folder) == before


def test_force_refuses_a_run_of_another_family(run_copy, tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    before = tree(run_copy)
    result = invoke("gan", "train", folder, "--kimg", "0.008", *GAN_SMALL, "--out", run_copy.parent,
                    "--name", run_copy.name, "--force")
    assert_one_line(result, "not a multi-image GAN run record")
    assert tree(run_copy) == before


def test_force_keeps_the_users_files_and_drops_the_old_models_files(run_copy, image_file):
    invoke("sample", run_copy, "--num", "2", "--device", "cpu", "--quiet")
    (run_copy / "eval.json").write_text("{}")
    (run_copy / "samples" / "start0" / "my_edit.png").write_bytes(b"user picture")
    (run_copy / "samples" / "holiday.jpg").write_bytes(b"user photo")
    (run_copy / "my notes.txt").write_text("notes")
    old_sample = run_copy / "samples" / "start0" / "seed0000.png"
    assert old_sample.exists()
    result = invoke("train", image_file, "--out", run_copy.parent, "--force", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    assert (run_copy / "samples" / "start0" / "my_edit.png").read_bytes() == b"user picture"
    assert (run_copy / "samples" / "holiday.jpg").read_bytes() == b"user photo"
    assert (run_copy / "my notes.txt").read_text() == "notes"
    assert not old_sample.exists() and not (run_copy / "eval.json").exists()
    assert json.loads((run_copy / "run.json").read_text())["complete"]
    assert [path.name for path in run_copy.parent.iterdir()] == ["tiny"]  # nothing left beside it


def test_force_never_deletes_through_a_symbolic_link(run_copy, image_file, tmp_path):
    users = tmp_path / "users_weights"
    users.mkdir()
    (users / "scale_00.safetensors").write_bytes(b"the user's own file")
    (run_copy / "samples").mkdir()
    (run_copy / "samples" / "start0").symlink_to(users)
    result = invoke("train", image_file, "--out", run_copy.parent, "--force", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    assert (users / "scale_00.safetensors").read_bytes() == b"the user's own file"
    # Where the format writes, the link itself is removed (never followed): moved into the new run, the
    # next `singan sample` would write through it.
    assert not os.path.lexists(run_copy / "samples" / "start0")
    assert [path.name for path in run_copy.parent.iterdir()] == ["tiny"]


@pytest.mark.parametrize("link", ["weights", "run.json", "notes"])
def test_force_on_a_run_holding_a_symbolic_link(run_copy, image_file, tmp_path, link):
    users = tmp_path / "users"
    users.mkdir()
    (users / "scale_00.safetensors").write_bytes(b"mine")
    if link == "run.json":
        (users / "record.json").write_text((run_copy / "run.json").read_text())
        (run_copy / "run.json").unlink()
        (run_copy / "run.json").symlink_to(users / "record.json")
    else:
        shutil.rmtree(run_copy / link, ignore_errors=True)
        (run_copy / link).symlink_to(users)
    before = tree(users)
    result = invoke("train", image_file, "--out", run_copy.parent, "--force", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    assert tree(users) == before  # nothing written or deleted through the link
    assert [path.name for path in run_copy.parent.iterdir()] == ["tiny"]
    assert (run_copy / link).is_symlink() == (link == "notes")  # a link elsewhere is the user's: kept
    assert not (run_copy / "weights").is_symlink() and (run_copy / "weights" / "scale_00.safetensors").exists()


def test_a_force_that_fails_before_the_swap_leaves_the_old_run_intact(run_copy, image_file, monkeypatch):
    before = tree(run_copy)

    def full_disk(*arguments):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "save_real", full_disk)
    result = invoke("train", image_file, "--out", run_copy.parent, "--force", *TINY_FLAGS)
    assert_one_line(result, "disk is full")
    assert tree(run_copy) == before
    assert [path.name for path in run_copy.parent.iterdir()] == ["tiny"]


def test_a_replacement_killed_between_its_renames_is_undone_on_the_next_write(run_copy, image_file):
    before = tree(run_copy)
    retired = run_copy.parent / ".tiny.old-1234abcd"
    os.rename(run_copy, retired)
    (run_copy.parent / ".tiny.new-5678").mkdir()
    (run_copy.parent / ".tiny.new-5678" / "real.safetensors").write_bytes(b"half")
    result = invoke("train", image_file, "--out", run_copy.parent, "--resume", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert tree(run_copy) == before  # the complete old run is back, and already fully trained
    assert [path.name for path in run_copy.parent.iterdir()] == ["tiny"]


def test_a_replacement_killed_after_its_swap_is_finished_on_the_next_write(run_copy, tmp_path, image_file):
    retired = run_copy.parent / ".tiny.old-1234abcd"
    shutil.copytree(run_copy, retired)
    (retired / "samples").mkdir()
    (retired / "samples" / "mine.png").write_bytes(b"user")
    policy.finish_interrupted_replacements(run_copy, runs.KIND)
    assert not retired.exists()
    assert (run_copy / "samples" / "mine.png").read_bytes() == b"user"


# --- interrupted first writes, leftovers, resume with nothing to continue -------------------------------

def test_a_kill_during_the_first_write_leaves_nothing_that_blocks_a_rerun(tmp_path, image_file, monkeypatch):
    def killed(*arguments):
        raise KeyboardInterrupt  # stands for a kill in the middle of the first write

    monkeypatch.setattr(runs, "save_real", killed)
    with pytest.raises(KeyboardInterrupt):
        api.train_run(image_file, TINY, out=tmp_path / "runs", device="cpu")
    assert list((tmp_path / "runs").iterdir()) == []
    monkeypatch.undo()
    # A leftover of a real kill -9 (a staging folder and a half file) does not block anything either.
    leftover = tmp_path / "runs" / ".tiny.new-deadbeef"
    leftover.mkdir()
    (leftover / ".real.safetensors.abcd1234.tmp").write_bytes(b"half")
    for flags in (["--resume"], [], ["--force"]):
        shutil.rmtree(tmp_path / "runs" / "tiny", ignore_errors=True)
        result = invoke("train", image_file, "--out", tmp_path / "runs", *flags, *TINY_FLAGS)
        assert result.exit_code == 0, (flags, result.output)
        assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["tiny"]


def test_an_empty_run_folder_or_one_with_only_our_leftovers_is_used(tmp_path, image_file):
    folder = tmp_path / "runs" / "tiny"
    folder.mkdir(parents=True)
    (folder / ".run.json.abcd_123.tmp").write_text("half")
    result = invoke("train", image_file, "--out", tmp_path / "runs", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    assert not (folder / ".run.json.abcd_123.tmp").exists()


def test_leftover_temporary_files_are_cleaned_on_resume_and_a_users_tmp_file_is_not(run_copy, image_file):
    record = json.loads((run_copy / "run.json").read_text())
    record["scales"] = record["scales"][:2]
    (run_copy / "run.json").write_text(json.dumps(record))
    (run_copy / "weights" / ".scale_02.safetensors.k3j9x_1q.tmp").write_bytes(b"half")
    (run_copy / ".run.json.zzzzzzzz.tmp").write_bytes(b"half")
    (run_copy / "mine.tmp").write_text("user")
    result = invoke("train", image_file, "--out", run_copy.parent, "--resume", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert not list(run_copy.rglob(".*.tmp")) and (run_copy / "mine.tmp").read_text() == "user"


# --- environment faults --------------------------------------------------------------------------------

def test_a_full_disk_during_training_is_one_line_and_the_run_resumes(tmp_path, image_file, monkeypatch):
    save_scale = runs.save_scale

    def full_at_scale_two(run_dir, model, scale):
        if scale == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save_scale(run_dir, model, scale)

    monkeypatch.setattr(runs, "save_scale", full_at_scale_two)
    result = invoke("train", image_file, "--out", tmp_path / "runs", *TINY_FLAGS)
    assert_one_line(result, "the disk is full", "2 of 4 scales saved", "--resume")
    monkeypatch.undo()
    result = invoke("train", image_file, "--out", tmp_path / "runs", "--resume", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "runs" / "tiny" / "run.json").read_text())["complete"]


def test_a_write_that_fails_mid_file_names_the_file(tmp_path, monkeypatch):
    from singan import files

    def fsync(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")  # write() errors name no file

    monkeypatch.setattr(files.os, "fsync", fsync)
    with pytest.raises(OSError) as caught:
        files.atomic_write_bytes(tmp_path / "out.bin", b"data")
    assert caught.value.filename == str(tmp_path / "out.bin")
    assert files.describe_os_error(caught.value) == f"{tmp_path / 'out.bin'}: the disk is full; free some space"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_during_gan_training_is_one_line(tmp_path, monkeypatch):
    from singan.api.gan import RunDirectoryWriter

    def full(*arguments):
        raise OSError(errno.ENOSPC, "No space left on device", "checkpoint.safetensors")

    monkeypatch.setattr(RunDirectoryWriter, "checkpoint", full)
    folder = shapes_folder(tmp_path / "shapes")
    result = invoke("gan", "train", folder, "--kimg", "0.008", *GAN_SMALL, "--out", tmp_path / "runs")
    assert_one_line(result, "the disk is full", "--resume")


def test_a_gan_run_writes_its_first_checkpoint_early(tmp_path):
    from singan.config.gan import GANConfig
    from singan.events import CheckpointSaved

    saved = []
    # Batches of 40 reach 1000 images in 25 steps (125 at 8): the schedule counts images, not steps.
    config = GANConfig(resolution=8, batch=40, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2,
                       seed=2, kimg=1.2, checkpoint_kimg=10, snapshot_kimg=10)
    api.gan.train_gan(shapes_folder(tmp_path / "shapes"), config, out=tmp_path / "runs", device="cpu",
                      on_event=lambda event: saved.append(event.images_seen)
                      if isinstance(event, CheckpointSaved) else None)
    assert saved == [FIRST_CHECKPOINT_IMAGES, 1200]


def test_a_gan_run_killed_before_its_first_checkpoint_resumes(tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    arguments = ["gan", "train", folder, *GAN_SMALL, "--out", tmp_path / "runs", "--name", "g"]
    assert invoke(*arguments, "--kimg", "0.008").exit_code == 0
    directory = tmp_path / "runs" / "g"
    (directory / gan_runs.CHECKPOINT_FILE).unlink()  # as if killed before the first checkpoint
    record = json.loads((directory / "run.json").read_text())
    record["images_seen"] = 0
    (directory / "run.json").write_text(json.dumps(record))
    result = invoke("gan", "train", folder, "--out", tmp_path / "runs", "--name", "g", "--resume", "--quiet",
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert json.loads((directory / "run.json").read_text())["complete"]


def test_a_gan_resume_with_nothing_to_continue_starts_the_run(tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    result = invoke("gan", "train", folder, "--kimg", "0.008", *GAN_SMALL, "--out", tmp_path / "runs",
                    "--name", "g", "--resume")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "runs" / "g" / "run.json").read_text())["complete"]


# --- one error style -----------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, fragment", [
    (["train", "x.png", "--max-size", "abc"], "--max-size"),
    (["train", "x.png", "--no-such-option"], "--no-such-option"),
    (["train"], "Missing argument"),
    (["gan", "train", "folder", "--batch", "many"], "--batch"),
    (["sample", "run", "--num", "1.5"], "--num"),
    (["gan", "generate", "run", "--bogus"], "--bogus"),
])
def test_usage_errors_are_one_line_with_exit_code_2(arguments, fragment):
    assert_one_line(invoke(*arguments), fragment, code=2)


def test_library_warnings_stay_off_the_screen(run_copy, monkeypatch):
    loaded = api.load_run

    def noisy(*arguments, **keywords):
        warnings.warn("a library's deprecation notice", UserWarning)
        return loaded(*arguments, **keywords)

    monkeypatch.setattr(api, "load_run", noisy)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        result = invoke("sample", run_copy, "--num", "1", "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and shown == []


def test_the_policy_functions_directly(tmp_path):
    with pytest.raises(ConfigError, match="one folder name"):
        policy.check_run_name("a/b")
    assert policy.check_run_name("ok name-1") == "ok name-1"
    assert policy.owns(runs.KIND, "weights/scale_03.safetensors")
    assert policy.owns(runs.KIND, "samples/start0/seed0012.png")
    assert not policy.owns(runs.KIND, "samples/start0/holiday.png")
    assert not policy.owns(runs.KIND, "weights/mine.safetensors")
    assert policy.owns(gan_runs.KIND, "snapshots/snapshot_000010k.png")
    assert not policy.owns(gan_runs.KIND, "snapshots/mine.png")
    with pytest.raises(RunError, match="not a folder"):
        (tmp_path / "file").write_text("x")
        policy.create_run(tmp_path / "file", True, runs.KIND, lambda folder: None)


def test_every_file_the_tasks_write_into_a_run_is_named_by_its_format(run_copy):
    """Otherwise --force would keep a task's output as if it were the user's."""
    run = api.load_run(run_copy, device="cpu")
    picture = picture_at(run_copy, "paste.png")
    mask = np.zeros((24, 32), np.uint8)
    mask[5:15, 8:20] = 255
    mask_path = write_image(run_copy.parent / "pictures" / "paste_mask.png", mask)
    api.sample_run(run, [0, 12345])
    api.sample_run(run, [1], start_scale=1, scale_h=1.5)
    api.retarget_run(run, (20, 40), [2])
    api.animate_run(run, frames=2, loop=True, mp4=False)
    api.paint_run(run, picture, [1, 2], quantize_colours=3)
    api.harmonize_run(run, picture, mask_path, [1], radius=1)
    api.edit_run(run, picture, mask_path, [2], radius=1)
    api.super_resolve_run(run_copy, 1.5, device="cpu")
    api.evaluate_run(run, num=2)
    written = [path.relative_to(run_copy).as_posix() for path in run_copy.rglob("*") if path.is_file()]
    assert len(written) > 20
    assert [name for name in written if not policy.owns(runs.KIND, name)] == []


def test_every_file_a_gan_run_and_its_tasks_write_is_named_by_its_format(tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    arguments = ["gan", "train", folder, *GAN_SMALL, "--out", tmp_path / "runs", "--name", "g", "--kimg", "0.016",
                 "--snapshot-kimg", "0.008"]
    assert invoke(*arguments).exit_code == 0
    directory = tmp_path / "runs" / "g"
    for command in (["generate", "--seeds", "0-1", "--grid"], ["interpolate", "--seeds", "1,2", "--frames", "2",
                                                               "--no-mp4"], ["mix", "--rows", "1", "--cols", "2"],
                    ["eval", folder, "--num", "4"]):
        result = invoke("gan", command[0], directory, *command[1:], "--device", "cpu")
        assert result.exit_code == 0, result.output
    written = [path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()]
    assert {"run.json", "checkpoint.safetensors", "generated/grid.png", "mix/mix.json"} <= set(written)
    assert [name for name in written if not policy.owns(gan_runs.KIND, name)] == []


def test_singan_settings_that_cannot_train_in_memory_are_refused_before_the_run_is_made(tmp_path, image_file,
                                                                                        monkeypatch):
    from singan import memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda device="cpu": 10**9)
    result = invoke("train", image_file, "--out", tmp_path / "runs", *TINY_FLAGS, "--base-channels", "2048",
                    "--max-channels", "2048")
    assert_one_line(result, "asks for about", "lower --max-channels or --max-size")
    assert not (tmp_path / "runs").exists()
    assert invoke("train", image_file, "--out", tmp_path / "runs", *TINY_FLAGS).exit_code == 0


def test_a_gan_checkpoint_whose_tensors_do_not_fit_is_one_line_on_resume(tmp_path):
    from singan.tensorfile import encode_tensors, read_tensors, split_state

    folder = shapes_folder(tmp_path / "shapes")
    assert invoke("gan", "train", folder, *GAN_SMALL, "--out", tmp_path / "runs", "--name", "g",
                  "--kimg", "0.008").exit_code == 0
    path = tmp_path / "runs" / "g" / gan_runs.CHECKPOINT_FILE
    tensors, state = split_state(read_tensors(path))
    key = next(key for key in tensors if key.startswith("discriminator.") and tensors[key].dim() == 4)
    tensors[key] = torch.zeros(tensors[key].shape[0] + 1, *tensors[key].shape[1:])
    path.write_bytes(encode_tensors(tensors, state))
    result = invoke("gan", "train", folder, "--out", tmp_path / "runs", "--name", "g", "--resume", "--kimg", "0.016",
                    "--device", "cpu", "--quiet")
    assert_one_line(result, "corrupt checkpoint", "does not fit")


def test_resume_and_force_together_are_refused(run_copy, image_file, tmp_path):
    before = tree(run_copy)
    assert_one_line(invoke("train", image_file, "--out", run_copy.parent, "--resume", "--force", *TINY_FLAGS),
                    "--resume", "--force", "not both")
    assert tree(run_copy) == before
    folder = shapes_folder(tmp_path / "shapes")
    assert_one_line(invoke("gan", "train", folder, *GAN_SMALL, "--out", tmp_path / "runs", "--resume", "--force"),
                    "not both")


def test_resume_with_nothing_to_resume_says_it_starts(tmp_path, image_file):
    result = invoke("train", image_file, "--out", tmp_path / "runs", "--resume", *TINY_FLAGS[:-1])
    assert result.exit_code == 0, result.output
    assert "nothing to resume" in result.stderr + result.stdout


@pytest.mark.parametrize("record", ["[" * 100000 + "]" * 100000, " " * (17 * 10**6)])
def test_a_run_json_nested_too_deep_or_far_too_large_is_one_line(run_copy, record):
    (run_copy / "run.json").write_text(record)
    assert_one_line(invoke("sample", run_copy, "--num", "1", "--device", "cpu"), "run.json", "unreadable")


@pytest.mark.parametrize("failure", [MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:117] "
                                                                 "DefaultCPUAllocator: can't allocate memory"),
                                     RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")])
def test_running_out_of_memory_is_one_line(run_copy, monkeypatch, failure):
    def exhausted(*arguments, **keywords):
        raise failure

    monkeypatch.setattr(api, "sample_run", exhausted)
    assert_one_line(invoke("sample", run_copy, "--num", "1", "--device", "cpu"), "out of memory", "--resume")


def test_other_runtime_errors_are_not_disguised_as_memory(run_copy, monkeypatch):
    def broken(*arguments, **keywords):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(api, "sample_run", broken)
    result = invoke("sample", run_copy, "--num", "1", "--device", "cpu")
    assert isinstance(result.exception, RuntimeError) and "a bug of ours" in str(result.exception)


def test_eval_of_a_gan_run_takes_max_pixels(tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    assert invoke("gan", "train", folder, *GAN_SMALL, "--out", tmp_path / "runs", "--name", "g",
                  "--kimg", "0.008").exit_code == 0
    result = invoke("eval", tmp_path / "runs" / "g", "--num", "4", "--device", "cpu", "--max-pixels", "10")
    assert_one_line(result, "none of the 12 image files could be read", "--max-pixels")
    assert invoke("eval", tmp_path / "runs" / "g", "--num", "4", "--device", "cpu", "--quiet").exit_code == 0
