"""`singan esrgan train`: every architecture and stage trains a few iterations on tiny crops with finite
losses, the L1 falls, resume is exact (networks, optimisers, EMA and the data stream), Ctrl-C saves, and
bad inputs are one line that writes nothing."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from conftest import synthetic_image, write_image
from singan.api import esrgan as esrgan_api
from singan.api.esrgan_training import train_esrgan
from singan.cli import app
from singan.config.esrgan import ESRGANConfig
from singan.errors import ConfigError, InputImageError, RunError
from singan.events import ESRGANProgress
from singan.models.vgg import VGG19Features
from singan.runs import esrgan as runs
from singan.tensorfile import read_tensors

TINY = dict(crop=32, batch=2, features=8, blocks=1, growth=4, discriminator_features=8, log_every=1,
            snapshot_every=2, checkpoint_every=2, val_every=2, seed=3)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("esrgan-data")
    for index in range(3):
        write_image(root / "hr" / f"image{index}.png", synthetic_image(48, 40 + 8 * index, seed=index))
    write_image(root / "val" / "held.png", synthetic_image(36, 44, seed=9))
    vgg = VGG19Features(("conv5_4",))
    torch.manual_seed(0)
    save_file({key: torch.randn_like(value) * 0.05 for key, value in vgg.state_dict().items()},
              str(root / "vgg19.safetensors"))
    return root


def train(folders, tmp_path, **settings):
    extra = {key: settings.pop(key) for key in ("init", "vgg_weights", "resume", "force", "changes", "on_event",
                                                 "name") if key in settings}
    config = ESRGANConfig(**{**TINY, **settings})
    return train_esrgan(folders / "hr", config, val=folders / "val", out=tmp_path, device="cpu",
                        **{"name": "run", **extra})


def log(directory):
    return [json.loads(line) for line in (directory / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("settings", [
    dict(arch="rrdb"),
    dict(arch="rrdb", scale=2, degradation="realesrgan"),
    dict(arch="srvgg", blocks=2),
    dict(arch="msrresnet", blocks=2, scale=2),
    dict(arch="srresnet", blocks=2, stage="gan"),
    dict(arch="rrdb", stage="gan"),
    dict(arch="rrdb", stage="gan", recipe="realesrgan", degradation="realesrgan"),
    dict(arch="rrdb", scale=1, stage="gan", perceptual=False),
], ids=["rrdb-psnr", "rrdb-x2-realesrgan-data", "srvgg-psnr", "msrresnet-x2-psnr", "srresnet-srgan", "rrdb-esrgan",
        "rrdb-realesrgan", "rrdb-x1-no-perceptual"])
def test_each_architecture_and_stage_trains_with_finite_losses(folders, tmp_path, settings):
    directory = train(folders, tmp_path, iterations=3, vgg_weights=folders / "vgg19.safetensors", **settings)
    entries = log(directory)
    assert [entry["iteration"] for entry in entries] == [1, 2, 3]
    for entry in entries:
        assert entry["losses"] and all(torch.isfinite(torch.tensor(value)) for value in entry["losses"].values())
    if settings.get("stage") == "gan":
        assert {"critic", "adversarial"} <= set(entries[-1]["losses"])
        assert ("perceptual" in entries[-1]["losses"]) == settings.get("perceptual", True)
    record = runs.record_from_json(json.loads((directory / "run.json").read_text()), directory / "run.json")
    assert record.complete and record.iteration == 3 and record.training["validation"]["images"] == 1
    assert sorted(path.name for path in (directory / "snapshots").iterdir()) == ["snapshot_0000002.png",
                                                                                 "snapshot_0000003.png"]
    loaded = esrgan_api.load_network(directory, "cpu")
    image = torch.rand(1, 3, 12, 16) * 2 - 1
    assert esrgan_api.upscale_image(loaded, image).shape[-2:] == (12 * record.detected.scale,
                                                                  16 * record.detected.scale)


def test_the_pixel_loss_falls(folders, tmp_path):
    directory = train(folders, tmp_path, arch="srvgg", blocks=2, iterations=60, lr=2e-3, log_every=20,
                      augment=False)
    losses = [entry["losses"]["pixel"] for entry in log(directory)]
    assert losses[-1] < losses[0] * 0.8


def test_resume_is_exact(folders, tmp_path):
    """Two sessions (stopped at 2, resumed to 4) end with every tensor of one session of 4 iterations: the
    networks, their average, both optimisers and the data stream."""
    common = dict(arch="rrdb", stage="gan", vgg_weights=folders / "vgg19.safetensors", degradation="realesrgan",
                  recipe="realesrgan")
    straight = train(folders, tmp_path, iterations=4, name="straight", **common)
    train(folders, tmp_path, iterations=2, name="parts", **common)
    parts = train(folders, tmp_path, iterations=4, name="parts", resume=True, changes={"iterations": 4}, **common)
    first, second = read_tensors(straight / runs.CHECKPOINT_FILE), read_tensors(parts / runs.CHECKPOINT_FILE)
    assert first.keys() == second.keys() and any(key.startswith("discriminator_optimizer") for key in first)
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert log(straight)[-1]["losses"] == log(parts)[-1]["losses"]


def test_the_gan_stage_starts_from_init(folders, tmp_path):
    psnr = train(folders, tmp_path, iterations=2, name="psnr")
    gan = train(folders, tmp_path, iterations=1, stage="gan", perceptual=False, init=psnr, name="gan",
                blocks=None, features=64)  # the sizes come from --init where they were left at defaults
    record = json.loads((gan / "run.json").read_text())
    assert record["network"]["features"] == 8 and record["training"]["init"] == str(psnr.resolve())
    with pytest.raises(ConfigError, match="different network"):
        train(folders, tmp_path, iterations=1, stage="gan", perceptual=False, init=psnr, name="other",
              changes={"features": 16})
    assert not (tmp_path / "other").exists()


def test_ctrl_c_saves_and_resume_finishes(folders, tmp_path):
    def interrupt(event):
        if isinstance(event, ESRGANProgress) and event.iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(folders, tmp_path, iterations=6, on_event=interrupt)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["training"]["iteration"] == 3 and not record["complete"]
    train(folders, tmp_path, iterations=6, resume=True)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["training"]["iteration"] == 6


def test_bad_inputs_write_nothing(folders, tmp_path):
    with pytest.raises(ConfigError, match="--vgg-weights"):
        train(folders, tmp_path, iterations=1, stage="gan")
    with pytest.raises(RunError, match="no such weights file"):
        train(folders, tmp_path, iterations=1, stage="gan", vgg_weights=tmp_path / "missing.pth")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"features.0.weight": torch.zeros(3, 3)}, str(foreign))
    with pytest.raises(RunError, match="not VGG19 weights"):
        train(folders, tmp_path, iterations=1, stage="gan", vgg_weights=foreign)
    with pytest.raises(InputImageError, match="smaller than"):
        train(folders, tmp_path, iterations=1, crop=64)
    with pytest.raises(ConfigError, match="--scale"):
        train(folders, tmp_path, iterations=1, arch="srresnet", scale=1)
    with pytest.raises(ConfigError, match="--crop"):
        train(folders, tmp_path, iterations=1, stage="gan", perceptual=False, crop=40)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["foreign.safetensors"]


def test_resume_keeps_the_run_settings(folders, tmp_path):
    train(folders, tmp_path, iterations=2)
    with pytest.raises(ConfigError, match="--batch"):
        train(folders, tmp_path, iterations=3, resume=True, changes={"batch": 4})
    interpolated = esrgan_api.interpolate_networks(tmp_path / "run", tmp_path / "run", 0.5, out=tmp_path,
                                                   name="mixed")
    with pytest.raises(RunError, match="nothing to resume"):
        train(folders, tmp_path, iterations=3, resume=True, name="mixed")
    assert esrgan_api.load_network(interpolated, "cpu").detected.features == 8


def test_cli_trains_and_refuses_in_one_line(folders, tmp_path):
    runner = CliRunner()
    common = ["esrgan", "train", str(folders / "hr"), "--out", str(tmp_path), "--crop", "32", "--batch", "2",
              "--features", "8", "--blocks", "1", "--growth", "4", "--iterations", "2", "-q"]
    result = runner.invoke(app, common)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hr-rrdb-x4-psnr" / runs.GENERATOR_FILE).exists()
    result = runner.invoke(app, common + ["--stage", "gan", "--name", "gan"])
    assert result.exit_code == 1 and not (tmp_path / "gan").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--no-perceptual" in lines[0]
    result = runner.invoke(app, common + ["--stage", "gan", "--name", "gan", "--no-perceptual"])
    assert result.exit_code == 0, result.output


def test_recipes_follow_the_papers():
    psnr = ESRGANConfig().losses
    assert (psnr.pixel_weight, psnr.perceptual_weight, psnr.gan_weight) == (1.0, 0.0, 0.0)
    esrgan = ESRGANConfig(stage="gan").losses
    assert (esrgan.pixel_weight, esrgan.perceptual_weight, esrgan.gan_weight) == (1e-2, 1.0, 5e-3)
    assert esrgan.perceptual_layers == (("conv5_4", 1.0),) and esrgan.gan_loss == "relativistic"
    real = ESRGANConfig(stage="gan", recipe="realesrgan").losses
    assert real.discriminator == "unet" and real.gan_weight == 0.1 and real.sharpen_target
    assert [weight for _, weight in real.perceptual_layers] == [0.1, 0.1, 1.0, 1.0, 1.0]
    srgan = ESRGANConfig(arch="srresnet", stage="gan")
    assert srgan.recipe_name == "srgan" and srgan.losses.perceptual_layers[0][0] == "relu5_4"
    assert srgan.losses.gan_loss == "vanilla" and srgan.losses.gan_weight == 1e-3
    assert ESRGANConfig(stage="gan", perceptual=False).losses.perceptual_weight == 0
    assert ESRGANConfig(stage="gan", gan_weight=0.5).losses.gan_weight == 0.5
    assert ESRGANConfig().rate_at(0) == 2e-4 and ESRGANConfig(iterations=500_000).rate_at(450_000) == 5e-5
    assert ESRGANConfig(stage="gan").rate_at(120_000) == 2.5e-5
    assert ESRGANConfig().ema_decay(0) == pytest.approx(0.1) and ESRGANConfig().ema_decay(20_000) == 0.999
    assert ESRGANConfig(ema_warmup=False).ema_decay(0) == 0.999


@pytest.mark.parametrize("settings, flag", [
    (dict(arch="edsr"), "--arch"), (dict(scale=3), "--scale"), (dict(stage="fine"), "--stage"),
    (dict(recipe="mine", stage="gan"), "--recipe"), (dict(batch=0), "--batch"), (dict(crop=30), "--crop"),
    (dict(lr=-1.0), "--lr"), (dict(ema=1.0), "--ema"), (dict(lr_halvings="a,b"), "--lr-halvings"),
    (dict(degradation="jpeg"), "--degradation"), (dict(blocks=10**6), "--blocks"),
])
def test_bad_settings_name_their_flag(settings, flag):
    with pytest.raises(ConfigError, match=flag):
        ESRGANConfig(**settings).validate()
