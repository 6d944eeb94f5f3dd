"""Commands on a trained run: sample, and info (a run of any family)."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from singan import api
from singan.cli.app import app, choose_seeds, console, duration, reporting_errors
from singan.cli.options import DeviceOption, LayoutScaleOption, QuietOption, RunArgument, SeedsOption, num_option


@app.command()
@reporting_errors
def sample(
    run: RunArgument,
    num: num_option(10) = None,
    seeds: SeedsOption = None,
    start_scale: LayoutScaleOption = 0,
    scale_h: Annotated[float, typer.Option(help="width factor: stretch every scale's noise horizontally")] = 1.0,
    scale_v: Annotated[float, typer.Option(help="height factor: stretch every scale's noise vertically")] = 1.0,
    out: Annotated[Optional[Path], typer.Option(help="folder for the PNGs (default: RUN/samples/start<k>...)",
                                                show_default=False)] = None,
    device: DeviceOption = "auto",
    batch: Annotated[Optional[int], typer.Option(help="samples generated at once (default: by image size)",
                                                 show_default=False)] = None,
    quiet: QuietOption = False,
):
    """Random samples from a trained run: one PNG per seed (seed0007.png)."""
    chosen = choose_seeds(num, seeds)
    loaded = api.load_run(api.find_run(run), device=device)
    paths = api.sample_run(loaded, chosen, start_scale=start_scale, scale_h=scale_h, scale_v=scale_v, out=out,
                           batch_size=batch)
    if not quiet:
        console.print(f"Wrote {len(paths)} sample(s) to [bold]{escape(str(paths[0].parent))}[/]", highlight=False)


@app.command()
@reporting_errors
def info(
    run: RunArgument,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
):
    """Describe a run of any kind: status, sizes, training time, device; a SinGAN run's scales and noise
    amplitudes, a GAN run's architecture, data and progress; an imported network, or another project's
    StyleGAN file, and where it came from."""
    family, summary = api.describe_run(api.find_run(run))
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        print_summary(summary)


def print_summary(summary: dict) -> None:
    """A run's summary, as its family's `info` prints it (SinGAN's summary names no family)."""
    family = summary.get("family", "singan")
    if family == "gan":
        (_print_imported_summary if summary.get("imported") else _print_gan_summary)(summary)
    elif family == "esrgan":
        _print_esrgan_summary(summary)
    else:
        _print_singan_summary(summary)


def _print_imported_summary(summary: dict) -> None:
    network, source = summary["network"], summary["source"]
    where = summary["directory"] or "converted in memory"
    console.print(f"[bold]{escape(where)}[/] (imported network)", highlight=False)
    classes = f", conditional ({network['label_count']} classes)" if network.get("label_count") else ""
    console.print(f"model     {summary['arch']} at {summary['resolution']} px, z {network['z_dim']}, "
                  f"w {network['w_dim']}, {network['mapping_layers']} mapping layers, channels up to "
                  f"{network['channel_max']}{classes}", highlight=False)
    console.print(f"source    {escape(str(source['file']))} ({source['format']}, {source['bytes']:,} bytes, "
                  f"sha256 {source['sha256'][:16]}...)", highlight=False)
    console.print(f"seeds     {summary['seed_compat']} (seed N draws z as "
                  f"{'NVlabs scripts do' if summary['seed_compat'] == 'nvlabs' else 'singan does'})", highlight=False)
    for note in summary["notes"]:
        console.print(f"note      {escape(note)}", highlight=False)
    _print_versions(summary["versions"])


def _print_esrgan_summary(summary: dict) -> None:
    console.print(f"[bold]{escape(summary['directory'])}[/] (ESRGAN-family run)", highlight=False)
    console.print(f"network   {summary['architecture']} x{summary['scale']}, {summary['features']} features, "
                  f"{summary['blocks']} blocks", highlight=False)
    training = summary.get("training")
    if training is None:
        console.print(f"made by   {escape(json.dumps(summary['source']))}", highlight=False)
        return
    config = training["config"]
    status = "complete" if summary["complete"] else f"incomplete: {training['iteration']} of {config['iterations']}"
    recipe = f" ({config['recipe']} recipe)" if config["stage"] == "gan" else ""
    console.print(f"training  stage {config['stage']}{recipe}, {config['degradation']} degradation, "
                  f"{status} iterations, {duration(training['seconds'])} on {training['device']}, "
                  f"seed {training['seed']}", highlight=False)
    console.print(f"data      {escape(str(training['data']['path']))} ({training['data']['images']} images)",
                  highlight=False)
    if training.get("validation"):
        figures = training["validation"]
        console.print(f"validated Y-PSNR {figures['psnr_y']:.2f} dB, SSIM {figures['ssim_y']:.4f} on "
                      f"{figures['images']} image(s)", highlight=False)


def _print_singan_summary(summary: dict) -> None:
    trained, planned = summary["trained_scales"], summary["num_scales"]
    status = "complete" if summary["complete"] else f"incomplete: {trained} of {planned} scales"
    height, width = summary["image_size"]
    console.print(f"[bold]{escape(summary['directory'])}[/] ({status})", highlight=False)
    console.print(f"image     {escape(summary['image'])} ({width}x{height} px, "
                  f"{'grayscale' if summary['channels'] == 1 else 'RGB'})", highlight=False)
    console.print(f"trained   {duration(summary['seconds'])} on {summary['device']}, seed {summary['seed']}, "
                  f"{summary['created']}", highlight=False)
    console.print(f"pyramid   {summary['num_scales']} scales, factor {summary['scale_factor']:.4f}", highlight=False)
    _print_versions(summary["versions"])
    table = Table("scale", "size (H x W)", "channels", "noise amp", "seconds")
    for scale in summary["scales"]:
        table.add_row(str(scale["scale"]), f"{scale['size'][0]} x {scale['size'][1]}", str(scale["channels"]),
                      "-" if scale["noise_amp"] is None else f"{scale['noise_amp']:.4g}",
                      "-" if scale["seconds"] is None else f"{scale['seconds']:.1f}")
    console.print(table)


def _print_gan_summary(summary: dict) -> None:
    seen, total = summary["images_seen"], summary["total_images"]
    status = "complete" if summary["complete"] else f"incomplete: {seen / 1000:g} of {total / 1000:g} kimg"
    stage = summary["stage"]
    fading = f", fading in at {stage['alpha']:.2f}" if stage["alpha"] < 1 else ""
    data = summary["data"]
    skipped = f", {data['skipped']} unreadable skipped" if data["skipped"] else ""
    console.print(f"[bold]{escape(summary['directory'])}[/] ({status})", highlight=False)
    console.print(f"model     {summary['arch']} at {summary['resolution']} px, {seen / 1000:g} kimg trained, "
                  f"stage {stage['resolution']} px{fading}", highlight=False)
    console.print(f"data      {escape(str(data['path']))} ({data['images']} images{skipped}, "
                  f"{'grayscale' if data['channels'] == 1 else 'RGB'})", highlight=False)
    processes = f" x {summary['processes']} processes" if summary["processes"] > 1 else ""
    console.print(f"trained   {duration(summary['seconds'])} on {summary['device']}{processes}, seed "
                  f"{summary['seed']}, {summary['created']}", highlight=False)
    _print_versions(summary["versions"])


def _print_versions(versions: dict) -> None:
    console.print(f"versions  run format {versions['format']}, singan {versions['singan']}, torch {versions['torch']}",
                  highlight=False)
