"""The multi-image training loop: every architecture trains, PGGAN grows on schedule, resume is exact."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import shapes_folder
from singan.api import gan as gan_api
from singan.config.gan import GANConfig
from singan.data.imagefolder import load_image_folder
from singan.errors import ConfigError, GANNonFiniteLossError, RunError
from singan.events import GANProgress
from singan.losses import logistic, wasserstein
from singan.runs import gan as gan_checkpoint
from singan.runs import open_run
from singan.training.architectures import checked
from singan.training.gan import GANTrainer

TINY = dict(resolution=8, z_dim=16, w_dim=16, mapping_layers=2, channel_base=64, channel_max=16, batch=4, seed=1,
            kimg=0.032, log_kimg=0.008, snapshot_kimg=0.016, checkpoint_kimg=0.016)


@pytest.fixture
def data_folder(tmp_path: Path) -> Path:
    return shapes_folder(tmp_path / "shapes")


def trainer_for(folder: Path, **changes) -> GANTrainer:
    config = checked(GANConfig(**{**TINY, "image_channels": 1, **changes}))
    return GANTrainer(config, load_image_folder(folder, config.resolution), torch.device("cpu"))


@pytest.mark.parametrize("arch", ["pggan", "stylegan", "stylegan2"])
def test_every_architecture_trains_with_finite_losses(data_folder, arch):
    trainer = trainer_for(data_folder, arch=arch, phase_kimg=0.008, r1_interval=2, pl_interval=2)
    before = {key: value.clone() for key, value in trainer.generator.state_dict().items()}
    history = [trainer.step() for _ in range(6)]
    expected = {"pggan": {"critic", "gradient_penalty", "drift", "generator"},
                "stylegan": {"critic", "r1", "generator"},
                "stylegan2": {"critic", "generator"}}[arch]
    assert expected <= set(history[0])
    assert all(np.isfinite(value) for losses in history for value in losses.values())
    assert trainer.images_seen == 6 * 4
    changed = [key for key, value in trainer.generator.state_dict().items() if not torch.equal(value, before[key])]
    assert changed, "the generator did not move"
    if arch == "stylegan2":
        assert any("r1" in losses for losses in history) and any("path_length" in losses for losses in history)


def test_pggan_grows_on_schedule_and_resets_adam(data_folder):
    trainer = trainer_for(data_folder, arch="pggan", resolution=16, phase_kimg=0.008)
    stages = []
    optimizers = []
    for _ in range(8):
        stages.append((trainer.stage.resolution, round(trainer.stage.alpha, 3)))
        trainer.step()
        optimizers.append(trainer.generator_optimizer)
    # 8 images per phase, 4 per step: 4 px stable, 8 px fading in (0, 0.5), stable, 16 px fading in, stable.
    assert stages == [(4, 1.0), (4, 1.0), (8, 0.0), (8, 0.5), (8, 1.0), (8, 1.0), (16, 0.0), (16, 0.5)]
    assert optimizers[0] is optimizers[1] and optimizers[1] is not optimizers[2]
    assert optimizers[2] is optimizers[5] and optimizers[5] is not optimizers[6]


def test_lazy_regularisation_corrects_adam(data_folder):
    trainer = trainer_for(data_folder, arch="stylegan2", r1_interval=16, pl_interval=4)
    trainer.step()
    critic_group = trainer.discriminator_optimizer.param_groups[0]
    assert critic_group["lr"] == pytest.approx(0.0025 * 16 / 17)
    assert critic_group["betas"][1] == pytest.approx(0.99 ** (16 / 17))
    assert trainer.generator_optimizer.param_groups[0]["lr"] == pytest.approx(0.0025 * 4 / 5)


@pytest.mark.parametrize("arch", ["pggan", "stylegan", "stylegan2"])
def test_resume_continues_exactly(data_folder, arch):
    """Three steps, a checkpoint, a new trainer restored from it, three more: the same as six in one go."""
    options = dict(arch=arch, resolution=8, phase_kimg=0.008, r1_interval=2, pl_interval=2)
    straight = trainer_for(data_folder, **options)
    for _ in range(6):
        straight.step()
    first = trainer_for(data_folder, **options)
    for _ in range(3):
        first.step()
    tensors, record = first.state_tensors(), json.loads(json.dumps(first.state_record()))
    second = trainer_for(data_folder, **options)
    second.restore(tensors, record)
    assert second.images_seen == 12 and second.critic_steps == 3 and second.generator_steps == 3
    for _ in range(3):
        second.step()
    for key, value in straight.state_tensors().items():
        assert torch.equal(value, second.state_tensors()[key]), key


def test_losses_are_the_published_formulas():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert float(wasserstein.critic_loss(real, fake)) == pytest.approx(-2.5)
    assert float(wasserstein.drift_penalty(real)) == pytest.approx(5.0)
    softplus = torch.nn.functional.softplus
    expected = float(softplus(fake).mean() + softplus(-real).mean())
    assert float(logistic.critic_loss(real, fake)) == pytest.approx(expected)
    images = torch.randn(3, 1, 4, 4, requires_grad=True)
    scores = (images * 2).flatten(1).sum(1)  # gradient 2 everywhere: |grad|^2 = 4 * 16
    assert float(logistic.r1_penalty(scores, images)) == pytest.approx(64.0)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic():
    weight = torch.zeros(1, 1, 4, 4)
    weight[0, 0, 0, 0] = 1.0  # the critic reads one pixel: its gradient has norm 1 everywhere

    def critic(images):
        return (images * weight).flatten(1).sum(1)

    penalty = wasserstein.gradient_penalty(critic, torch.randn(2, 1, 4, 4))
    assert float(penalty) == pytest.approx(0.0, abs=1e-10)


def run_in(tmp_path: Path, folder: Path, on_event=None, **changes) -> Path:
    config = GANConfig(**{**TINY, "arch": "stylegan2", **changes})
    return gan_api.train_gan(folder, config, out=tmp_path / "runs", name="run", device="cpu",
                             on_event=on_event or (lambda event: None))


def test_a_run_directory_holds_record_checkpoint_log_and_snapshots(tmp_path, data_folder):
    directory = run_in(tmp_path, data_folder)
    record = json.loads((directory / "run.json").read_text())
    assert record["format"] == "singan-gan-run" and record["complete"] and record["images_seen"] == 32
    assert record["data"] == {"path": str(data_folder), "images": 12, "skipped": 0, "channels": 1}
    lines = [json.loads(line) for line in (directory / "log.jsonl").read_text().splitlines()]
    assert [line["images_seen"] for line in lines] == [8, 16, 24, 32]
    assert all(line["seconds_per_kimg"] > 0 and "critic" in line["losses"] for line in lines)
    assert sorted(path.name for path in (directory / "snapshots").iterdir()) == ["snapshot_000000k.png"]
    assert (directory / "checkpoint.safetensors").is_file()
    run = gan_api.load_gan_run(directory, device="cpu")
    assert run.generator.resolution == 8 and run.generator.image_channels == 1


def test_an_existing_run_needs_force(tmp_path, data_folder):
    run_in(tmp_path, data_folder)
    with pytest.raises(RunError, match="--force"):
        run_in(tmp_path, data_folder)


@pytest.mark.parametrize("how", ["ctrl-c", "exception"])
def test_interrupted_run_saves_and_resumes_to_the_same_weights(tmp_path, data_folder, how):
    """Ctrl-C (SIGINT) lets the step finish, then saves; so does a KeyboardInterrupt between two steps."""
    straight = run_in(tmp_path / "straight", data_folder)

    def interrupt(event):
        if isinstance(event, GANProgress) and event.images_seen == 16:
            if how == "ctrl-c":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_in(tmp_path / "interrupted", data_folder, on_event=interrupt)
    directory = tmp_path / "interrupted" / "runs" / "run"
    assert open_run(directory, "gan").record.images_seen == 16
    resumed = gan_api.train_gan(data_folder, GANConfig(**{**TINY, "arch": "stylegan2"}), out=directory.parent,
                                name="run", device="cpu", resume=True)
    first, _ = gan_checkpoint.load_checkpoint(straight)
    second, state = gan_checkpoint.load_checkpoint(resumed)
    assert state["images_seen"] == 32
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_resume_may_extend_kimg_but_not_change_the_model(tmp_path, data_folder):
    directory = run_in(tmp_path, data_folder)
    with pytest.raises(ConfigError, match="--arch"):
        gan_api.train_gan(data_folder, GANConfig(**{**TINY, "arch": "pggan"}), out=directory.parent, name="run",
                          device="cpu", resume=True, changes={"arch": "pggan"})
    gan_api.train_gan(data_folder, None, out=directory.parent, name="run", device="cpu", resume=True,
                      changes={"kimg": 0.048})
    assert open_run(directory, "gan").record.images_seen == 48


def test_non_finite_loss_stops_and_keeps_the_checkpoint(tmp_path, data_folder, monkeypatch):
    directory = run_in(tmp_path, data_folder)
    saved = (directory / "checkpoint.safetensors").read_bytes()
    monkeypatch.setattr(logistic, "generator_loss", lambda scores: scores.mean() * float("nan"))
    with pytest.raises(GANNonFiniteLossError, match="checkpoint at 32 images is kept"):
        gan_api.train_gan(data_folder, None, out=directory.parent, name="run", device="cpu", resume=True,
                          changes={"kimg": 0.064})
    assert (directory / "checkpoint.safetensors").read_bytes() == saved


def test_corrupt_or_missing_checkpoint_is_a_clear_error(tmp_path, data_folder):
    directory = run_in(tmp_path, data_folder)
    (directory / "checkpoint.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match="corrupt"):
        gan_api.load_gan_run(directory, device="cpu")
    (directory / "checkpoint.safetensors").unlink()
    with pytest.raises(RunError, match="missing"):
        gan_api.train_gan(data_folder, None, out=directory.parent, name="run", device="cpu", resume=True)
    with pytest.raises(RunError, match="no such run"):
        gan_api.load_gan_run(tmp_path / "nothing", device="cpu")


def test_single_image_runs_are_told_apart(tmp_path):
    directory = tmp_path / "singan"
    directory.mkdir()
    (directory / "run.json").write_text(json.dumps({"format": "singan-run", "format_version": 1}))
    with pytest.raises(RunError, match="single-image"):
        gan_api.load_gan_run(directory, device="cpu")
