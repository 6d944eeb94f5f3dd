"""notebooks/singan_colab.ipynb, executed top to bottom in a Jupyter kernel with tiny settings on the CPU: no cell
fails, the samples, the GIF, the upscale and the report are shown, the live Rich bars are drawn (in an ipywidgets
Output, as in Colab and Jupyter), the `!singan` batch prints plain progress lines and its second pass skips
every image."""

import importlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "singan_colab.ipynb"

# Replaces the parameters cell's defaults (a Colab GPU's) with what a 2-core CPU trains in seconds: 24 px, three
# scales of two iterations, a 2x super-resolution of one iteration per scale.
TINY = """\
MAX_SIZE = 24
MIN_SIZE = 12
ITERATIONS = 2
NUM_SAMPLES = 2
FRAMES = 3
ANIMATE_START_SCALE = 1
SR_FACTOR = 2
SR_PRESET = "fast"
SR_SETTINGS = ["--max-size", "28", "--iterations", "1"]
BATCH_THEN = ""
LOG_SECONDS = 0
RUNS = {runs!r}
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CELL_TIMEOUT = 120  # seconds; the longest cell, the first batch, takes 5 to 15 on a 2-core CPU


def _require(module: str):
    """The notebook's tools: skipped where they are not installed, except on CI, where that is a failure."""
    try:
        return importlib.import_module(module)
    except ImportError:
        problem = f'the notebook test needs {module}: pip install -e ".[test]"'
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def _texts(output) -> str:
    """Everything an output shows as text: a stream's text, or a display's text/plain and text/html."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") + data.get("text/html", "")


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _cell(notebook, marker: str):
    """The one code cell whose source contains `marker`."""
    found = [cell for cell in notebook.cells if cell.cell_type == "code" and marker in _source(cell)]
    assert len(found) == 1, f"{len(found)} code cells contain {marker!r}"
    return found[0]


@pytest.mark.slow
def test_colab_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    _require("ipykernel")
    _require("ipywidgets")  # Rich's live display in Jupyter draws into an ipywidgets Output
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [index for index, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    runs = tmp_path / "runs"
    # Inserted after the parameters cell, as papermill injects parameters.
    notebook.cells.insert(parameters[0] + 1, nbformat.v4.new_code_cell(
        TINY.format(runs=str(runs)), metadata={"tags": ["injected-parameters"]}))

    # One thread (the kernel and its `!` commands inherit it): tiny images gain nothing from a second, and on a busy
    # machine two threads wait on each other for seconds.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # The kernel is this interpreter's: with no kernel folders only ipykernel's own spec is left, whose command is
    # sys.executable (a python3 kernel installed for the user could be another Python).
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = nbclient.NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    finally:  # kept for a look at what each cell showed
        nbformat.write(notebook, tmp_path / "executed.ipynb")

    # nbclient stops at a failing cell; a cell must not print a traceback or a warning either.
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", f"{_source(cell)}\nprinted on stderr: {output['text']}"

    # The kernel ran in this environment.
    gpu = "\n".join(_texts(output) for output in _cell(notebook, "torch.cuda.is_available()").outputs)
    assert f"python {sys.executable}\n" in gpu, gpu
    assert "CUDA available:" in gpu

    # Samples, the GIF and the upscales are shown inline; everything was written under tmp_path.
    sample_outputs = _cell(notebook, 'singan("sample"').outputs
    assert sum("image/png" in output.get("data", {}) for output in sample_outputs) == 2
    assert any("image/gif" in output.get("data", {}) for output in _cell(notebook, 'singan("animate"').outputs)
    sr_outputs = _cell(notebook, 'singan("sr"').outputs
    assert sum("image/png" in output.get("data", {}) for output in sr_outputs) == 2
    assert (runs / "hubble" / "run.json").is_file() and (runs / "hubble_sr" / "sr").is_dir()
    assert (runs / "hubble" / "report.html").is_file()
    frames = [output["data"]["text/html"] for output in _cell(notebook, 'singan("report"').outputs
              if "<iframe srcdoc=" in output.get("data", {}).get("text/html", "")]
    assert len(frames) == 1 and "&lt;html" in frames[0].lower(), "the report page is not shown"

    # Rich drew its live bars in the notebook: the training cell displays an ipywidgets Output (Rich's Live does so in
    # Jupyter; without ipywidgets it only warns, and no bar is ever shown), whose last state, kept by nbclient in
    # the notebook's widget metadata, is the rendered bars, as HTML and text.
    train_cell = _cell(notebook, 'singan("train"')
    views = [output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for output in train_cell.outputs
             if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert views, f"no live display widget in the training cell: {train_cell.outputs}"
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    widget = state[views[0]]
    assert widget["model_name"] == "OutputModel"
    shown = widget["state"]["outputs"]
    assert shown and all("<pre" in output["data"]["text/html"] for output in shown), shown
    bars = ANSI.sub("", "".join(output["data"]["text/plain"] for output in shown))
    # The last refresh (ten a second) before the bars stopped: both bars, drawn, at whatever they had reached.
    assert re.search(r"^all scales +[━╺╸]+ +\d+%", bars, re.MULTILINE), bars
    assert re.search(r"^scale \d/2 +[━╺╸]+ +\d+%", bars, re.MULTILINE), bars
    printed = "".join(_texts(output) for output in train_cell.outputs)
    assert "Saved to" in printed and "Traceback" not in printed

    # The `!singan batch` cell printed plain progress lines (no terminal bars, no cursor movements).
    first, second = (cell for cell in notebook.cells if cell.cell_type == "code" and "!singan batch" in _source(cell))
    log = "".join(_texts(output) for output in first.outputs)
    assert re.search(r"^\d\d:\d\d:\d\d all scales \d+% elapsed .* \| scale \d/2 ", log, re.MULTILINE), log
    assert "\x1b[" not in log, log
    assert "first pass: {'coffee.png': 'trained', 'gravel.png': 'trained'}" in log, log
    # ... and its second pass skipped both images, as batch.json says.
    assert "second pass: {'coffee.png': 'skipped', 'gravel.png': 'skipped'}" in "".join(map(_texts, second.outputs))
    manifest = json.loads((runs / "batch" / "batch.json").read_text())
    assert [item["status"] for item in manifest["images"]] == ["skipped", "skipped"]
    assert sorted(path.name for path in (runs / "batch").iterdir() if path.is_dir() and not path.name.startswith(".")) \
        == ["coffee", "gravel"]
    assert not (tmp_path / "Output").exists(), "a run was written outside RUNS"
