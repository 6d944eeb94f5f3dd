"""The run directory: contents, strict loading, and every way a run can be broken."""

import json
import shutil

import pytest
import torch

from singan import api
from singan.errors import RunError
from singan.runs import open_run
from singan.runs import singan as checkpoint

from conftest import TINY


def test_run_directory_contents(trained_run):
    record = json.loads((trained_run / "run.json").read_text())
    assert record["format"] == "singan-run" and record["format_version"] == checkpoint.FORMAT_VERSION
    assert record["complete"] is True
    assert record["seed"] == TINY.seed and record["config"]["iterations"] == TINY.iterations
    assert len(record["input"]["sha256"]) == 64
    assert record["torch_version"] == torch.__version__ and record["package_version"]
    assert len(record["scales"]) == len(record["pyramid"]["sizes"]) == 4
    for index, scale in enumerate(record["scales"]):
        assert set(scale) >= {"size", "channels", "iterations", "seconds", "noise_amp"}
        assert scale["size"] == record["pyramid"]["sizes"][index]
        assert (trained_run / scale["weights"]).is_file()
        for kind in ("real", "sample", "reconstruction"):
            assert (trained_run / "previews" / f"scale_{index:02d}_{kind}.png").is_file()
    lines = [json.loads(line) for line in (trained_run / "log.jsonl").read_text().splitlines()]
    assert {line["scale"] for line in lines} == {0, 1, 2, 3}
    assert all({"critic", "gradient_penalty", "adversarial", "reconstruction"} <= set(line) for line in lines)
    assert not list(trained_run.rglob("*.tmp")), "no temporary files are left behind"


def test_weights_are_safetensors_not_pickles(trained_run):
    for path in (trained_run / "weights").iterdir():
        header_length = int.from_bytes(path.read_bytes()[:8], "little")
        header = json.loads(path.read_bytes()[8:8 + header_length])
        assert "generator.tail.0.weight" in header and "critic.tail.weight" in header
    assert not list(trained_run.rglob("*.pt")) and not list(trained_run.rglob("*.pth"))


def test_save_load_gives_bit_identical_samples(tmp_path, trained_run):
    directory = trained_run
    loaded = api.load_run(directory, device="cpu")
    record = open_run(directory, "singan").record
    # a second, independent load: same tensors, same samples
    again = checkpoint.load_model(directory, record, torch.device("cpu"))
    first = api.sample_run(loaded, [0, 5], out=tmp_path / "a")
    loaded.model = again
    second = api.sample_run(loaded, [0, 5], out=tmp_path / "b")
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]


def test_loaded_model_equals_the_trained_one(tmp_path, image_file, monkeypatch):
    from singan.training.singan import PyramidTrainer
    trained = {}
    original = PyramidTrainer.train_next_scale

    def keep(self):
        result = original(self)
        trained["model"] = self.model
        return result

    monkeypatch.setattr(PyramidTrainer, "train_next_scale", keep)
    directory = api.train_run(image_file, TINY.replace(iterations=2), out=tmp_path / "runs", device="cpu")
    loaded = api.load_run(directory, device="cpu").model
    memory = trained["model"]
    assert loaded.noise_amplitudes == memory.noise_amplitudes and loaded.sizes == memory.sizes
    for key, value in memory.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    noises = [torch.randn(2, loaded.noise_channels(k), *size, generator=torch.Generator().manual_seed(k))
              for k, size in enumerate(loaded.sizes)]
    with torch.no_grad():
        assert torch.equal(loaded.synthesize(noises, loaded.sizes), memory.synthesize(noises, memory.sizes))


def test_missing_run(tmp_path):
    with pytest.raises(RunError, match="no such run directory"):
        api.load_run(tmp_path / "nothing")


def test_directory_without_record(tmp_path):
    with pytest.raises(RunError, match="not a singan run"):
        api.load_run(tmp_path)


def test_incomplete_run_is_refused_with_the_resume_command(run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    record["scales"] = record["scales"][:2]
    (run_copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match=r"incomplete \(2 of 4 scales.*--resume"):
        api.load_run(run_copy)
    assert api.load_run(run_copy, require_complete=False).model.num_scales == 2


def test_newer_format_version_is_refused(run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    record["format_version"] = checkpoint.FORMAT_VERSION + 1
    (run_copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="newer singan"):
        api.load_run(run_copy)


@pytest.mark.parametrize("text", ["{ not json", "[]", '{"format": "singan-run"}', ""])
def test_corrupt_record(run_copy, text):
    (run_copy / "run.json").write_text(text)
    with pytest.raises(RunError):
        api.load_run(run_copy)


def test_record_with_wrong_fields(run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    del record["scales"][1]["noise_amp"]
    (run_copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="malformed"):
        api.load_run(run_copy)


def test_weights_that_do_not_match_the_record(run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    record["scales"][1]["channels"] = 64
    (run_copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="scale 1 has 64 channels; its config gives 32"):
        api.load_run(run_copy)


def test_weights_file_of_another_scale(run_copy):
    shutil.copy(run_copy / "weights" / "scale_01.safetensors", run_copy / "weights" / "scale_00.safetensors")
    with pytest.raises(RunError, match="scale_00.safetensors: tensors do not match run.json"):
        api.load_run(run_copy)


def test_truncated_weights_file(run_copy):
    path = run_copy / "weights" / "scale_02.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RunError, match="corrupt weights file"):
        api.load_run(run_copy)


def test_missing_weights_file(run_copy):
    (run_copy / "weights" / "scale_03.safetensors").unlink()
    with pytest.raises(RunError, match="weights file missing"):
        api.load_run(run_copy)


def test_an_existing_run_is_not_overwritten_without_force(run_copy, image_file):
    directory = run_copy
    before = (directory / "run.json").read_bytes()
    with pytest.raises(RunError, match="already holds a run.*--force"):
        api.train_run(image_file, TINY, out=directory.parent, device="cpu")
    assert (directory / "run.json").read_bytes() == before
    api.train_run(image_file, TINY.replace(seed=9, iterations=2), out=directory.parent, device="cpu", force=True)
    assert json.loads((directory / "run.json").read_text())["seed"] == 9


def test_force_replaces_the_old_models_evaluation_too(run_copy):
    api.evaluate_run(api.load_run(run_copy, device="cpu"), num=2)
    assert (run_copy / "eval.json").exists()
    record = open_run(run_copy, "singan").record
    api.train_run(record.input.path, TINY.replace(seed=9, iterations=2), out=run_copy.parent, name=run_copy.name,
                  device="cpu", force=True)
    assert not (run_copy / "eval.json").exists(), "figures of the replaced model would describe the new one"
    assert open_run(run_copy, "singan").record.seed == 9


def test_force_does_not_delete_other_files_and_foreign_folders_are_refused(tmp_path, image_file):
    foreign = tmp_path / "runs" / "tiny"
    foreign.mkdir(parents=True)
    (foreign / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(RunError, match="not a singan run"):
        api.train_run(image_file, TINY, out=tmp_path / "runs", device="cpu", force=True)
    assert (foreign / "holiday.jpg").read_bytes() == b"precious"


def test_a_gpu_trained_run_loads_on_the_cpu(run_copy):
    # Weights are stored without a device; a record written on a GPU names it but loads anywhere.
    record = json.loads((run_copy / "run.json").read_text())
    record["device"] = "cuda:0 (NVIDIA H100 80GB HBM3)"
    (run_copy / "run.json").write_text(json.dumps(record))
    run = api.load_run(run_copy, device="cpu")
    assert run.device.type == "cpu"
    assert all(parameter.device.type == "cpu" for parameter in run.model.parameters())
