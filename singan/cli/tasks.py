"""The task commands on a trained run: retarget, animate, paint, harmonize, edit (sr trains: see train.py)."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from singan import api
from singan.cli.app import app, choose_seeds, console, notify, parse_size, reporting_errors
from singan.cli.display import TrainingDisplay
from singan.events import ignore
from singan.images import DEFAULT_MAX_PIXELS
from singan.cli.options import (
    DeviceOption,
    LayoutScaleOption,
    MaxPixelsOption,
    OutOption,
    QuietOption,
    RunArgument,
    ScalesOption,
    SeedOption,
    SeedsOption,
    num_option,
)
from singan.ranges import parse_scales
from tasks.singan import animate as animation
from tasks.singan.harmonize import BLUR_SIGMA, EDIT_RADIUS, HARMONIZE_RADIUS
from tasks.singan.paint import PALETTE_COLOURS


def _report(paths: list[Path], quiet: bool) -> None:
    if not quiet:
        for path in paths:
            console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False)


@app.command()
@reporting_errors
def retarget(
    run: RunArgument,
    size: Annotated[str, typer.Option(help="output size HEIGHTxWIDTH in pixels, such as 200x400", show_default=False)],
    num: num_option(4) = None,
    seeds: SeedsOption = None,
    start_scale: LayoutScaleOption = 0,
    out: OutOption = None, device: DeviceOption = "auto", quiet: QuietOption = False,
):
    """Samples of exactly HEIGHTxWIDTH pixels: every scale's noise stretched to the new size and aspect."""
    chosen = choose_seeds(num, seeds, default=4)
    target = parse_size(size)
    loaded = api.load_run(api.find_run(run), device=device)
    paths = api.retarget_run(loaded, target, chosen, start_scale=start_scale, out=out)
    if not quiet:
        console.print(f"Wrote {len(paths)} image(s) of {target[1]}x{target[0]} px to "
                      f"[bold]{escape(str(paths[0].parent))}[/]", highlight=False)


@app.command()
@reporting_errors
def animate(
    run: RunArgument,
    frames: Annotated[int, typer.Option(help="number of frames")] = animation.FRAMES,
    fps: Annotated[float, typer.Option(help="frames per second")] = animation.FPS,
    start_scale: Annotated[int, typer.Option(help="the walk moves scales from this one up (0 moves the most)")]
    = animation.START_SCALE,
    alpha: Annotated[float, typer.Option(help="pull towards the reconstruction noise")] = animation.ALPHA,
    beta: Annotated[float, typer.Option(help="momentum of the walk (the paper uses 0.80 to 0.95)")] = animation.BETA,
    loop: Annotated[bool, typer.Option("--loop", help="make the walk return to its start, for a seamless loop")]
    = False,
    mp4: Annotated[Optional[bool], typer.Option("--mp4/--no-mp4", help="also write an MP4 (default: when "
                                                "imageio-ffmpeg is installed)", show_default=False)] = None,
    seed: SeedOption = 0, out: OutOption = None, device: DeviceOption = "auto", quiet: QuietOption = False,
):
    """A GIF (and MP4) of a random walk in noise space around the training image's reconstruction."""
    loaded = api.load_run(api.find_run(run), device=device)
    paths = api.animate_run(loaded, frames=frames, fps=fps, start_scale=start_scale, alpha=alpha, beta=beta,
                            seed=seed, loop=loop, mp4=mp4, out=out, on_event=ignore if quiet else notify)
    _report(paths, quiet)


@app.command()
@reporting_errors
def paint(
    run: RunArgument,
    painting: Annotated[Path, typer.Argument(help="a rough painting of the scene (any size)", show_default=False)],
    start_scale: ScalesOption = None,
    quantize: Annotated[bool, typer.Option("--quantize", help="map the painting to the training image's palette "
                                           "and fine-tune the start scale on such inputs (as the paper)")] = False,
    colours: Annotated[int, typer.Option(help="palette size for --quantize")] = PALETTE_COLOURS,
    seed: SeedOption = 0, out: OutOption = None, device: DeviceOption = "auto", quiet: QuietOption = False,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
):
    """Paint-to-image: the painting enters at a coarse scale; the finer scales add the image's detail."""
    scales = parse_scales(start_scale, default=1)
    loaded = api.load_run(api.find_run(run), device=device)
    if not quantize:
        paths = api.paint_run(loaded, painting, scales, seed=seed, out=out, on_event=ignore if quiet else notify,
                              max_pixels=max_pixels)
    else:
        # Quantisation fine-tunes the start scale once per run: that takes as long as training it.
        with TrainingDisplay(quiet) as display:
            paths = api.paint_run(loaded, painting, scales, quantize_colours=colours, seed=seed, out=out,
                                  on_event=display, max_pixels=max_pixels)
    _report(paths, quiet)


def _blend_command(task: str, radius: int):
    def command(
        run: RunArgument,
        picture: Annotated[Path, typer.Argument(help="the picture to blend (any size; resized to the run's)",
                                                show_default=False)],
        mask: Annotated[Optional[Path], typer.Option(
            help="white where the picture was changed, black elsewhere; the picture's size or shape "
            "(default: PICTURE_mask.png beside the picture)", show_default=False)] = None,
        start_scale: ScalesOption = None,
        dilate: Annotated[int, typer.Option(help="grow the mask by this many pixels (of the run's size)")] = radius,
        blur: Annotated[float, typer.Option(help="then soften its edge by a Gaussian of this sigma, in pixels")]
        = BLUR_SIGMA,
        seed: SeedOption = 0, out: OutOption = None, device: DeviceOption = "auto", quiet: QuietOption = False,
        max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    ):
        scales = parse_scales(start_scale, default=1)
        loaded = api.load_run(api.find_run(run), device=device)
        blend = api.harmonize_run if task == "harmonize" else api.edit_run
        paths = blend(loaded, picture, mask, scales, seed=seed, radius=dilate, sigma=blur, out=out,
                      on_event=ignore if quiet else notify, max_pixels=max_pixels)
        _report(paths, quiet)

    command.__doc__ = (f"{'Harmonize a pasted object with' if task == 'harmonize' else 'Blend a rough edit into'} "
                       f"the image: inject it at the start scale, keep the result within the mask grown by "
                       f"{radius} px, the input elsewhere.")
    return command


app.command("harmonize")(reporting_errors(_blend_command("harmonize", HARMONIZE_RADIUS)))
app.command("edit")(reporting_errors(_blend_command("edit", EDIT_RADIUS)))
