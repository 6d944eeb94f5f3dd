"""The `singan` command: thin Typer commands over singan.api; the only package that uses Typer or Rich."""

from singan.cli import train, batch, runs, tasks, evaluate, report, gan, esrgan  # noqa: F401  (registers the commands, train first in --help)
from singan.cli.app import app, main
from singan.ranges import parse_seeds

__all__ = ["app", "main", "parse_seeds"]
