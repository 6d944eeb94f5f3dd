"""The Typer app, the consoles, and what every command shares: error reporting and argument parsing."""

import functools
import re

import typer
from rich.console import Console
from rich.markup import escape

from singan.errors import ConfigError, SinGANError

app = typer.Typer(
    help="SinGAN: learn a generative model from a single image, then sample from it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def main() -> None:
    app(prog_name="singan")


def reporting_errors(command):
    """Bad input becomes one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SinGANError as error:
            errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def choose_seeds(num: int | None, seeds: str | None, default: int = 10) -> list[int]:
    if num is not None and seeds is not None:
        raise ConfigError("give --num or --seeds, not both")
    if seeds is not None:
        return parse_seeds(seeds)
    count = default if num is None else num
    if count < 1:
        raise ConfigError(f"--num must be a positive integer (got {count})")
    return list(range(count))


_SEED_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str) -> list[int]:
    """'0-9,12' -> [0, 1, ..., 9, 12]; duplicates are dropped, order kept."""
    seeds: list[int] = []
    for part in text.split(","):
        match = _SEED_PART.match(part)
        if match is None:
            raise ConfigError(f"--seeds {text!r}: expected non-negative seeds and ranges such as 0-9,12")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last >= 2**63:
            raise ConfigError(f"--seeds {text!r}: seeds must be below 2**63")
        if last < first or last - first > 100_000:
            raise ConfigError(f"--seeds {text!r}: the range {part.strip()} is reversed or too long")
        seeds.extend(seed for seed in range(first, last + 1) if seed not in seeds)
    return seeds




def parse_scales(values: list[str] | None, default: int) -> list[int]:
    """--start-scale given once or more, each a scale or a range: ["1", "3-4"] -> [1, 3, 4]."""
    if not values:
        return [default]
    scales: list[int] = []
    for value in values:
        for part in value.split(","):
            match = _SEED_PART.match(part)
            if match is None:
                raise ConfigError(f"--start-scale {value!r}: expected a scale or a range such as 1-3")
            first, last = int(match.group(1)), int(match.group(2) or match.group(1))
            if last < first or last - first > 1000:
                raise ConfigError(f"--start-scale {value!r}: the range {part.strip()} is reversed or too long")
            scales.extend(scale for scale in range(first, last + 1) if scale not in scales)
    return scales


_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """'200x300' -> (200, 300): height by width, in pixels."""
    match = _SIZE.match(text)
    if match is None:
        raise ConfigError(f"--size {text!r}: expected HEIGHTxWIDTH in pixels, such as 200x400")
    return int(match.group(1)), int(match.group(2))


def notify(event) -> None:
    """Task events for the terminal: notices only (tasks that train show progress bars instead)."""
    message = getattr(event, "message", None)
    if message is not None:
        errors.print(f"[yellow]{escape(message)}[/]", highlight=False, soft_wrap=True)
