"""The Typer app, the consoles, and what every command shares: error reporting and argument parsing."""

import functools
import re

import typer
from rich.console import Console
from rich.markup import escape

from singan.errors import ConfigError, SinGANError
from singan.ranges import parse_seeds

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
