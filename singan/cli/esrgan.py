"""`singan esrgan ...`: super-resolution networks of the ESRGAN family (ESRGAN, Real-ESRGAN, SRVGG), from the
published weight files of any layout."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from singan.api import esrgan as esrgan_api
from singan.api import esrgan_training
from singan.cli.app import app, console, report_interruption, reporting_errors
from singan.cli.display import LOG_SECONDS, EventDisplay
from singan.cli.options import DeviceOption, ForceOption, LogSecondsOption, MaxPixelsOption, QuietOption, RunsOutOption
from singan.cli.train import config_options
from singan.config.esrgan import ESRGANConfig
from singan.images import DEFAULT_MAX_PIXELS
from tasks.esrgan.upscale import DEFAULT_TILE_PAD

esrgan_app = typer.Typer(help="Super-resolution networks of the ESRGAN family: upscale images with the official "
                              "ESRGAN and Real-ESRGAN weight files (any layout) or a run trained here, describe "
                              "a file, train SRGAN / ESRGAN / Real-ESRGAN, interpolate two networks.",
                         no_args_is_help=True)
_DEFAULTS = ESRGANConfig()
_LOSS_LABELS = {"pixel": "L1", "perceptual": "VGG", "adversarial": "G", "critic": "D"}
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
    out: RunsOutOption = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: FIRST-SECOND-alphaA)",
                                                show_default=False)] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
):
    """Network interpolation: a run with (1 - alpha) x FIRST + alpha x SECOND, for `upscale --weights RUN`."""
    directory = esrgan_api.interpolate_networks(first, second, alpha, out=out, name=name, force=force)
    if not quiet:
        console.print(f"Saved to [bold]{escape(str(directory))}[/]. Try: singan esrgan upscale IMAGE --weights "
                      f"{escape(str(directory))}", highlight=False)


def _default_text(name: str) -> str:
    value = getattr(_DEFAULTS, name)
    return "" if value is None else f"default: {value}"


class ESRGANTrainingDisplay(EventDisplay):
    """A progress bar over the iterations, with the losses, speed and the last validation figures."""

    def __init__(self, quiet: bool, log_seconds: float = LOG_SECONDS):
        super().__init__(quiet, log_seconds=log_seconds)
        self.task, self.validation = None, ""

    def _on_ESRGANTrainingStarted(self, event) -> None:
        where = f" from iteration {event.iteration}" if event.iteration else ""
        skipped = f" ({event.skipped_files} unreadable or too small skipped)" if event.skipped_files else ""
        recipe = f", {event.recipe} recipe" if event.stage == "gan" else ""
        self.progress.console.print(
            f"Training {event.arch} x{event.scale} ({event.parameters:,} parameters), stage {event.stage}{recipe}, "
            f"on {event.data_images} images{skipped}, {event.total} iterations{where}, on {event.device}",
            highlight=False)
        self.task = self.progress.add_task("iterations", total=event.total, completed=event.iteration, detail="")

    def _on_ESRGANProgress(self, event) -> None:
        losses = " ".join(f"{_LOSS_LABELS[name]} {value:.3g}" for name, value in event.losses.items()
                          if name in _LOSS_LABELS)
        if event.validation:
            self.validation = f"val {event.validation['psnr_y']:.2f} dB / {event.validation['ssim_y']:.4f}"
        speed = f"{event.seconds_per_iteration:.2f} s/it" if event.seconds_per_iteration else ""
        self.progress.update(self.task, completed=event.iteration, detail=f"{speed}  {losses}  {self.validation}")


@esrgan_app.command("train")
@reporting_errors
@config_options(ESRGANConfig, _default_text, skip=("image_channels",))
def train(
    data: Annotated[Path, typer.Argument(help="a folder of HR images (searched recursively; each at least --crop "
                                         "px on both sides)", show_default=False)],
    val: Annotated[Optional[Path], typer.Option(help="a folder of HR images to validate on (Y-PSNR and SSIM of "
                                                "their bicubic LR, border = scale)", show_default=False)] = None,
    init: Annotated[Optional[Path], typer.Option(help="start from these weights (a psnr run or a weights file); "
                                                 "the gan stage's usual start", show_default=False)] = None,
    vgg_weights: Annotated[Optional[Path], typer.Option(help="torchvision's ImageNet VGG19 weights (a local "
                                                        "file), for the gan stage's perceptual loss",
                                                        show_default=False)] = None,
    out: RunsOutOption = None,
    name: Annotated[Optional[str], typer.Option(help="run name (default: FOLDER-ARCH-xSCALE-STAGE)",
                                                show_default=False)] = None,
    strict: Annotated[bool, typer.Option("--strict", help="stop at the first unreadable or too small image "
                                         "instead of skipping it")] = False,
    device: DeviceOption = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="continue the run from its last checkpoint "
                                         "(--iterations may be raised)")] = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
    log_seconds: LogSecondsOption = LOG_SECONDS,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    **settings,
):
    """Train a super-resolution network on HR crops; checkpoints, snapshots and log.jsonl go to the run."""
    given = {key: value for key, value in settings.items() if value is not None}
    config = ESRGANConfig().replace(**given)
    display = ESRGANTrainingDisplay(quiet, log_seconds)
    try:
        with display:
            directory = esrgan_training.train_esrgan(
                data, config, val=val, init=init, vgg_weights=vgg_weights, out=out, name=name, device=device,
                resume=resume, force=force, strict=strict, changes=given, on_event=display, max_pixels=max_pixels)
    except KeyboardInterrupt:
        _report_interruption(esrgan_training.run_directory(data, config, out, name))
        raise typer.Exit(130) from None
    if not quiet:
        console.print(f"Saved to [bold]{escape(str(directory))}[/]. Try: singan esrgan upscale IMAGE --weights "
                      f"{escape(str(directory))}", highlight=False)


def _report_interruption(directory: Path) -> None:
    report_interruption(directory, "esrgan", lambda record: f"a checkpoint at iteration {record.iteration}")