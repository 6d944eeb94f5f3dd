"""`singan report RUN|FOLDER`: self-contained pages of SinGAN, GAN, imported and ESRGAN runs, a folder's index
(with a batch manifest or without), one-line errors, and the pages opened in headless Chromium.

The runs are the committed fixtures (tests/fixtures/runs_v1), copied: nothing is trained here but the few
things a page shows that the fixtures lack (eval.json, snapshots, an imported network).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch
from typer.testing import CliRunner

from conftest import shapes_folder
from pretrained_files import random_generator, rosinality_file
from singan import api
from singan.api import gan_import
from singan.api.batch import MANIFEST_FILE, BatchItem
from singan.api.report import REPORT_FILE, write_report
from singan.api.report_html import Series, line_chart, nice_ticks, tick_label
from singan.cli import app
from singan.config.esrgan import ESRGANConfig
from singan.files import append_json_line, atomic_write_json
from singan.images import image_grid
from singan.runs import esrgan as esrgan_format
from singan.runs import gan as gan_format
from singan.runs import open_run
from singan.runs.common import LOG_FILE, write_record
from singan.training.esrgan import network_spec
from tasks.gan.generate import generated_images

FIXTURES = Path(__file__).parent / "fixtures" / "runs_v1" / "runs"
runner = CliRunner()
SCALE_SIZES = ["19x14", "23x17", "27x21", "32x24"]  # the fixture run's pyramid, width x height
WEIRD_NAME = 'x<b>&"q'


def invoke(*arguments):
    return runner.invoke(app, [str(argument) for argument in arguments])


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output
    return lines[0]


def copy_run(name: str, destination: Path) -> Path:
    shutil.copytree(FIXTURES / name, destination)
    return destination


def sources(page: str) -> list[str]:
    return re.findall(r'\bsrc="([^"]*)"', page)


def check_self_contained(page: str) -> None:
    """Nothing to fetch: no web address, every src a PNG data: URI (each decodes), no script."""
    assert "http://" not in page and "https://" not in page
    assert page.count("src=") == len(sources(page))
    for source in sources(page):
        assert source.startswith("data:image/png;base64,"), source[:60]
        iio.imread(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
    assert "<script" not in page and "url(" not in page
    assert re.findall(r'<link [^>]*href="([^"]*)"', page) == ["data:,"]


def contents(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file() and path.name != REPORT_FILE}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module")
def singan_run(root) -> Path:
    """The fixture SinGAN run with its eval.json."""
    directory = copy_run("singan", root / "runs" / "singan")
    api.evaluate_run(api.load_run(directory, device="cpu"), num=4)
    return directory


@pytest.fixture(scope="module")
def incomplete_run(root) -> Path:
    """The fixture run as a run stopped after two of its four scales."""
    directory = copy_run("singan", root / "runs" / "stopped")
    record = json.loads((directory / "run.json").read_text())
    record["scales"], record["complete"] = record["scales"][:2], False
    atomic_write_json(directory / "run.json", record)
    for scale in (2, 3):
        (directory / "weights" / f"scale_{scale:02d}.safetensors").unlink()
    return directory


@pytest.fixture(scope="module")
def gan_run(root) -> Path:
    """The fixture PGGAN run, with its eval.json, made to look like a run of 10 kimg: snapshots at 2, 4 and 10
    kimg (written out of order), log lines up to 10 kimg and the record's count."""
    directory = copy_run("pggan", root / "runs" / "pggan")
    loaded = api.gan.load_gan_run(directory, device="cpu")
    api.gan.evaluate_run(loaded, shapes_folder(root / "shapes", count=8, size=8), seed=0)
    for kimg in (10, 2, 4):
        images = [image for _, image in generated_images(loaded.generator, range(kimg, kimg + 8))]
        gan_format.save_snapshot(directory, image_grid(torch.cat(images)), kimg * 1000)
    for step, kimg in enumerate((2, 4, 6, 8, 10), start=1):
        losses = {"critic": -0.12 - step / 20, "gradient_penalty": 0.6 / step, "drift": 0.17 / step,
                  "real_score": 0.18 + step / 10, "fake_score": 0.06 - step / 10, "generator": -0.07 + step / 10}
        append_json_line(directory / LOG_FILE, {"images_seen": kimg * 1000, "kimg": kimg, "resolution": 8,
                                                "alpha": 1.0, "losses": losses, "seconds_per_kimg": 62 - step})
    record = open_run(directory, "gan").record
    record.images_seen, record.seconds, record.config["kimg"] = 10_000, 590.0, 10
    write_record(directory, record)
    return directory


@pytest.fixture(scope="module")
def batch_root(root, singan_run, incomplete_run, gan_run) -> Path:
    """A batch's run root: its manifest lists the SinGAN runs and an image that failed without a run."""
    items = [BatchItem("in/singan.png", str(Path("Output") / "singan"), "trained", [4, 4], 0.05,
                       eval={"diversity": 0.25}),
             BatchItem("in/stopped.png", str(Path("Output") / "stopped"), "failed", [2, 4], 0.02,
                       error="training stopped: non-finite loss at scale 2, iteration 3"),
             BatchItem("in/<bad>.png", str(Path("Output") / "bad"), "failed", None, 0.0,
                       error="in/<bad>.png: not an image <script>alert(1)</script>")]
    atomic_write_json(root / "runs" / MANIFEST_FILE, {"format": "singan-batch", "format_version": 1, "config": {},
                                                      "processes": 1, "counts": {"failed": 2, "trained": 1},
                                                      "images": [asdict(item) for item in items]})
    return root / "runs"


@pytest.fixture(scope="module")
def singan_page(singan_run) -> Path:
    before = contents(singan_run)
    path = write_report(singan_run)
    assert contents(singan_run) == before  # nothing but the page is written
    return path


@pytest.fixture(scope="module")
def gan_page(gan_run) -> Path:
    return write_report(gan_run)


@pytest.fixture(scope="module")
def batch_page(batch_root) -> Path:
    return write_report(batch_root)


def test_a_singan_run_page_has_a_card_per_scale_and_is_self_contained(singan_run, singan_page):
    assert singan_page == singan_run / REPORT_FILE
    page = singan_page.read_text()
    check_self_contained(page)
    cards = re.findall(r'<section class="scale trained" data-scale="(\d+)" data-size="([0-9x]+)"', page)
    assert cards == [(str(scale), size) for scale, size in enumerate(SCALE_SIZES)]
    assert page.count('<svg class="chart"') == 4 and "generator (adversarial)" in page and "reconstruction" in page
    assert len(re.findall(r'alt="sample, seed \d"', page)) == 8
    assert len(re.findall(r'alt="(real image|sample|reconstruction), scale \d"', page)) == 12
    assert "noise amplitude 0.04579" in page and "complete" in page and "incomplete" not in page


def test_the_page_shows_the_eval_figures_when_eval_json_exists(singan_run, singan_page):
    figures = json.loads((singan_run / "eval.json").read_text())
    page = singan_page.read_text()
    assert "SWD average (x1000)" in page and f"{figures['diversity']:.4g}" in page and "needs --inception" in page


def test_an_incomplete_run_shows_its_trained_scales_marked_incomplete(incomplete_run):
    page = write_report(incomplete_run).read_text()
    check_self_contained(page)
    assert page.count('class="scale trained"') == 2 and page.count('class="scale untrained"') == 2
    assert ">incomplete<" in page and "2 of 4 scales trained" in page and "--resume" in page
    assert "no eval.json" in page and "SWD average" not in page


def test_the_same_run_gives_the_same_page(singan_run, singan_page):
    first = singan_page.read_bytes()
    assert write_report(singan_run).read_bytes() == first


def test_names_are_escaped(tmp_path):
    directory = copy_run("singan", tmp_path / "runs" / WEIRD_NAME)
    index = write_report(tmp_path / "runs").read_text()
    page = (directory / REPORT_FILE).read_text()
    assert WEIRD_NAME not in page and "x&lt;b&gt;&amp;&quot;q" in page
    assert WEIRD_NAME not in index and 'href="x%3Cb%3E%26%22q/report.html"' in index


def test_a_gan_run_page_shows_snapshots_in_kimg_order_its_log_and_eval(gan_page):
    page = gan_page.read_text()
    check_self_contained(page)
    assert re.findall(r"<figcaption>(\d+) kimg</figcaption>", page) == ["2", "4", "10"]
    assert page.count('<svg class="chart"') == 3 and "critic and generator losses" in page
    assert "s/kimg" in page and "SWD average (x1000)" in page and "FID" in page


def test_an_imported_network_page_shows_its_record_and_a_grid(tmp_path):
    published = tmp_path / "550000.pt"
    published.write_bytes(rosinality_file(random_generator("stylegan2", 8)))
    directory = gan_import.import_network(published, out=tmp_path / "runs", name="net")
    page = write_report(directory).read_text()
    check_self_contained(page)
    assert "550000.pt" in page and "stylegan2" in page and "rosinality" in page and "Generated images" in page
    assert len(sources(page)) == 1


def test_an_esrgan_run_page_shows_its_log_and_snapshots(tmp_path):
    directory = tmp_path / "sr"
    config = ESRGANConfig(features=8, blocks=1, growth=4, iterations=4)
    detected = network_spec(config)
    record = esrgan_format.ESRGANRecord(network=asdict(detected), source={"made_by": "train"}, training={
        "config": config.to_dict(), "iteration": 4, "seconds": 1.5})
    esrgan_format.save(directory, record, detected.build().state_dict())
    for iteration in (2, 4):
        append_json_line(directory / LOG_FILE, {"iteration": iteration, "losses": {"pixel": 0.5 / iteration},
                                                "validation": {"psnr_y": 20 + iteration, "ssim_y": 0.5}})
        esrgan_format.save_snapshot(directory, torch.rand(1, 3, 24, 72) * 2 - 1, iteration)
    page = write_report(directory).read_text()
    check_self_contained(page)
    assert re.findall(r"<figcaption>iteration (\d+)</figcaption>", page) == ["2", "4"]
    assert page.count('<svg class="chart"') == 3 and "4 of 4 iterations" in page


def test_a_batch_folder_index_links_every_run_and_lists_failed_images(batch_root, batch_page):
    assert batch_page == batch_root / REPORT_FILE
    page = batch_page.read_text()
    check_self_contained(page)
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    assert [name for _, name in links] == ["singan", "stopped", "pggan"]  # the manifest's order, then the others
    for href, name in links:
        assert href == f"{name}/report.html" and (batch_root / href).is_file()
    rows = re.findall(r'<tr class="run (\w+)">', page)
    assert rows == ["trained", "failed", "failed", "complete"]
    assert "not an image &lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "non-finite loss" in page and ">incomplete<" in page and "4/4 scales" in page and "SWD" in page


def test_a_folder_without_manifest_is_indexed_from_the_run_records(tmp_path):
    copy_run("pggan", tmp_path / "runs" / "a")
    copy_run("stylegan2", tmp_path / "runs" / "b")
    (tmp_path / "runs" / "notes").mkdir()  # not a run: no row
    page = write_report(tmp_path / "runs").read_text()
    assert re.findall(r'<tr class="run (\w+)">', page) == ["complete", "complete"]
    assert re.findall(r'<a href="([^"]+)">', page) == ["a/report.html", "b/report.html"]
    elsewhere = write_report(tmp_path / "runs", out=tmp_path / "pages" / "index.html").read_text()
    assert re.findall(r'<a href="([^"]+)">', elsewhere) == ["../runs/a/report.html", "../runs/b/report.html"]


def test_a_corrupt_run_in_a_folder_is_a_row_with_its_error(tmp_path):
    copy_run("pggan", tmp_path / "runs" / "good")
    broken = copy_run("singan", tmp_path / "runs" / "broken")
    (broken / "weights" / "scale_01.safetensors").write_bytes(b"not weights")
    result = invoke("report", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "runs" / REPORT_FILE).read_text()
    assert re.findall(r'<tr class="run (\w+)">', page) == ["unreadable", "complete"]
    assert "corrupt weights file" in page and not (broken / REPORT_FILE).exists()


def test_the_command_prints_the_page_written_and_out_puts_it_elsewhere(gan_run, tmp_path):
    result = invoke("report", gan_run, "--out", tmp_path / "pages" / "run.html")
    assert result.exit_code == 0 and "run.html" in result.output, result.output
    assert (tmp_path / "pages" / "run.html").read_text().startswith("<!DOCTYPE html>")
    assert invoke("report", gan_run, "--out", tmp_path / "pages" / "run.html").exit_code == 0  # ours: replaced


def test_errors_are_one_line(tmp_path, singan_run):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "run.json").write_text("{not json")
    assert "no such run or folder" in one_error_line(invoke("report", tmp_path / "missing"))
    assert "no runs in it" in one_error_line(invoke("report", tmp_path / "empty"))
    assert "unreadable" in one_error_line(invoke("report", corrupt))
    broken = copy_run("singan", tmp_path / "broken")
    (broken / "weights" / "scale_02.safetensors").write_bytes(b"not weights")
    assert "corrupt weights file" in one_error_line(invoke("report", broken))
    assert "a file" in one_error_line(invoke("report", tmp_path / "notes.txt"))
    (tmp_path / "mine.html").write_text("mine")
    assert "not a singan report" in one_error_line(invoke("report", singan_run, "--out", tmp_path / "mine.html"))
    assert (tmp_path / "mine.html").read_text() == "mine"
    assert "ending in .html" in one_error_line(invoke("report", singan_run, "--out", tmp_path / "notes.txt"))


def test_charts_leave_out_non_finite_points_and_escape_their_names():
    chart = line_chart([Series("a<b", [(0, 1.0), (1, float("nan")), (2, 3.0)]), Series("gone", [(0, float("inf"))]),
                        Series("one", [(1, 2.0)])], title="t&", x_label="iteration", y_label="loss")
    assert chart.count("<polyline") == 1 and chart.count("<circle") == 1 and chart.count('<svg class="chart"') == 1
    assert "a&lt;b" in chart and "a<b" not in chart and "gone" not in chart and "t&amp;" in chart
    assert "nothing logged" in line_chart([Series("x", [])], title="none", x_label="x", y_label="y")
    assert [tick_label(tick) for tick in nice_ticks(1, 2000)] == ["0", "500", "1000", "1500", "2000"]


# ---- in a browser ---------------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
# Playwright adds --headless and a fresh --user-data-dir of its own.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = "SINGAN_SCREENSHOTS"  # a folder (such as docs/images) to copy the screenshots into
VIEWPORT = {"width": 1000, "height": 1250}


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, through playwright): skipped where it is missing, except on CI."""
    problem = None
    if not CHROMIUM.exists():
        problem = "needs Chromium: apt-get install -y --no-install-recommends chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or 'needs playwright: pip install -e ".[test]" (never `playwright install`)'
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test {problem}")
        pytest.skip(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def look_at(browser, path: Path, screenshot: Path) -> dict:
    """Open a page, wait for it, and say what loaded: images, charts, requests and any console or script error."""
    page = browser.new_page(viewport=VIEWPORT)
    problems, requests = [], []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    state = page.evaluate("""() => ({
        images: [...document.images].map(image => [image.alt, image.complete, image.naturalWidth]),
        charts: document.querySelectorAll("svg.chart").length,
        lines: document.querySelectorAll("svg.chart polyline, svg.chart circle").length,
        links: [...document.querySelectorAll("a")].map(link => link.href)})""")
    height = min(page.evaluate("Math.ceil(document.body.getBoundingClientRect().height)"), VIEWPORT["height"])
    page.screenshot(path=str(screenshot), full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                                                               "height": height})
    page.close()
    return {**state, "problems": problems, "requests": requests}


@pytest.mark.parametrize("kind", ["singan", "gan", "batch"])
def test_the_pages_load_in_a_browser(browser, kind, singan_page, gan_page, batch_page, tmp_path):
    path = {"singan": singan_page, "gan": gan_page, "batch": batch_page}[kind]
    screenshot = tmp_path / f"report-{kind}.png"
    state = look_at(browser, path, screenshot)
    assert not state["problems"]
    assert state["requests"] == [path.as_uri()]  # the page itself, nothing else
    assert state["images"] and all(complete and width > 0 for _, complete, width in state["images"]), state["images"]
    if kind == "batch":
        assert len(state["links"]) == 3 and all(Path(link.removeprefix("file://")).is_file() for link in state["links"])
    else:
        assert state["charts"] >= 3 and state["lines"] >= state["charts"]
    if os.environ.get(SCREENSHOTS):
        folder = Path(os.environ[SCREENSHOTS])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, folder / screenshot.name)
