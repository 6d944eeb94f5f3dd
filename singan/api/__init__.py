"""What the CLI and notebooks call: every function that reads a user's files and writes a run's.

The SinGAN functions are here (train_run, load_run, sample_run and the other tasks); the multi-image
GANs' are in `singan.api.gan`. `open_run`, `find_run` and `describe_run` take a run of any family.
"""

from pathlib import Path

from singan.api import esrgan, gan, gan_import
from singan.api import singan as _singan
from singan.api.singan import has_run, load_run, run_summary, train_run
from singan.api.singan_tasks import (animate_run, blend_run, edit_run, evaluate_run, harmonize_run, paint_run,
                                     retarget_run, sample_run, super_resolve_run)
from singan.runs import Run, open_run
from singan.runs.common import DEFAULT_ROOT, find_run
from singan.runs.directory import check_resume_or_force
from singan.runs.singan import SinGANRun, resume_command, run_directory

# How `describe_run` summarises a run of each family.
_SUMMARIES = {"singan": _singan.summary, "gan": gan.summary, "esrgan": esrgan.summary}


def describe_run(directory: str | Path) -> tuple[str, dict]:
    """The family of the run in `directory` and what `singan info` shows of it; no weights are read. A file
    is another project's StyleGAN network: it is read and converted in memory to describe it."""
    if Path(directory).is_file():
        return "gan", gan_import.summary(None, gan_import.record_of(*gan_import.read_network(directory)))
    run = open_run(directory)
    return run.family, _SUMMARIES[run.family](directory, run.record)


__all__ = ["DEFAULT_ROOT", "Run", "SinGANRun", "animate_run", "blend_run", "check_resume_or_force", "describe_run",
           "edit_run", "esrgan", "evaluate_run", "find_run", "gan", "harmonize_run", "has_run", "load_run", "open_run",
           "paint_run", "resume_command", "retarget_run", "run_directory", "run_summary", "sample_run",
           "super_resolve_run", "train_run"]
