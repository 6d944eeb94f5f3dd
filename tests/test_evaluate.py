"""`singan eval` and its task: figures of a tiny trained run, eval.json, and bad input as one clean line."""

import json
import math

import pytest

from singan import api
from singan.errors import ConfigError
from singan.events import Notice
from singan.runs.common import write_evaluation
from singan.runs.singan import load_real
from tasks.singan import evaluate as evaluation_task

from test_cli import assert_clean_error, invoke

SWD_KEYS = {"levels", "average", "floor_levels", "floor", "ratio", "level_sizes"}


def evaluate(run, **options):
    """The evaluation task on a loaded run and its training image."""
    return evaluation_task.evaluate(run.model, load_real(run.directory, run.record), **options)


def test_evaluate_a_tiny_run(loaded_run, tmp_path):
    evaluation = evaluate(loaded_run, num=4, seed=3)
    values = evaluation.to_dict()
    assert {"num", "seed", "start_scale", "patches_per_image", "swd", "reconstruction_swd", "diversity",
            "sifid_computed", "sifid"} <= set(values)
    assert (values["num"], values["seed"], values["start_scale"]) == (4, 3, 0)
    assert set(values["swd"]) == set(values["reconstruction_swd"]) == SWD_KEYS
    assert values["swd"]["level_sizes"] == [[24, 32]]
    assert values["sifid_computed"] is False and values["sifid"] is None
    assert evaluation.diversity > 0 and math.isfinite(evaluation.swd.ratio)
    # Even six iterations a scale reproduce the image's patches about as well as the image itself does.
    assert evaluation.reconstruction_swd.ratio < 2
    path = write_evaluation(tmp_path, evaluation.to_dict())
    assert path == tmp_path / "eval.json" and json.loads(path.read_text()) == values


def test_the_same_seed_gives_the_same_figures(loaded_run):
    first, again = evaluate(loaded_run, num=3, seed=5), evaluate(loaded_run, num=3, seed=5)
    assert first == again
    assert evaluate(loaded_run, num=3, seed=6).diversity != first.diversity


def test_samples_from_the_finest_scale_vary_less(loaded_run):
    coarse, fine = evaluate(loaded_run, num=4), evaluate(loaded_run, num=4, start_scale=3)
    assert fine.diversity < coarse.diversity


def test_evaluate_run_writes_eval_json_and_says_sifid_was_skipped(run_copy):
    events = []
    run = api.load_run(run_copy, device="cpu")
    evaluation, path = api.evaluate_run(run, num=3, on_event=events.append)
    assert path == run_copy / "eval.json" and json.loads(path.read_text())["num"] == 3
    assert evaluation.sifid is None
    assert events == [Notice("SIFID skipped: pass --inception-weights PATH (the FID Inception-v3 weights file) "
                             "to compute it")]


@pytest.mark.parametrize("options, message", [({"num": 1}, "--num must be at least 2"),
                                              ({"start_scale": 4}, "use 0 to 3")])
def test_evaluate_run_refuses_bad_options_before_writing(run_copy, options, message):
    with pytest.raises(ConfigError, match=message):
        api.evaluate_run(api.load_run(run_copy, device="cpu"), **options)
    assert not (run_copy / "eval.json").exists()


def test_sifid_with_inception_weights(run_copy, inception_file):
    run = api.load_run(run_copy, device="cpu")
    events = []
    evaluation, path = api.evaluate_run(run, num=2, inception_weights=inception_file, on_event=events.append)
    assert events == [] and math.isfinite(evaluation.sifid) and evaluation.sifid >= 0
    values = json.loads(path.read_text())
    assert values["sifid_computed"] is True and values["sifid"] == evaluation.sifid


# The command

def test_eval_prints_a_table_and_writes_eval_json(run_copy):
    result = invoke("eval", run_copy, "--num", 4, "--seed", 2, "--device", "cpu")
    assert result.exit_code == 0, result.output
    for text in ("SWD level 0", "SWD average", "x floor", "reconstruction", "diversity", "skipped", "eval.json"):
        assert text in result.stdout, text
    assert "SIFID skipped: pass --inception-weights PATH" in result.stderr
    values = json.loads((run_copy / "eval.json").read_text())
    assert (values["num"], values["seed"]) == (4, 2)


def test_eval_quiet_prints_nothing(run_copy):
    result = invoke("eval", run_copy, "-n", 2, "--quiet")
    assert result.exit_code == 0 and result.output == ""
    assert (run_copy / "eval.json").is_file()


def test_eval_with_inception_weights(run_copy, inception_file):
    result = invoke("eval", run_copy, "--num", 2, "--inception-weights", inception_file)
    assert result.exit_code == 0, result.output
    assert "SIFID" in result.stdout and "skipped" not in result.stdout and result.stderr == ""
    assert math.isfinite(json.loads((run_copy / "eval.json").read_text())["sifid"])


def test_eval_of_a_run_that_does_not_exist(tmp_path):
    assert_clean_error(invoke("eval", tmp_path / "no-run"), "no such run directory")
    assert list(tmp_path.iterdir()) == []


def test_eval_of_an_incomplete_run(run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    record["scales"] = record["scales"][:2]
    (run_copy / "run.json").write_text(json.dumps(record))
    assert_clean_error(invoke("eval", run_copy), "incomplete (2 of 4", "--resume")
    assert not (run_copy / "eval.json").exists()


@pytest.mark.parametrize("arguments, fragments", [
    (["--num", "1"], ["--num must be at least 2"]),
    (["--start-scale", "4"], ["use 0 to 3"]),
    (["--inception-weights", "{missing}"], ["--inception-weights", "not found"]),
    (["--inception-weights", "{corrupt}"], ["--inception-weights", "unreadable"]),
])
def test_eval_bad_input(run_copy, arguments, fragments):
    corrupt = run_copy.parent / "corrupt.safetensors"
    corrupt.write_bytes(b"not weights")
    names = {"missing": run_copy.parent / "missing.pth", "corrupt": corrupt}
    result = invoke("eval", run_copy, *[argument.format(**names) for argument in arguments])
    assert_clean_error(result, *fragments)
    assert not (run_copy / "eval.json").exists()
