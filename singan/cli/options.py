"""Command-line arguments and options that several commands share, defined once."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from singan.images import DEFAULT_MAX_PIXELS

RunArgument = Annotated[str, typer.Argument(help="a run directory, or a run name under Output/", show_default=False)]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="print nothing on success")]
SeedOption = Annotated[int, typer.Option(help="random seed of the noise")]
SeedsOption = Annotated[Optional[str], typer.Option(help="seeds such as 0-9,12 (instead of --num)",
                                                    show_default=False)]
LayoutScaleOption = Annotated[int, typer.Option(help="scales below this one keep the training image's layout")]
OutOption = Annotated[Optional[Path], typer.Option(help="folder for the outputs (default: a folder in the run)",
                                                   show_default=False)]
RunsOutOption = Annotated[Optional[Path], typer.Option("--out", help="folder that holds runs (default: Output)",
                                                       show_default=False)]
ForceOption = Annotated[bool, typer.Option("--force", help="replace an existing run of the same name")]
StrictOption = Annotated[bool, typer.Option("--strict", help="stop at the first unreadable image instead of "
                                            "skipping it")]
InceptionWeightsOption = Annotated[Optional[Path], typer.Option(
    help="the FID Inception-v3 weights file (pt_inception-2015-12-05-6726825d.pth or .safetensors): SIFID of a "
    "SinGAN run, FID of a GAN run; never downloaded", show_default=False)]
ScalesOption = Annotated[Optional[list[str]], typer.Option(
    "--start-scale", help="scale the picture enters at (1 = coarse, the finest scale keeps it nearly as is); "
    "repeat or give a range such as 1-3 for one output per scale (default: 1)", show_default=False)]

# Read from the file's header and refused before decoding: a few bytes of PNG can declare 60000 x 60000 pixels.
MaxPixelsOption = Annotated[int, typer.Option(
    help=f"refuse images larger than this many pixels, before decoding them (default: {DEFAULT_MAX_PIXELS:,}, "
    "about 100 megapixels)", show_default=False)]


def num_option(default: int):
    """--num N, whose default depends on the command."""
    return Annotated[Optional[int], typer.Option("--num", "-n", show_default=False,
                                                 help=f"samples with seeds 0 .. N-1 (default: {default})")]
LogSecondsOption = Annotated[float, typer.Option(
    "--log-seconds", help="where the output is not a terminal (a log file, nohup, a job scheduler): one plain "
    "progress line every this many seconds", min=0)]
