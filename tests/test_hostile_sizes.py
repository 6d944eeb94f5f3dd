"""Hostile sizes (issue 15): every size that reaches an allocation is bounded first. Options beyond sane limits,
requests that cannot fit in memory, and run.json files or checkpoints edited by hand are each one clear error,
given before anything of the claimed size is allocated (so each test is quick and small)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import torch

from conftest import shapes_folder, synthetic_image, write_image
from singan import api, memory
from singan.api import gan as gan_api
from singan.config.gan import GANConfig
from singan.config.singan import TrainConfig
from singan.errors import ConfigError, RunError
from singan.files import atomic_write_bytes
from singan.ranges import parse_seeds
from singan.tensorfile import encode_tensors, read_tensors, split_state
from singan.training.architectures import build_generator, check_training_fits, checked, paper_sizes
from tasks.singan.super_resolution import check_upscale_fits, super_resolve
from test_cli import assert_clean_error, invoke

FIXTURES = Path(__file__).parent / "fixtures" / "runs_v1" / "runs"
# A refusal comes before any allocation of the requested size: well under what building or filling it takes.
QUICK_SECONDS = 1.0
GIGABYTE = 10**9


@pytest.fixture(scope="module", autouse=True)
def meta_device_imported():
    """The meta device's first use imports much of torch (a second, once per process): not part of a refusal."""
    with torch.device("meta"):
        checked(GANConfig())
        torch.nn.Conv2d(1, 1, 3)
        build_generator(GANConfig(resolution=8))


def refused(call, error: type[Exception], match: str):
    """`call()` raises `error` matching `match`, within QUICK_SECONDS; returns the error."""
    start = time.perf_counter()
    with pytest.raises(error, match=match) as raised:
        call()
    assert time.perf_counter() - start < QUICK_SECONDS
    return raised.value


def quickly(call):
    start = time.perf_counter()
    result = call()
    assert time.perf_counter() - start < QUICK_SECONDS
    return result


def copied(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def edit_record(run: Path, change) -> Path:
    record = json.loads((run / "run.json").read_text())
    change(record)
    (run / "run.json").write_text(json.dumps(record))
    return run


def edit_state(run: Path, change) -> Path:
    """Rewrite the JSON training state inside checkpoint.safetensors: `change(state)` returns the new one."""
    path = run / "checkpoint.safetensors"
    tensors, state = split_state(read_tensors(path))
    atomic_write_bytes(path, encode_tensors(tensors, change(state)))
    return run


@pytest.fixture
def memory_of(monkeypatch):
    """Pretend every device has `bytes` of memory available."""
    def set_available(available: int) -> None:
        monkeypatch.setattr(memory, "available_memory_bytes", lambda device="cpu": available)
    return set_available


# ---- limits of the options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, flag", [
    ("batch", 100_000, "--batch"), ("channel_max", 100_000, "--channel-max"), ("z_dim", 100_000, "--z-dim"),
    ("w_dim", 100_000, "--w-dim"), ("mapping_layers", 1000, "--mapping-layers"),
    ("channel_base", 2**40, "--channel-base"),
])
def test_gan_sizes_beyond_their_limits_are_refused(name, value, flag):
    refused(lambda: checked(GANConfig(**{name: value})), ConfigError, f"{flag} must be a positive integer up to")


@pytest.mark.parametrize("name, value, flag", [
    ("max_channels", 100_000, "--max-channels"), ("base_channels", 100_000, "--base-channels"),
    ("max_size", 10**6, "--max-size"), ("crop_size", 10**6, "--crop-size"),
])
def test_singan_sizes_beyond_their_limits_are_refused(name, value, flag):
    refused(lambda: TrainConfig(**{name: value}).validate(), ConfigError, f"{flag} must be")


@pytest.mark.parametrize("option, value", [("--batch", "100000"), ("--channel-max", "100000"),
                                           ("--mapping-layers", "1000")])
def test_gan_train_refuses_sizes_beyond_the_limits_in_one_line(tmp_path, option, value):
    folder = shapes_folder(tmp_path / "shapes", count=4, size=8)
    result = quickly(lambda: invoke("gan", "train", folder, option, value, "--out", tmp_path / "runs",
                                    "--device", "cpu", "--quiet"))
    assert_clean_error(result, f"{option} must be a positive integer up to")
    assert not (tmp_path / "runs").exists()


# ---- the memory check --------------------------------------------------------------------------------------

def test_available_memory_is_read_from_the_system(monkeypatch, tmp_path):
    assert memory.available_memory_bytes("cpu") > 0
    monkeypatch.setattr(memory, "MEMINFO", str(tmp_path / "no-meminfo"))
    assert memory.available_memory_bytes("cpu") > 0  # from os.sysconf
    assert memory.available_memory_bytes("meta") is None  # unknown: nothing is refused
    memory.check_fits(10**30, "anything", "nothing to do", "meta")


def test_check_fits_names_the_request_the_sizes_and_the_advice(memory_of):
    memory_of(8 * GIGABYTE)
    memory.check_fits(7 * GIGABYTE, "--batch 4", "lower --batch")
    error = refused(lambda: memory.check_fits(59 * GIGABYTE, "--batch 4096", "lower --batch"), ConfigError,
                    "about 59 GB")
    assert str(error) == "--batch 4096 asks for about 59 GB of memory (8.0 GB available on cpu); lower --batch"


def test_gan_train_refuses_a_batch_that_cannot_fit_before_loading_anything(tmp_path):
    folder = shapes_folder(tmp_path / "shapes", count=4, size=8)
    result = quickly(lambda: invoke("gan", "train", folder, "--batch", "65536", "--out", tmp_path / "runs",
                                    "--device", "cpu", "--quiet"))
    assert_clean_error(result, "--batch 65536 at 64 px", "GB of memory", "lower --batch")
    assert not (tmp_path / "runs").exists()


def test_gan_train_refuses_networks_that_cannot_fit(tmp_path):
    config = GANConfig(resolution=1024, channel_max=4096, channel_base=4096 * 1024)
    refused(lambda: gan_api.train_gan(tmp_path / "nowhere", config, out=tmp_path, device="cpu"), ConfigError,
            "up to 4096 channels.*GB of memory")


@pytest.mark.parametrize("arch", ["pggan", "stylegan", "stylegan2"])
def test_the_papers_settings_at_1024_px_fit_a_large_gpu(arch, memory_of):
    """Batch 32 at 1024 px with the papers' sizes is within the limits, and not refused on an 80 GB GPU, nor
    4 per GPU on 16 GB."""
    config = checked(GANConfig(arch=arch, resolution=1024, batch=32, **paper_sizes(arch)))
    memory_of(80 * GIGABYTE)
    check_training_fits(config, 1, torch.device("cpu"))
    memory_of(16 * GIGABYTE)
    check_training_fits(config, 8, torch.device("cpu"))


# ---- SinGAN run.json and weights ---------------------------------------------------------------------------

def enlarge_finest(record: dict, side: int) -> None:
    """The finest scale (and the input image) claimed to be side x side: the weights do not say otherwise."""
    record["input"]["size"] = [side, side]
    record["pyramid"]["sizes"][-1] = [side, side]
    record["scales"][-1]["size"] = [side, side]


@pytest.mark.parametrize("change, message", [
    (lambda record: enlarge_finest(record, 100_000), "pyramid sizes must be .* of 1 to 65536 px"),
    (lambda record: record["pyramid"]["sizes"].__setitem__(0, [100_000, 100_000]), "pyramid sizes must be"),
    (lambda record: record["pyramid"]["sizes"].__setitem__(-1, ["24", 32]), "pyramid sizes must be"),
    (lambda record: (record["pyramid"]["sizes"].__setitem__(-1, [60_000, 60_000]),
                     record["scales"][-1].__setitem__("size", [60_000, 60_000])), "larger than the input image"),
    (lambda record: record["scales"][2].__setitem__("channels", 100_000), "scale 2 has 100000 channels"),
    (lambda record: record["config"].__setitem__("max_channels", 100_000), "--max-channels must be"),
    (lambda record: record["config"].__setitem__("max_size", 10**9), "--max-size must be"),
    (lambda record: record["scales"][1].__setitem__("weights", "weights/scale_00.safetensors"),
     "scale 1 has weights 'weights/scale_00.safetensors', expected 'weights/scale_01.safetensors'"),
])
def test_singan_records_with_hostile_sizes_are_refused(tmp_path, change, message):
    run = edit_record(copied("singan", tmp_path), change)
    refused(lambda: api.open_run(run), RunError, message)


def test_singan_weights_are_checked_against_the_record_before_networks_are_built(tmp_path):
    """A record that claims 4096 channels everywhere (consistent with its config) does not build networks of
    4096 channels (3.6 GB for the first scale) for weights files that hold 8."""
    def widen(record):
        record["config"].update(base_channels=4096, max_channels=4096)
        for scale in record["scales"]:
            scale["channels"] = 4096
    run = edit_record(copied("singan", tmp_path), widen)
    refused(lambda: api.load_run(run, device="cpu"), RunError, "scale_00.safetensors: tensors do not match run.json")


@pytest.fixture
def huge_singan_run(tmp_path) -> Path:
    """The tiny run, its finest scale claimed to be 60000 x 60000 px (within the limits; the weights of a
    SinGAN scale do not depend on its size)."""
    return edit_record(copied("singan", tmp_path), lambda record: enlarge_finest(record, 60_000))


def test_sampling_a_run_too_large_for_the_memory_is_refused(huge_singan_run, tmp_path, memory_of):
    memory_of(64 * GIGABYTE)
    run = api.load_run(huge_singan_run, device="cpu")
    refused(lambda: api.sample_run(run, [0], out=tmp_path / "out"), ConfigError,
            "1 image.* of 60000x60000 px at once asks for about .* GB of memory")
    result = quickly(lambda: invoke("sample", huge_singan_run, "--num", "1", "--device", "cpu"))
    assert_clean_error(result, "60000x60000 px", "--scale-h")


def test_animating_and_evaluating_are_refused_when_their_frames_cannot_fit(huge_singan_run, memory_of):
    memory_of(64 * GIGABYTE)
    run = api.load_run(huge_singan_run, device="cpu")
    refused(lambda: api.animate_run(run, frames=2, start_scale=0), ConfigError, "--frames 2 at 60000x60000 px")
    refused(lambda: api.evaluate_run(run, num=2), ConfigError, "--num 2 at 60000x60000 px")


def test_a_stretch_or_size_within_the_limits_is_refused_when_it_cannot_fit(tmp_path, memory_of):
    run = api.load_run(copied("singan", tmp_path), device="cpu")
    memory_of(50 * 10**6)
    refused(lambda: api.sample_run(run, [0], scale_h=60, scale_v=60, out=tmp_path / "out"), ConfigError,
            "1440x1920 px at once")
    refused(lambda: api.retarget_run(run, (1500, 2000), [0], out=tmp_path / "out"), ConfigError, "1500x2000 px")
    refused(lambda: api.sample_run(run, [0], batch_size=100_000, out=tmp_path / "out"), ConfigError,
            "100000 image")
    assert not (tmp_path / "out").exists()


def test_super_resolution_of_a_large_image_is_refused(tmp_path):
    run = api.load_run(copied("singan", tmp_path), device="cpu")
    image = torch.zeros(1, 3, 2000, 2000)
    refused(lambda: super_resolve(run.model, image, 16), ConfigError, r"--factor 16 \(a 32000x32000 px result\)")
    refused(lambda: check_upscale_fits(image, 16, TrainConfig(max_size=2000), torch.device("cpu")), ConfigError,
            "lower --factor")


def test_sr_refuses_before_training_a_run_it_could_not_use(tmp_path):
    image = write_image(tmp_path / "large.png", synthetic_image(1600, 1600))
    result = quickly(lambda: invoke("sr", image, "--factor", "16", "--out", tmp_path / "runs", "--device", "cpu"))
    assert_clean_error(result, "--factor 16 (a 25600x25600 px result)", "GB of memory")
    assert not (tmp_path / "runs").exists()


def test_sample_num_beyond_the_seed_limit_is_one_line(tmp_path):
    result = quickly(lambda: invoke("sample", copied("singan", tmp_path), "--num", "1000000000000", "--device", "cpu"))
    assert_clean_error(result, "--num must be a positive integer up to 1000000")


def test_seed_lists_are_parsed_quickly_and_bounded():
    assert len(quickly(lambda: parse_seeds("0-99999,5,200000-299999"))) == 200_000
    ranges = ",".join(f"{first}-{first + 100_000}" for first in range(0, 1_100_011, 100_001))
    refused(lambda: parse_seeds(ranges), ConfigError, "--seeds: at most 1000000 numbers in all")


# ---- GAN run.json and checkpoints --------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda record: record["config"].__setitem__("channel_max", 100_000), "--channel-max must be a positive"),
    (lambda record: record["config"].__setitem__("batch", 10**9), "--batch must be a positive integer up to"),
    (lambda record: record.__setitem__("images_seen", "abc"), "images_seen is 'abc'"),
    (lambda record: record.__setitem__("images_seen", -5), "images_seen is -5"),
    (lambda record: record["data"].__setitem__("channels", 100_000), "data.channels is 100000"),
    (lambda record: record.__setitem__("processes", 0), "processes is 0"),
])
def test_gan_records_with_hostile_values_are_refused(tmp_path, change, message):
    run = edit_record(copied("stylegan2", tmp_path), change)
    refused(lambda: api.open_run(run), RunError, message)


def test_gan_checkpoints_are_checked_against_the_record_before_the_generator_is_built(tmp_path):
    """A record that claims 4096 channels and latents does not build a generator of gigabytes for a checkpoint
    of a small one."""
    run = edit_record(copied("stylegan2", tmp_path), lambda record: record["config"].update(
        channel_max=4096, channel_base=4096 * 8, z_dim=4096, w_dim=4096))
    refused(lambda: gan_api.load_gan_run(run, device="cpu"), RunError,
            "checkpoint.safetensors: tensors do not match run.json")


@pytest.mark.parametrize("change, message", [
    (lambda state: [state], "its training state is list, expected an object"),
    (lambda state: state | {"images_seen": "abc"}, "images_seen is 'abc', expected a count"),
    (lambda state: state | {"critic_steps": -1}, "critic_steps is -1, expected a count"),
    (lambda state: state | {"generator_steps": True}, "generator_steps is True, expected a count"),
    (lambda state: {key: value for key, value in state.items() if key != "optimizer_resolution"},
     "optimizer_resolution is missing"),
    (lambda state: state | {"sampler": "abc"}, "sampler is 'abc', expected the data order"),
    (lambda state: state | {"sampler": state["sampler"] | {"epoch": 1.5}}, "sampler.epoch is 1.5"),
    (lambda state: state | {"sampler": state["sampler"] | {"position": 10**6}}, "sampler.position is 1000000"),
])
def test_corrupt_checkpoint_states_are_refused(tmp_path, change, message):
    run = edit_state(copied("stylegan2", tmp_path), change)
    refused(lambda: gan_api.load_gan_run(run, device="cpu"), RunError, f"corrupt checkpoint \\({message}")


def test_resuming_from_a_corrupt_checkpoint_state_is_one_line(tmp_path):
    run = edit_state(copied("stylegan2", tmp_path), lambda state: state | {"images_seen": "abc"})
    folder = shapes_folder(tmp_path / "shapes", count=8, size=8)
    result = invoke("gan", "train", folder, "--resume", "--kimg", "0.032", "--out", tmp_path, "--name", run.name,
                    "--device", "cpu", "--quiet")
    assert_clean_error(result, "corrupt checkpoint (images_seen is 'abc', expected a count)")


# ---- GAN task outputs --------------------------------------------------------------------------------------

@pytest.fixture
def small_gan(tmp_path):
    """The committed 8 px StyleGAN2 run, loaded: 256 bytes an image, so 100 kB of memory holds few."""
    return gan_api.load_gan_run(copied("stylegan2", tmp_path), device="cpu")


def test_gan_outputs_that_cannot_fit_are_refused(small_gan, tmp_path, memory_of):
    memory_of(100_000)
    out = tmp_path / "out"
    refused(lambda: gan_api.interpolate_run(small_gan, [0, 1], frames=1000, mp4=False, out=out), ConfigError,
            "--frames 1000 at 8 px")
    refused(lambda: gan_api.mix_run(small_gan, list(range(30)), list(range(30)), "0-1", out=out), ConfigError,
            "a grid of 30 x 30 seeds")
    refused(lambda: gan_api.generate_run(small_gan, list(range(1000)), grid=True, out=out), ConfigError,
            "--grid of 1000 images")
    assert not out.exists()


def test_gan_eval_refuses_a_number_of_images_that_cannot_fit(tmp_path):
    run = copied("stylegan2", tmp_path)
    folder = shapes_folder(tmp_path / "shapes", count=8, size=8)
    result = quickly(lambda: invoke("gan", "eval", run, folder, "--num", "10000000000", "--device", "cpu"))
    assert_clean_error(result, "--num 10000000000 at 8 px", "lower --num")
    assert not (run / "eval.json").exists()
