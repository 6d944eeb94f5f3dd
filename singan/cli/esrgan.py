"""`singan esrgan ...`: super-resolution networks of the ESRGAN family (ESRGAN, Real-ESRGAN, SRVGG), from the
published weight files of any layout."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from singan.api import esrgan as esrgan_api
from singan.cli.app import app, console, reporting_errors
from singan.cli.display import EventDisplay
from singan.cli.options import DeviceOption, MaxPixelsOption, QuietOption
from singan.images import DEFAULT_MAX_PIXELS
from tasks.esrgan.upscale import DEFAULT_TILE_PAD

esrgan_app = typer.Typer(help="Super-resolution networks of the ESRGAN family: upscale images with the official "
                              "ESRGAN and Real-ESRGAN weight files (any layout), describe a file.",
                         no_args_is_help=True)
app.add_typer(esrgan_app, name="esrgan")

WeightsOption = Annotated[Path, typer.Option("--weights", help="a weights file (.pth or .safetensors) of ESRGAN, "
                                             "Real-ESRGAN or BasicSR; never downloaded", show_default=False)]


class UpscaleDisplay(EventDisplay):
    """A bar over the images, and the notices."""

    def __enter__(self):
        super().__enter__()
        self.task = self.progress.add_task("upscaling", total=None, detail="")
        return self

    def images_done(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)


@esrgan_app.command()
@reporting_errors
def upscale(
    inputs: Annotated[list[Path], typer.Argument(help="images, or folders of images (searched recursively)",
                                                 show_default=False)],
    weights: WeightsOption,
    outscale: Annotated[Optional[float], typer.Option(help="output scale (default: the network's); another "
                                                      "one resizes the network's output", show_default=False)] = None,
    tile: Annotated[Optional[int], typer.Option(help="run tiles of this many pixels one at a time (less memory); "
                                                "default: the whole image", show_default=False)] = None,
    tile_pad: Annotated[int, typer.Option(help="context around each tile; neighbours are blended over twice "
                                          "this")] = DEFAULT_TILE_PAD,
    fp16: Annotated[Optional[bool], typer.Option("--fp16/--fp32", help="half precision (default: on CUDA)",
                                                 show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(help="folder for the outputs (default: Output/upscaled)",
                                                show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="write outputs that exist again")] = False,
    device: DeviceOption = "auto",
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    quiet: QuietOption = False,
):
    """Upscale images: <out>/<name>_x4.png each; the image stays in memory, tiles go to the device one at a time."""
    loaded = esrgan_api.load_network(weights, device)
    display = UpscaleDisplay(quiet)
    with display:
        written = esrgan_api.upscale_files(loaded, list(inputs), out=out, outscale=outscale, tile=tile,
                                           tile_pad=tile_pad, half=fp16, force=force, max_pixels=max_pixels,
                                           on_event=display, on_progress=display.images_done)
    if not quiet:
        for path in written:
            console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False)


@esrgan_app.command()
@reporting_errors
def info(weights: Annotated[Path, typer.Argument(help="a weights file (.pth or .safetensors)", show_default=False)]):
    """What a weights file holds: the architecture, its layout, scale, sizes and parameters."""
    summary = esrgan_api.describe_network(esrgan_api.load_network(weights, "cpu"))
    for key, value in summary.items():
        if value is not None:
            console.print(f"{key}: {escape(f'{value:,}' if isinstance(value, int) else str(value))}", highlight=False)


@esrgan_app.command()
@reporting_errors
def interpolate(
    first: Annotated[Path, typer.Argument(help="weights (a file or run) at --alpha 0: typically the PSNR model",
                                          show_default=False)],
    second: Annotated[Path, typer.Argument(help="weights at --alpha 1: typically the GAN model", show_default=False)],
    alpha: Annotated[float, typer.Option(help="how far towards SECOND (ESRGAN's figures: 0.8)")] = 0.8,
    out: Annotated[Optional[Path], typer.Option(help="folder that holds runs (default: Output)",
                                                show_default=False)] = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: FIRST-SECOND-alphaA)",
                                                show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing run of the same name")] = False,
    quiet: QuietOption = False,
):
    """Network interpolation: a run with (1 - alpha) x FIRST + alpha x SECOND, for `upscale --weights RUN`."""
    directory = esrgan_api.interpolate_networks(first, second, alpha, out=out, name=name, force=force)
    if not quiet:
        console.print(f"Saved to [bold]{escape(str(directory))}[/]. Try: singan esrgan upscale IMAGE --weights "
                      f"{escape(str(directory))}", highlight=False)
