"""Where the output is not a terminal (a log file, nohup, a scheduler), training prints one plain progress line
every --log-seconds instead of bars that would never show."""

import re

from typer.testing import CliRunner

from conftest import shapes_folder, synthetic_image, write_image
from singan.cli import app

runner = CliRunner()  # its output is not a terminal
LINE = re.compile(r"^\d\d:\d\d:\d\d .*\d+% elapsed [\d.]+ s left ", re.MULTILINE)


def test_singan_training_prints_plain_lines_when_piped(tmp_path):
    image = write_image(tmp_path / "tiny.png", synthetic_image(seed=1))
    flags = ["--min-size", "14", "--max-size", "32", "--iterations", "3", "--seed", "1", "--device", "cpu",
             "--out", str(tmp_path / "runs")]
    result = runner.invoke(app, ["train", str(image), *flags, "--log-seconds", "0"])
    assert result.exit_code == 0, result.output
    lines = LINE.findall(result.output)
    assert lines and re.search(r"all scales \d+% elapsed .* scale \d/\d+ \d+% .* D -?[\d.]+", result.output)
    # The default waits 30 s before its first line, so a short command prints only its own messages.
    result = runner.invoke(app, ["train", str(image), *flags, "--force"])
    assert result.exit_code == 0 and not LINE.search(result.output)


def test_gan_and_batch_training_print_plain_lines_when_piped(tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    result = runner.invoke(app, ["gan", "train", str(folder), "--resolution", "8", "--batch", "4", "--kimg", "0.016",
                                 "--z-dim", "16", "--w-dim", "16", "--channel-base", "64", "--channel-max", "16",
                                 "--mapping-layers", "2", "--seed", "2", "--device", "cpu", "--out",
                                 str(tmp_path / "runs"), "--log-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^\d\d:\d\d:\d\d kimg \d+% elapsed", result.output, re.MULTILINE), result.output
    image = write_image(tmp_path / "one" / "a.png", synthetic_image(seed=2))
    result = runner.invoke(app, ["batch", str(image), "--min-size", "14", "--max-size", "32", "--iterations", "2",
                                 "--device", "cpu", "--out", str(tmp_path / "runs"), "--log-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert LINE.search(result.output) and "[1/1]" in result.output
