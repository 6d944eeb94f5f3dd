"""The Typer app, the consoles, and what every command shares: error reporting and argument parsing."""

import functools
import re
import sys
import warnings

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from singan.errors import ConfigError, SinGANError
from singan.events import duration_text
from singan.files import describe_os_error
from singan.ranges import MOST_SEEDS, parse_seeds
from singan.runs import open_run

try:  # Typer 0.20 and later carry their own copy of Click
    from typer._click import exceptions as click_errors
except ImportError:  # earlier ones use Click itself
    from click import exceptions as click_errors

# Click 8.2 and later raise this for a group called without arguments (the help is printed instead).
_NO_ARGUMENTS = getattr(click_errors, "NoArgsIsHelpError", ())


class OneLineErrors(TyperGroup):
    """The command-line app: usage errors (an unknown option, a value of the wrong type, a missing argument)
    are one line naming the flag, exit code 2, like every other error; library warnings stay off the screen
    (python -W shows them again)."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        try:
            with warnings.catch_warnings():
                if not sys.warnoptions:
                    warnings.simplefilter("ignore")
                result = super().main(*args, standalone_mode=False, **kwargs)
            # Without standalone mode, Click returns a typer.Exit's code, or the command's value (None).
            code = result if isinstance(result, int) else 0
        except _NO_ARGUMENTS as error:
            errors.print(error.ctx.get_help(), highlight=False)
            code = error.exit_code
        except click_errors.ClickException as error:
            report(" ".join(error.format_message().split()))
            code = error.exit_code
        except typer.Abort:
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    cls=OneLineErrors,
    help="SinGAN: learn a generative model from a single image, then sample from it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def main() -> None:
    app(prog_name="singan")


def report(message: str) -> None:
    """The one form of every error: one line on stderr."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


OUT_OF_MEMORY = ("out of memory: the input or the settings ask for more than this device has (a training run "
                 "keeps what it saved and continues with --resume)")
_OUT_OF_MEMORY_SIGNS = ("out of memory", "can't allocate memory", "not enough memory")


def reporting_errors(command):
    """Bad input, and what the system refuses (a full disk, a missing permission, too little memory), become
    one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SinGANError as error:
            report(str(error))
        except OSError as error:
            report(describe_os_error(error))
        except MemoryError:
            report(OUT_OF_MEMORY)
        except RuntimeError as error:  # torch's allocators raise RuntimeErrors (CUDA's OutOfMemoryError is one)
            if not any(sign in str(error) for sign in _OUT_OF_MEMORY_SIGNS):
                raise
            report(OUT_OF_MEMORY)
        raise typer.Exit(1)

    return wrapper


def duration(seconds: float) -> str:
    return duration_text(seconds)


def choose_seeds(num: int | None, seeds: str | None, default: int = 10) -> list[int]:
    if num is not None and seeds is not None:
        raise ConfigError("give --num or --seeds, not both")
    if seeds is not None:
        return parse_seeds(seeds)
    count = default if num is None else num
    if not 1 <= count <= MOST_SEEDS:
        raise ConfigError(f"--num must be a positive integer up to {MOST_SEEDS} (got {count})")
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


def report_interruption(directory, family: str, saved) -> None:
    """After Ctrl-C in training: what was saved (`saved(record)` says it) and how to continue."""
    try:
        kept = f"{saved(open_run(directory, family).record)} is saved in {directory}"
    except SinGANError:
        kept = "nothing was saved"
    errors.print(escape(f"interrupted: {kept}; continue with the same command and --resume"),
                 highlight=False, soft_wrap=True)
