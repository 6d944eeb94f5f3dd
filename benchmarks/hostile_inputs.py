"""Hostile input and faults through the CLI (issue 15): every case is a real `python -m singan ...` process.

    python benchmarks/hostile_inputs.py [--only REGEX] [--list] [--keep DIR] [--timeout 120]
                                        [--memory-limit-gib 4] [--no-write]

Each case gets a fresh folder (its working directory) in a scratch root made with tempfile.mkdtemp,
beside a sentinel folder of user files. The case's files are made (hostile images, hand-edited copies
of a tiny run trained at the start, folders of user files), the whole scratch root is snapshotted
(type, size, mtime and SHA-256 of every entry), the command runs as a child process (stdin closed,
OMP_NUM_THREADS=1, a timeout, an address-space limit so that a runaway allocation cannot take the
machine down; its peak resident memory comes from os.wait4), and the root is snapshotted again.

A case passes when:
- no step printed a traceback, crashed on a signal or ran past its timeout;
- a refused input exits non-zero with exactly one non-empty line on stderr, starting with "error:"
  (a usage error: exit 2, one line, naming the option or argument), using under 1 GB of memory;
- an accepted input exits 0 (the fault cases also check that the resumed run is complete, and a
  resumed SinGAN run bit for bit equal to an uninterrupted one);
- nothing changed in the scratch root outside the folder the case may write (its run folder, or its
  --out), no planted user file was deleted or changed, and no file of hostile code ran (marker file).

Classes: image files, pictures of the task commands, GAN data folders, run names and output paths,
--force, broken SinGAN runs, broken GAN runs, code in files (pickles), sizes, usage errors, faults
(kill -9, Ctrl-C, leftover .tmp files, a full disk, a read-only disk). Prints a table per class, the
totals and every failing case with the first line of its error output (the exception line for a
traceback); exits 1 if any case failed. Writes the "hostile_inputs" section of benchmarks/RESULTS.md
when every case ran (not with --only) unless --no-write.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import re
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests")]
from conftest import synthetic_image  # noqa: E402  (the tests' tiny training image)

REPOSITORY = Path(__file__).resolve().parents[1]
TRACEBACK = "Traceback (most recent call last)"
GIB = 1 << 30
REFUSED_MEMORY_LIMIT_MB = 1024  # the bound on a refused input's peak memory
IS_ROOT = os.geteuid() == 0

# The smallest trainings the CLI allows that still build a real pyramid (14x19 .. 24x32 px, 8 channels).
TRAIN = ["--preset", "paper", "--min-size", "14", "--max-size", "32", "--base-channels", "8", "--max-channels", "8",
         "--device", "cpu", "--no-estimate", "--quiet", "--seed", "1"]
LOAD = TRAIN + ["--iterations", "2", "--max-size", "24"]  # image cases: only the loading matters
RESUMABLE = TRAIN + ["--iterations", "16"]  # the base run and the kill cases: a few seconds of training
GAN = ["--arch", "stylegan2", "--resolution", "8", "--batch", "4", "--z-dim", "8", "--w-dim", "8", "--channel-max",
       "8", "--mapping-layers", "2", "--device", "cpu", "--quiet", "--seed", "1"]
GAN_BASE = GAN + ["--kimg", "0.016"]
GAN_LONG = GAN + ["--kimg", "0.4", "--checkpoint-kimg", "0.1", "--snapshot-kimg", "10", "--log-kimg", "0.1"]
CPU = ["--device", "cpu", "--quiet"]


# ----------------------------------------------------------------------------------------------------------
# Hostile files, made by hand (no torch here: the parent stays small and fast)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_file(width: int, height: int, depth: int = 8, colour: int = 2, idat: bytes = b"", extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def zeros_zlib(total: int, piece: int = 1 << 20) -> bytes:
    """A valid zlib stream of `total` zero bytes, made of one fully flushed compressed piece repeated: a
    gigabyte costs a megabyte and no time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(piece)) + compressor.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(total, piece)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = tail.compress(bytes(rest)) + tail.flush()
    adler = ((total % 65521) << 16) | 1  # the Adler-32 of zeros
    return b"\x78\xda" + block * count + last + struct.pack(">I", adler)


def bomb_png(width: int, height: int, depth: int, colour: int) -> bytes:
    """A PNG whose pixel data really is width x height (all zero), a thousand times smaller than decoded."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = 1 + width * channels * depth // 8
    return png_file(width, height, depth, colour, zeros_zlib(row * height))


def big_striped_png(size: int) -> bytes:
    """size x size RGB: one row of colour, repeated by the PNG 'up' filter (8000 px: about 200 KB)."""
    first = b"\x00" + bytes((x * 7 + c * 50) % 256 for x in range(size) for c in range(3))
    repeat = b"\x02" + bytes(size * 3)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(first)]
    chunk_rows = 64
    for start in range(1, size, chunk_rows):
        parts.append(compressor.compress(repeat * min(chunk_rows, size - start)))
    parts.append(compressor.flush())
    return png_file(size, size, 8, 2, b"".join(parts))


def tiff_file(width: int, height: int, rows_per_strip: int, blob: bytes, compression: int = 8,
              declared_bytes: int | None = None) -> bytes:
    """A little-endian 8-bit grayscale TIFF whose strips all point at the same (compressed) blob."""
    strips = -(-height // rows_per_strip)
    entries = 9
    ifd_size = 2 + 12 * entries + 4
    offsets_at = 8 + ifd_size
    counts_at = offsets_at + 4 * strips
    blob_at = counts_at + 4 * strips
    count = len(blob) if declared_bytes is None else declared_bytes

    def entry(tag, kind, number, value):
        return struct.pack("<HHII", tag, kind, number, value) if kind == 4 else struct.pack("<HHIHH", tag, kind,
                                                                                            number, value, 0)
    offsets_value = blob_at if strips == 1 else offsets_at
    counts_value = count if strips == 1 else counts_at
    ifd = struct.pack("<H", entries) + b"".join([
        entry(256, 4, 1, width), entry(257, 4, 1, height), entry(258, 3, 1, 8), entry(259, 3, 1, compression),
        entry(262, 3, 1, 1), entry(273, 4, strips, offsets_value), entry(277, 3, 1, 1),
        entry(278, 4, 1, rows_per_strip), entry(279, 4, strips, counts_value)]) + struct.pack("<I", 0)
    body = b"II*\x00" + struct.pack("<I", 8) + ifd
    body += struct.pack(f"<{strips}I", *([blob_at] * strips)) + struct.pack(f"<{strips}I", *([count] * strips))
    return body + blob


def bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def encoded(pixels: np.ndarray, format_: str, **options) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(pixels).save(stream, format=format_, **options)
    return stream.getvalue()


TINY_PNG = encoded(synthetic_image(), "PNG")


def jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(encoded(synthetic_image(16, 16), "JPEG"))
    at = data.find(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


class _Evil:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"weight": _Evil(marker)}, protocol=2)


def evil_torch_zip(marker: Path) -> bytes:
    """The layout of a torch.save file (a zip holding data.pkl) whose pickle runs the command."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("archive/data.pkl", evil_pickle(marker))
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
    return stream.getvalue()


def read_safetensors(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    length = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + length]), data[8 + length:]


def rewrite_safetensors(path: Path, change: Callable[[dict[str, tuple[str, list, bytes]]], None]) -> None:
    """Rewrite a safetensors file after `change` edits its name -> (dtype, shape, bytes) map."""
    header, body = read_safetensors(path)
    header.pop("__metadata__", None)
    tensors = {name: (entry["dtype"], entry["shape"], body[entry["data_offsets"][0]:entry["data_offsets"][1]])
               for name, entry in header.items()}
    change(tensors)
    new_header, blobs, offset = {}, [], 0
    for name, (dtype, shape, blob) in tensors.items():
        new_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(new_header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def edit_gan_state(path: Path, change: Callable[[dict], object]) -> None:
    """Replace the JSON training state inside a GAN checkpoint by change(state)."""
    def edit(tensors):
        dtype, _, blob = tensors["state_json"]
        text = json.dumps(change(json.loads(blob))).encode()
        tensors["state_json"] = (dtype, [len(text)], text)
    rewrite_safetensors(path, edit)


def shapes_images(folder: Path, count: int = 8, size: int = 16) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = np.full((size, size), 30, np.uint8)
        top, left = rng.integers(0, size // 2, 2)
        pixels[top:top + size // 2, left:left + size // 2] = 220
        (folder / f"shape{index:02d}.png").write_bytes(encoded(pixels, "PNG"))


# ----------------------------------------------------------------------------------------------------------
# Cases

@dataclass
class Step:
    args: list[str]
    expect: str  # accepted | refused | either | usage | interrupted | killed
    names: tuple[str, ...] = ()  # a usage error must name these
    signal: int | None = None  # sent to the process group when the trigger fires
    trigger: float | str | None = None  # seconds after the start, or a path (in the case folder) to appear
    delay: float = 0.0  # seconds between the trigger and the signal
    timeout: float | None = None
    says: str | None = None  # a refusal's line must match this regular expression (it names the real problem)


@dataclass
class Hook:
    """Something done between two steps (such as freeing disk space)."""
    action: Callable[["Context"], None]


@dataclass
class Case:
    group: str
    name: str
    steps: list
    setup: Callable[["Context"], None] | None = None
    allowed: tuple[str, ...] = ()  # folders (in the case folder) the case may write
    check: Callable[["Context"], list[str]] | None = None
    memory_cap: bool = False  # hold an accepted case to the refused inputs' memory bound too
    needs: str | None = None  # "mount": a tmpfs (root)
    note: str = ""


@dataclass
class StepResult:
    args: list[str]
    rc: int | None
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    timed_out: bool
    signalled: bool


@dataclass
class Outcome:
    case: Case
    problems: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    user_lost: list[str] = field(default_factory=list)
    user_changed: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.skipped is None and not self.problems

    @property
    def final(self) -> StepResult | None:
        return self.steps[-1] if self.steps else None

    @property
    def peak_mb(self) -> float:
        return max((step.peak_mb for step in self.steps), default=0.0)

    @property
    def traceback(self) -> bool:
        return any(TRACEBACK in step.stderr or TRACEBACK in step.stdout for step in self.steps)


class Context:
    """The case's folder and what a setup plants in it."""

    def __init__(self, directory: Path, root: Path, bases: Path):
        self.dir, self.root, self.bases = directory, root, bases
        self.user_files: list[Path] = []
        self.mounts: list[Path] = []
        self.marker = root / f"MARKER-{directory.name}"

    def path(self, relative: str) -> Path:
        return self.dir / relative

    def write(self, relative: str, data: bytes | str, user: bool = False) -> Path:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        if user:
            self.user_files.append(path)
        return path

    def user(self, relative: str, data: bytes | str | None = None) -> Path:
        """A file of the user's that no command may delete or change."""
        return self.write(relative, data if data is not None else f"the user's own {relative}\n", user=True)

    def image(self, relative: str = "tiny.png") -> Path:
        return self.write(relative, TINY_PNG)

    def copy_run(self, relative: str = "runs/base", base: str = "singan_run") -> Path:
        destination = self.path(relative)
        shutil.copytree(self.bases / base, destination, symlinks=True)
        return destination

    def copy_gan(self, relative: str = "runs/gan") -> Path:
        shutil.copytree(self.bases / "shapes", self.path("shapes"), dirs_exist_ok=True)
        return self.copy_run(relative, "gan_run")

    def edit_json(self, relative: str, change: Callable[[dict], object]) -> None:
        path = self.path(relative)
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    def mount(self, relative: str, size: str) -> Path:
        path = self.path(relative)
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True,
                       capture_output=True)
        self.mounts.append(path)
        return path

    def remount_read_only(self, path: Path) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)

    def fill(self, path: Path, leave: int) -> Path:
        """Fill the file system of `path` but `leave` bytes."""
        info = os.statvfs(path)
        free = info.f_bavail * info.f_frsize
        filler = path / "filler.bin"
        filler.write_bytes(bytes(max(free - leave, 0)))
        return filler

    def cleanup(self) -> None:
        for path in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
        for path in self.dir.rglob("*"):
            try:
                if not path.is_symlink() and path.exists() and stat.S_IMODE(path.stat().st_mode) == 0:
                    path.chmod(0o644)
            except OSError:
                pass


def singan_run_complete(ctx: Context, relative: str, reference: bool = True) -> list[str]:
    """Problems of a run that should now be complete (and equal to the uninterrupted base run)."""
    directory = ctx.path(relative)
    try:
        record = json.loads((directory / "run.json").read_text())
    except (OSError, ValueError) as error:
        return [f"{relative}/run.json unreadable after the resume ({error})"]
    problems = []
    if not record.get("complete"):
        problems.append(f"{relative} is not complete after the resume")
    scales = record.get("scales") or []
    for scale in scales:
        if not (directory / scale.get("weights", "?")).is_file():
            problems.append(f"{relative}: {scale.get('weights')} missing")
    if reference and not problems:
        base = json.loads((ctx.bases / "singan_run" / "run.json").read_text())
        for ours, theirs in zip(scales, base["scales"]):
            if digest(directory / ours["weights"]) != digest(ctx.bases / "singan_run" / theirs["weights"]):
                problems.append(f"{relative}: {ours['weights']} differs from an uninterrupted run's")
                break
        if len(scales) != len(base["scales"]):
            problems.append(f"{relative}: {len(scales)} scales, the uninterrupted run has {len(base['scales'])}")
    return problems


def gan_run_complete(ctx: Context, relative: str) -> list[str]:
    directory = ctx.path(relative)
    try:
        record = json.loads((directory / "run.json").read_text())
    except (OSError, ValueError) as error:
        return [f"{relative}/run.json unreadable after the resume ({error})"]
    problems = [] if record.get("complete") else [f"{relative} is not complete after the resume"]
    config = record.get("config") or {}
    if (config.get("resolution"), config.get("kimg")) != (8, 0.4):
        problems.append(f"{relative} was resumed with other settings than it was started with (resolution "
                        f"{config.get('resolution')}, kimg {config.get('kimg')}; started with 8 px, 0.4 kimg)")
    if not (directory / "checkpoint.safetensors").is_file():
        problems.append(f"{relative}: no checkpoint")
    return problems


def no_temporary_files(ctx: Context, relative: str) -> list[str]:
    left = [str(path.relative_to(ctx.dir)) for path in ctx.path(relative).rglob("*.tmp")
            if re.fullmatch(r"\..+\.[A-Za-z0-9_]{8}\.tmp", path.name)]
    return [f"temporary files left: {', '.join(left)}"] if left else []


def train_case(group: str, name: str, image: str, expect: str, setup=None, extra=(), flags=LOAD, run_name=None,
               **options) -> Case:
    stem = run_name or Path(image).stem
    arguments = ["train", "--out", "runs", *flags, *extra]
    arguments += ["--", image] if image.startswith("-") else [image]
    return Case(group, name, [Step(arguments, expect, timeout=options.pop("timeout", None))], setup,
                allowed=(f"runs/{stem}",), **options)


def user_folder_files(ctx: Context, base: str) -> None:
    """A user's files where a run keeps its own: weights/, samples/, previews/, and the top."""
    ctx.user(f"{base}/weights/scale_00.safetensors", b"the user's own bytes, named like a weights file")
    ctx.user(f"{base}/weights/notes.txt")
    ctx.user(f"{base}/samples/start0/seed0000.png", TINY_PNG)
    ctx.user(f"{base}/samples/holiday.png", TINY_PNG)
    ctx.user(f"{base}/previews/scale_00_real.png", TINY_PNG)
    ctx.user(f"{base}/thesis.tex")


def build_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append

    # --- image files, as the training image ------------------------------------------------------------
    g = "image files"

    def planted(relative, data):
        return lambda ctx: ctx.write(relative, data)

    def with_tiny(more=None):
        def setup(ctx):
            ctx.image()
            if more:
                more(ctx)
        return setup

    truncated_png = encoded(synthetic_image(64, 64), "PNG")
    truncated_jpeg = encoded(synthetic_image(64, 64), "JPEG")
    add(train_case(g, "missing file", "nothere.png", "refused"))
    add(train_case(g, "a directory", "folder.png", "refused", lambda ctx: ctx.path("folder.png").mkdir()))
    add(train_case(g, "empty file", "empty.png", "refused", planted("empty.png", b"")))
    add(train_case(g, "truncated PNG", "cut.png", "refused", planted("cut.png", truncated_png[:len(truncated_png) // 2])))
    add(train_case(g, "truncated JPEG", "cut.jpg", "refused",
                   planted("cut.jpg", truncated_jpeg[:len(truncated_jpeg) // 2])))
    add(train_case(g, "random bytes named .png", "noise.png", "refused",
                   planted("noise.png", np.random.default_rng(0).bytes(5000))))
    add(train_case(g, "PNG of width 0", "zero_width.png", "refused", planted("zero_width.png", png_file(0, 24))))
    add(train_case(g, "PNG header of 60000x60000 (tiny file)", "huge.png", "refused",
                   planted("huge.png", png_file(60000, 60000, idat=zlib.compress(bytes(1000))))))
    add(train_case(g, "16-bit RGB PNG bomb, 16000x16000 real pixels (1.5 MB file)", "bomb16.png", "refused",
                   lambda ctx: ctx.write("bomb16.png", bomb_png(16000, 16000, 16, 2))))
    add(train_case(g, "8-bit gray PNG bomb, 30000x30000 real pixels", "bomb8.png", "refused",
                   lambda ctx: ctx.write("bomb8.png", bomb_png(30000, 30000, 8, 0))))
    add(train_case(g, "8000x8000 PNG (200 KB) with --max-size 24", "big.png", "accepted",
                   lambda ctx: ctx.write("big.png", big_striped_png(8000))))
    add(train_case(g, "30000x30000 deflate TIFF (12 KB)", "bomb.tif", "refused",
                   lambda ctx: ctx.write("bomb.tif", tiff_file(30000, 30000, 100, zlib.compress(bytes(100 * 30000), 9)))))
    add(train_case(g, "JPEG whose header says 65000x65000", "huge.jpg", "refused",
                   planted("huge.jpg", jpeg_with_size(65000, 65000))))
    add(train_case(g, "BMP header of 100000x100000", "huge.bmp", "refused", planted("huge.bmp", bmp_header(100000, 100000))))
    add(train_case(g, "a FIFO named .png (nobody writes to it)", "pipe.png", "refused",
                   lambda ctx: os.mkfifo(ctx.path("pipe.png")), timeout=40))
    add(train_case(g, "/dev/zero", "/dev/zero", "refused", run_name="zero", timeout=40))
    add(train_case(g, "symlink loop", "loop.png", "refused",
                   lambda ctx: (os.symlink("loop2.png", ctx.path("loop.png")),
                                os.symlink("loop.png", ctx.path("loop2.png")))))
    if IS_ROOT:
        add(train_case(g, "unreadable: a link to /proc/self/mem (EIO; chmod 000 means nothing to root)", "mem.png",
                       "refused", lambda ctx: os.symlink("/proc/self/mem", ctx.path("mem.png")), timeout=40))
    else:
        add(train_case(g, "unreadable file (chmod 000)", "secret.png", "refused",
                       lambda ctx: ctx.write("secret.png", TINY_PNG).chmod(0)))

    def float_tiff(value):
        import tifffile
        def setup(ctx):
            pixels = np.full((24, 32), value, np.float32)
            stream = io.BytesIO()
            tifffile.imwrite(stream, pixels)
            ctx.write("float.tif", stream.getvalue())
        return setup
    add(train_case(g, "float TIFF full of NaN", "float.tif", "refused", float_tiff(np.nan)))
    add(train_case(g, "1x1 PNG", "dot.png", "either", planted("dot.png", encoded(np.full((1, 1, 3), 128, np.uint8), "PNG"))))
    add(train_case(g, "1x70000 PNG", "line.png", "either", memory_cap=True,
                   setup=planted("line.png", encoded(np.zeros((1, 70000, 3), np.uint8), "PNG"))))
    add(train_case(g, "PNG with a 200 MB zTXt text bomb", "text.png", "either", memory_cap=True, setup=lambda ctx: ctx.write(
        "text.png", TINY_PNG[:33] + png_chunk(b"zTXt", b"Comment\x00\x00" + zeros_zlib(200 << 20)) + TINY_PNG[33:])))
    add(train_case(g, "unicode name", "фото 画像 ü.png", "accepted", planted("фото 画像 ü.png", TINY_PNG)))
    add(train_case(g, "name starting with a dash (after --)", "-dash.png", "accepted", planted("-dash.png", TINY_PNG)))
    long_name = "l" * 240 + ".png"
    add(train_case(g, "244-character file name", long_name, "either", planted(long_name, TINY_PNG)))

    # --- pictures handed to the task commands ------------------------------------------------------------
    g = "task pictures"
    hostile = {
        "random bytes": (lambda ctx: ctx.write("noise.png", np.random.default_rng(1).bytes(3000)), "noise.png"),
        "60000x60000 PNG header": (lambda ctx: ctx.write("huge.png", png_file(60000, 60000, idat=b"x")), "huge.png"),
        "FIFO": (lambda ctx: os.mkfifo(ctx.path("pipe.png")), "pipe.png"),
        "30000x30000 TIFF": (lambda ctx: ctx.write("bomb.tif", tiff_file(30000, 30000, 100, zlib.compress(
            bytes(100 * 30000), 9))), "bomb.tif"),
        "16-bit PNG bomb": (lambda ctx: ctx.write("bomb16.png", bomb_png(16000, 16000, 16, 2)), "bomb16.png"),
    }

    def task_setup(more):
        def setup(ctx):
            ctx.copy_run()
            if more:
                more(ctx)
        return setup

    for label in ("random bytes", "60000x60000 PNG header", "FIFO", "30000x30000 TIFF"):
        make, picture = hostile[label]
        add(Case(g, f"paint: {label}", [Step(["paint", "runs/base", picture, *CPU], "refused", timeout=40)],
                 task_setup(make), allowed=("runs/base",)))
    for label in ("16-bit PNG bomb",):
        make, picture = hostile[label]
        add(Case(g, f"harmonize: picture {label}", [Step(["harmonize", "runs/base", picture, "--mask", "mask.png",
                                                             *CPU], "refused", timeout=60)],
                 task_setup(lambda ctx, make=make: (make(ctx), ctx.write("mask.png", _mask()))), allowed=("runs/base",)))

    def mask_case(label, make, expect="refused"):
        add(Case(g, f"harmonize: mask {label}", [Step(["harmonize", "runs/base", "naive.png", "--mask", "mask.png",
                                                          *CPU], expect, timeout=40)],
                 task_setup(lambda ctx: (ctx.image("naive.png"), make(ctx))), allowed=("runs/base",)))
    mask_case("missing", lambda ctx: None)
    mask_case("random bytes", lambda ctx: ctx.write("mask.png", np.random.default_rng(2).bytes(999)))
    mask_case("all black", lambda ctx: ctx.write("mask.png", _mask(0)))
    mask_case("all white", lambda ctx: ctx.write("mask.png", _mask(255, full=True)))
    mask_case("of another aspect ratio", lambda ctx: ctx.write("mask.png", encoded(np.full((10, 90), 255, np.uint8), "PNG")))
    mask_case("a 60000x60000 PNG header", lambda ctx: ctx.write("mask.png", png_file(60000, 60000, 8, 0, b"x")))
    add(Case(g, "edit: mask is a directory", [Step(["edit", "runs/base", "edited.png", "--mask", "maskdir", *CPU],
                                                   "refused")],
             task_setup(lambda ctx: (ctx.image("edited.png"), ctx.path("maskdir").mkdir())), allowed=("runs/base",)))
    for label in ("60000x60000 PNG header",):
        make, picture = hostile[label]
        stem = Path(picture).stem
        add(Case(g, f"sr: {label}", [Step(["sr", picture, "--out", "runs", *TRAIN, "--iterations", "2"], "refused")],
                 make, allowed=(f"runs/{stem}_sr",)))

    # --- GAN data folders -------------------------------------------------------------------------------
    g = "GAN data folders"

    def gan_data(more=None, shapes=True):
        def setup(ctx):
            if shapes:
                shutil.copytree(ctx.bases / "shapes", ctx.path("data"))
            else:
                ctx.path("data").mkdir()
            if more:
                more(ctx)
        return setup

    def gan_train(label, expect, setup, folder="data", extra=(), timeout=None, **options):
        add(Case(g, label, [Step(["gan", "train", folder, "--out", "runs", "--name", "g", *GAN,
                                  "--kimg", "0.008", *extra], expect, timeout=timeout)],
                 setup, allowed=("runs/g",), **options))
    gan_train("folder missing", "refused", None)
    gan_train("empty folder", "refused", gan_data(shapes=False))
    gan_train("only unreadable files", "refused", gan_data(lambda ctx: [ctx.write(f"data/bad{i}.png", b"junk")
                                                                        for i in range(3)], shapes=False))
    gan_train("images plus garbage, a FIFO and /dev/zero (skipped)", "accepted", gan_data(lambda ctx: (
        ctx.write("data/junk.png", b"junk"), os.mkfifo(ctx.path("data/pipe.png")),
        os.symlink("/dev/zero", ctx.path("data/zero.png")))), timeout=60, memory_cap=True)
    gan_train("images plus a symlink loop of folders", "accepted",
              gan_data(lambda ctx: os.symlink("..", ctx.path("data/loop"))), timeout=60)
    gan_train("images plus a PNG header of 60000x60000 and a TIFF bomb (skipped)", "accepted", gan_data(lambda ctx: (
        ctx.write("data/huge.png", png_file(60000, 60000, idat=b"x")),
        ctx.write("data/bomb.tif", tiff_file(30000, 30000, 100, zlib.compress(bytes(100 * 30000), 9))))),
        timeout=60, memory_cap=True)
    gan_train("--strict with a 16-bit PNG bomb", "refused",
              gan_data(lambda ctx: ctx.write("data/bomb16.png", bomb_png(16000, 16000, 16, 2))), extra=["--strict"],
              timeout=60)

    # --- run names and output paths ---------------------------------------------------------------------
    g = "names and paths"

    def named(label, name, expect="refused", allowed=()):
        add(Case(g, f"train --name {label}", [Step(["train", "tiny.png", "--out", "runs", "--name", name, *LOAD],
                                                   expect)],
                 lambda ctx: (ctx.image(), ctx.path("runs").mkdir(), ctx.user("runs/other/notes.txt")),
                 allowed=allowed))
    named("../escape", "../escape")
    named("/absolute/path (in the scratch root)", "{root}/absolute_target")
    named("a/b", "a/b")
    named("..", "..")
    named("of 300 characters", "n" * 300)
    named("'' (empty)", "")
    named("with a newline", "two\nlines", "either", allowed=("runs/two\nlines",))
    named("'with space' (a valid name)", "with space", "accepted", allowed=("runs/with space",))
    add(Case(g, "sr --name ../escape", [Step(["sr", "tiny.png", "--out", "runs", "--name", "../x", *TRAIN,
                                              "--iterations", "2"], "refused")], lambda ctx: ctx.image()))

    def out_file(label, arguments, setup):
        add(Case(g, label, [Step(arguments, "refused")],
                 lambda ctx: (setup(ctx), ctx.user("taken", "a user's file where the output folder would go\n")),
                 allowed=("runs/base",)))
    out_file("train --out is a regular file", ["train", "tiny.png", "--out", "taken", *LOAD], lambda ctx: ctx.image())
    out_file("sample --out is a regular file", ["sample", "runs/base", "--num", "1", "--out", "taken", *CPU],
             lambda ctx: ctx.copy_run())
    out_file("gan generate --out is a regular file", ["gan", "generate", "runs/gan", "--seeds", "0", "--out", "taken",
                                                      *CPU], lambda ctx: ctx.copy_gan())
    add(Case(g, "train --out in a read-only folder", [Step(["train", "tiny.png", "--out", "ro/runs", *LOAD],
                                                           "refused")],
             lambda ctx: (ctx.image(), ctx.remount_read_only(ctx.mount("ro", "1m"))), needs="mount"))
    add(Case(g, "sample --out in a read-only folder", [Step(["sample", "runs/base", "--num", "1", "--out", "ro/samples",
                                                             *CPU], "refused")],
             lambda ctx: (ctx.copy_run(), ctx.remount_read_only(ctx.mount("ro", "1m"))), needs="mount",
             allowed=("runs/base",)))
    for label, run in (("a missing run name", "nothere"), ("..", "..")):
        add(Case(g, f"sample RUN = {label}", [Step(["sample", run, "--num", "1", *CPU], "refused")],
                 lambda ctx: (ctx.image(), ctx.user("notes.txt"))))
    add(Case(g, "sample RUN = a GAN run", [Step(["sample", "runs/gan", "--num", "1", *CPU], "refused")],
             lambda ctx: ctx.copy_gan(), allowed=("runs/gan",)))
    add(Case(g, "gan generate RUN = a SinGAN run", [Step(["gan", "generate", "runs/base", "--seeds", "0", *CPU],
                                                         "refused")], lambda ctx: ctx.copy_run(), allowed=("runs/base",)))

    # --- --force ----------------------------------------------------------------------------------------
    g = "--force"

    def foreign(record):
        def setup(ctx):
            ctx.image()
            if record is not None:
                ctx.user("runs/tiny/run.json", record)
            user_folder_files(ctx, "runs/tiny")
        return setup

    for label, record, expect in (("garbage run.json", b"\x00\xffnot json at all", "refused"),
                                  ("another program's run.json", json.dumps({"format": "photo-album", "version": 3,
                                                                             "files": ["weights", "samples"]}), "refused"),
                                  ("no run.json, only user files", None, "either")):
        add(Case(g, f"train --force over a folder with {label}",
                 [Step(["train", "tiny.png", "--out", "runs", "--force", *LOAD], expect)], foreign(record),
                 allowed=("runs/tiny",)))
    add(Case(g, "gan train --force over a folder with garbage run.json",
             [Step(["gan", "train", "shapes", "--out", "runs", "--name", "tiny", "--force", *GAN, "--kimg", "0.008"],
                   "refused")],
             lambda ctx: (foreign(b"garbage")(ctx), shutil.copytree(ctx.bases / "shapes", ctx.path("shapes"))),
             allowed=("runs/tiny",)))
    add(Case(g, "train --resume on a folder with garbage run.json",
             [Step(["train", "tiny.png", "--out", "runs", "--resume", "--quiet", "--device", "cpu"], "refused")],
             foreign(b"garbage"), allowed=("runs/tiny",)))
    add(Case(g, "train --force --resume together", [Step(["train", "tiny.png", "--out", "runs", "--name", "base",
                                                          "--force", "--resume", "--quiet"], "refused")],
             lambda ctx: (ctx.image(), ctx.copy_run(), ctx.user("runs/base/samples/mine.png", TINY_PNG)),
             allowed=("runs/base",)))

    def real_run_with_users(ctx):
        ctx.image()
        ctx.copy_run("runs/tiny")
        ctx.user("runs/tiny/samples/my_picture.png", TINY_PNG)
        ctx.user("runs/tiny/weights/notes.txt")
        ctx.user("runs/tiny/previews/mine.png", TINY_PNG)
        ctx.user("runs/tiny/README.md")
    add(Case(g, "train --force over a real run holding the user's files", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "accepted")], real_run_with_users,
        allowed=("runs/tiny",), check=lambda ctx: singan_run_complete(ctx, "runs/tiny", reference=False)))

    def symlinked(folder):
        def setup(ctx):
            ctx.image()
            ctx.copy_run("runs/tiny")
            target = ctx.path(f"runs/tiny/{folder}")
            shutil.rmtree(target, ignore_errors=True)
            for name in ("scale_00.safetensors", "scale_01.safetensors", "seed0000.png", "keep.txt"):
                ctx.user(f"user_{folder}/{name}", f"the user's {name}\n")
            os.symlink(ctx.path(f"user_{folder}"), target)
        return setup
    add(Case(g, "train --force on a run whose weights/ is a symlink to a user folder", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "either")], symlinked("weights"), allowed=("runs/tiny",)))
    add(Case(g, "train --force on a run whose samples/ is a symlink to a user folder", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "either")], symlinked("samples"), allowed=("runs/tiny",)))

    def run_symlink(ctx):
        ctx.image()
        ctx.copy_run("users_run")
        ctx.user("users_run/samples/my_picture.png", TINY_PNG)
        for path in list(ctx.path("users_run").rglob("*")):
            if path.is_file():
                ctx.user_files.append(path)
        ctx.path("runs").mkdir()
        os.symlink(ctx.path("users_run"), ctx.path("runs/tiny"))
    add(Case(g, "train --force where the run folder is a symlink to the user's run", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "either")], run_symlink, allowed=("runs/tiny",)))

    def victim_record(ctx):
        ctx.image()
        ctx.copy_run("runs/tiny")
        ctx.user("victim.txt")
        ctx.edit_json("runs/tiny/run.json", lambda record: {**record, "scales": [
            {**scale, "weights": "../../victim.txt"} if index == 0 else scale
            for index, scale in enumerate(record["scales"])]})
    add(Case(g, "train --force on a run.json whose weights path is ../../victim.txt", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "either")], victim_record, allowed=("runs/tiny",)))

    def record_symlink(ctx):
        ctx.image()
        ctx.copy_run("runs/tiny")
        ctx.path("users").mkdir()
        shutil.move(ctx.path("runs/tiny/run.json"), ctx.path("users/run.json"))
        ctx.user_files.append(ctx.path("users/run.json"))
        os.symlink(ctx.path("users/run.json"), ctx.path("runs/tiny/run.json"))
    add(Case(g, "train --force on a run whose run.json is a symlink to a user file", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "either")], record_symlink, allowed=("runs/tiny",)))
    add(Case(g, "gan train --force over a SinGAN run holding the user's files", [Step(
        ["gan", "train", "shapes", "--out", "runs", "--name", "tiny", "--force", *GAN, "--kimg", "0.008"], "either")],
        lambda ctx: (real_run_with_users(ctx), shutil.copytree(ctx.bases / "shapes", ctx.path("shapes"))),
        allowed=("runs/tiny",)))
    add(Case(g, "train --force over a GAN run holding the user's files", [Step(
        ["train", "tiny.png", "--out", "runs", "--force", *LOAD], "either")],
        lambda ctx: (ctx.image(), ctx.copy_gan("runs/tiny"), ctx.user("runs/tiny/generated/mine.png", TINY_PNG),
                     ctx.user("runs/tiny/notes.txt")), allowed=("runs/tiny",)))

    # --- broken SinGAN runs -----------------------------------------------------------------------------
    g = "broken runs"
    sample = ["sample", "runs/base", "--num", "1", *CPU]

    def broken(label, change, command=sample, expect="refused"):
        def setup(ctx):
            ctx.copy_run()
            change(ctx)
        add(Case(g, label, [Step(list(command), expect)], setup, allowed=("runs/base",)))

    def record(change):
        return lambda ctx: ctx.edit_json("runs/base/run.json", change)

    def raw_record(data):
        return lambda ctx: ctx.write("runs/base/run.json", data)

    def every_size(record_, size):
        record_ = json.loads(json.dumps(record_))
        record_["pyramid"]["sizes"] = [size for _ in record_["pyramid"]["sizes"]]
        for scale in record_["scales"]:
            scale["size"] = size
        record_["input"]["size"] = size
        return record_

    broken("run.json missing", lambda ctx: ctx.path("runs/base/run.json").unlink())
    broken("run.json garbage bytes", raw_record(np.random.default_rng(3).bytes(500)))
    broken("run.json truncated", lambda ctx: ctx.write("runs/base/run.json",
                                                       ctx.path("runs/base/run.json").read_bytes()[:300]))
    broken("run.json is a JSON list", raw_record("[]"))
    broken("run.json of another format", record(lambda r: {**r, "format": "someone-else"}))
    broken("run.json of a newer format version", record(lambda r: {**r, "format_version": 99}))
    broken("pyramid sizes of 100000x100000", record(lambda r: every_size(r, [100000, 100000])))
    broken("scales is a string", record(lambda r: {**r, "scales": "many"}))
    broken("seed of 2**80", record(lambda r: {**r, "seed": 2 ** 80, "config": {**r["config"], "seed": 2 ** 80}}))
    broken("noise_amp is NaN", record(lambda r: {**r, "scales": [{**s, "noise_amp": float("nan")} for s in r["scales"]]}))
    broken("run.json nested 100000 deep", raw_record("[" * 100000 + "]" * 100000))
    broken("a weights file missing", lambda ctx: ctx.path("runs/base/weights/scale_01.safetensors").unlink())
    broken("a weights file truncated", lambda ctx: ctx.write(
        "runs/base/weights/scale_02.safetensors", ctx.path("runs/base/weights/scale_02.safetensors").read_bytes()[:5000]))
    broken("weights of another scale (wrong shapes)", lambda ctx: shutil.copy(
        ctx.path("runs/base/weights/scale_00.safetensors"), ctx.path("runs/base/weights/scale_03.safetensors")))
    broken("safetensors header length of 2**62", lambda ctx: ctx.write(
        "runs/base/weights/scale_00.safetensors", struct.pack("<Q", 1 << 62) + b"{}" * 100))
    broken("safetensors header declaring a 100000x100000 tensor", lambda ctx: ctx.write(
        "runs/base/weights/scale_00.safetensors", _safetensors_header({"w": {"dtype": "F32", "shape": [100000, 100000],
                                                                            "data_offsets": [0, 40000000000]}})))
    broken("weights path /etc/hostname", record(lambda r: {**r, "scales": [
        {**s, "weights": "/etc/hostname"} for s in r["scales"]]}))
    broken("real.safetensors missing", lambda ctx: ctx.path("runs/base/real.safetensors").unlink(), expect="either")
    add(Case(g, "train --resume with a weights file garbage", [Step(
        ["train", "tiny.png", "--out", "runs", "--name", "base", "--resume", "--quiet", "--device", "cpu"], "refused")],
        lambda ctx: (ctx.image(), ctx.copy_run(), ctx.write("runs/base/weights/scale_01.safetensors", b"garbage" * 100),
                     ctx.edit_json("runs/base/run.json", lambda r: {**r, "complete": False, "scales": r["scales"][:2]})),
        allowed=("runs/base",)))

    # --- broken GAN runs --------------------------------------------------------------------------------
    g = "broken GAN runs"
    generate = ["gan", "generate", "runs/gan", "--seeds", "0", *CPU]
    resume = ["gan", "train", "shapes", "--out", "runs", "--name", "gan", "--resume", "--kimg", "0.032", *CPU]

    def broken_gan(label, change, command=generate, expect="refused"):
        def setup(ctx):
            ctx.copy_gan()
            change(ctx)
        add(Case(g, label, [Step(list(command), expect)], setup, allowed=("runs/gan",)))

    def gan_record(change):
        return lambda ctx: ctx.edit_json("runs/gan/run.json", change)

    def gan_state(change):
        return lambda ctx: edit_gan_state(ctx.path("runs/gan/checkpoint.safetensors"), change)

    def drop_state(ctx):
        rewrite_safetensors(ctx.path("runs/gan/checkpoint.safetensors"), lambda tensors: tensors.pop("state_json"))

    broken_gan("run.json of a newer format version", gan_record(lambda r: {**r, "format_version": 99}))
    broken_gan("config resolution 2**20", gan_record(lambda r: {**r, "config": {**r["config"], "resolution": 1 << 20}}))
    broken_gan("config arch 'evil'", gan_record(lambda r: {**r, "config": {**r["config"], "arch": "evil"}}))
    broken_gan("images_seen a string in run.json", gan_record(lambda r: {**r, "images_seen": "lots"}))
    broken_gan("checkpoint missing", lambda ctx: ctx.path("runs/gan/checkpoint.safetensors").unlink())
    broken_gan("checkpoint truncated", lambda ctx: ctx.write(
        "runs/gan/checkpoint.safetensors", ctx.path("runs/gan/checkpoint.safetensors").read_bytes()[:20000]))
    broken_gan("checkpoint state is a list (--resume)", gan_state(lambda state: [1, 2, 3]), command=resume)
    broken_gan("checkpoint images_seen a string (--resume)", gan_state(lambda state: {**state, "images_seen": "lots"}),
               command=resume)
    broken_gan("checkpoint sampler a list (--resume)", gan_state(lambda state: {**state, "sampler": [1, 2]}),
               command=resume)
    broken_gan("checkpoint without its state (--resume)", drop_state, command=resume)

    # --- code in files ----------------------------------------------------------------------------------
    g = "code in files"

    def marker_absent(ctx):
        return [f"the pickle's code ran: {ctx.marker.name} exists"] if ctx.marker.exists() else []

    def pickled(label, command, make, relative="runs/base"):
        add(Case(g, label, [Step(command, "refused")], make, allowed=(relative,), check=marker_absent))
    pickled("a pickle as weights/scale_00.safetensors", sample, lambda ctx: (
        ctx.copy_run(), ctx.write("runs/base/weights/scale_00.safetensors", evil_pickle(ctx.marker))))

    def pth_record(data_of):
        def setup(ctx):
            ctx.copy_run()
            ctx.write("runs/base/weights/scale_00.pth", data_of(ctx.marker))
            ctx.edit_json("runs/base/run.json", lambda r: {**r, "scales": [
                {**s, "weights": "weights/scale_00.pth"} if i == 0 else s for i, s in enumerate(r["scales"])]})
        return setup
    pickled("run.json naming weights/scale_00.pth, a pickle", sample, pth_record(evil_pickle))
    pickled("run.json naming weights/scale_00.pth, a torch zip with a hostile pickle", sample, pth_record(evil_torch_zip))
    evaluate = ["eval", "runs/base", "--num", "2", "--inception-weights", "inception.pth", *CPU]
    pickled("eval --inception-weights a pickle", evaluate,
            lambda ctx: (ctx.copy_run(), ctx.write("inception.pth", evil_pickle(ctx.marker))))
    pickled("eval --inception-weights a torch zip with a hostile pickle", evaluate,
            lambda ctx: (ctx.copy_run(), ctx.write("inception.pth", evil_torch_zip(ctx.marker))))
    pickled("gan eval --inception-weights a pickle",
            ["gan", "eval", "runs/gan", "shapes", "--num", "4", "--inception-weights", "inception.pth", *CPU],
            lambda ctx: (ctx.copy_gan(), ctx.write("inception.pth", evil_pickle(ctx.marker))), relative="runs/gan")
    pickled("a pickle as the GAN checkpoint", generate, lambda ctx: (
        ctx.copy_gan(), ctx.write("runs/gan/checkpoint.safetensors", evil_pickle(ctx.marker))), relative="runs/gan")

    # --- sizes ------------------------------------------------------------------------------------------
    g = "sizes"

    def sized(label, command, expect="refused", make=None, allowed=("runs/base",), **options):
        def setup(ctx):
            if command[0] == "gan" or "runs/gan" in command:
                ctx.copy_gan()
            else:
                ctx.copy_run()
                ctx.image()
            if make:
                make(ctx)
        add(Case(g, label, [Step(command, expect, timeout=60)], setup, allowed=allowed, **options))
    gan_small = ["gan", "train", "shapes", "--out", "runs", "--name", "g"]
    sized("gan train --batch 100000", [*gan_small, *GAN, "--kimg", "0.008", "--batch", "100000"], allowed=("runs/g",))
    sized("gan train --channel-base 10**8 --channel-max 100000",
          [*gan_small, *GAN, "--kimg", "0.008", "--channel-base", "100000000", "--channel-max", "100000"],
          allowed=("runs/g",))
    sized("train --base-channels 100000 --max-channels 100000",
          ["train", "tiny.png", "--out", "runs", *LOAD, "--base-channels", "100000", "--max-channels", "100000"],
          allowed=("runs/tiny",))
    sized("train --scale-factor nan", ["train", "tiny.png", "--out", "runs", *LOAD, "--scale-factor", "nan"],
          allowed=("runs/tiny",))
    sized("retarget --size 100000x100000", ["retarget", "runs/base", "--size", "100000x100000", "--num", "1", *CPU])
    sized("sample --seeds 0-10**12", ["sample", "runs/base", "--seeds", "0-1000000000000", *CPU])
    sized("sample --seeds past 2**64", ["sample", "runs/base", "--seeds", "99999999999999999999999", *CPU])
    sized("sample --num 10**9", ["sample", "runs/base", "--num", "1000000000", *CPU])
    sized("sample --scale-h 10000", ["sample", "runs/base", "--num", "1", "--scale-h", "10000", *CPU])
    sized("sample --scale-h nan", ["sample", "runs/base", "--num", "1", "--scale-h", "nan", *CPU])
    sized("sample --start-scale 1000", ["sample", "runs/base", "--num", "1", "--start-scale", "1000", *CPU])
    sized("sample --batch 10**8", ["sample", "runs/base", "--num", "2", "--batch", "100000000", *CPU], "either",
          memory_cap=True)
    sized("animate --frames 10**8", ["animate", "runs/base", "--frames", "100000000", "--no-mp4", *CPU])
    sized("paint --quantize --colours 100000", ["paint", "runs/base", "tiny.png", "--quantize", "--colours", "100000",
                                                *CPU])
    sized("harmonize --dilate 10**8", ["harmonize", "runs/base", "tiny.png", "--mask", "mask.png", "--dilate",
                                       "100000000", *CPU], make=lambda ctx: ctx.write("mask.png", _mask()))
    sized("sr RUN --factor 1e9", ["sr", "runs/base", "--factor", "1e9", *CPU])
    sized("eval --num 10**8", ["eval", "runs/base", "--num", "100000000", *CPU])
    sized("gan interpolate --frames 10**8", ["gan", "interpolate", "runs/gan", "--frames", "100000000", "--no-mp4",
                                            *CPU], allowed=("runs/gan",))
    sized("gan mix --layers 0-100000", ["gan", "mix", "runs/gan", "--layers", "0-100000", *CPU], allowed=("runs/gan",))

    # --- usage errors -----------------------------------------------------------------------------------
    g = "usage errors"

    def usage(label, command, names):
        add(Case(g, label, [Step(command, "usage", names=names)], lambda ctx: (ctx.image(), ctx.copy_run()),
                 allowed=("runs/base",)))
    usage("sample --num abc", ["sample", "runs/base", "--num", "abc"], ("--num",))
    usage("train --iterations 1.5", ["train", "tiny.png", "--iterations", "1.5"], ("--iterations",))
    usage("train --bogus", ["train", "tiny.png", "--bogus"], ("--bogus",))
    usage("train without IMAGE", ["train"], ("image",))
    usage("retarget without --size", ["retarget", "runs/base"], ("--size",))
    usage("an unknown command", ["bogus"], ("bogus",))
    usage("sample --num without its value", ["sample", "runs/base", "--num"], ("--num",))
    add(Case(g, "train --preset nonexistent (a refused value)", [Step(["train", "tiny.png", "--preset", "nonexistent"],
                                                                      "refused")], lambda ctx: ctx.image()))

    # --- faults -----------------------------------------------------------------------------------------
    g = "faults"
    train_k = ["train", "tiny.png", "--out", "runs", "--name", "k", *RESUMABLE]
    resume_k = ["train", "tiny.png", "--out", "runs", "--name", "k", "--resume", "--quiet", "--device", "cpu"]

    def killed(label, trigger, delay=0.0, sig=signal.SIGKILL, expect="killed", between=None, after="accepted",
               check_more=None):
        steps = [Step(train_k, expect, signal=sig, trigger=trigger, delay=delay)]
        if between:
            steps.append(Hook(between))
        steps.append(Step(resume_k, after))

        def check(ctx):
            problems = singan_run_complete(ctx, "runs/k") if after == "accepted" or ctx.path("runs/k/run.json").exists() \
                else []
            return problems + (check_more(ctx) if check_more else [])
        add(Case(g, label, steps, lambda ctx: ctx.image(), allowed=("runs/k",), check=check))
    killed("kill -9 before the first scale is saved, then --resume", "runs/k/real.safetensors", after="either")
    killed("kill -9 as scale 0's weights appear, then --resume", "runs/k/weights/scale_00.safetensors")
    killed("kill -9 0.3 s after scale 1's weights appear, then --resume", "runs/k/weights/scale_01.safetensors", 0.3)
    killed("Ctrl-C (SIGINT) during scale 2, then --resume", "runs/k/weights/scale_01.safetensors", 0.2, signal.SIGINT,
           "interrupted")

    def stale(ctx):
        ctx.write("runs/k/.run.json.Ab3dE5gH.tmp", b"{half")
        ctx.write("runs/k/weights/.scale_02.safetensors.x1Y2z3W4.tmp", b"half a tensor")
        ctx.user("runs/k/notes.tmp", "the user's own .tmp file\n")
    killed("leftover .tmp files after a kill -9 are deleted by --resume", "runs/k/weights/scale_01.safetensors",
           between=stale, check_more=lambda ctx: no_temporary_files(ctx, "runs/k"))

    gan_k = ["gan", "train", "shapes", "--out", "runs", "--name", "gk", *GAN_LONG]
    gan_resume = ["gan", "train", "shapes", "--out", "runs", "--name", "gk", "--resume", "--device", "cpu", "--quiet"]

    def gan_killed(label, trigger, delay=0.0, sig=signal.SIGKILL, expect="killed", after="accepted"):
        def check(ctx):
            return gan_run_complete(ctx, "runs/gk") if after == "accepted" or ctx.path("runs/gk/run.json").exists() \
                else []
        add(Case(g, label, [Step(gan_k, expect, signal=sig, trigger=trigger, delay=delay),
                            Step(gan_resume, after, timeout=60)],
                 lambda ctx: shutil.copytree(ctx.bases / "shapes", ctx.path("shapes")), allowed=("runs/gk",),
                 check=check))
    gan_killed("GAN: kill -9 as run.json appears (before the first checkpoint), then --resume", "runs/gk/run.json")
    gan_killed("GAN: kill -9 after its first checkpoint, then --resume", "runs/gk/checkpoint.safetensors", 0.3)
    gan_killed("GAN: Ctrl-C (SIGINT), then --resume", "runs/gk/checkpoint.safetensors", 0.3, signal.SIGINT,
               "interrupted")

    # Nothing to continue means start (issue 15): --resume of a run that is not there trains it, with the
    # settings given.
    add(Case(g, "train --resume of a run that does not exist starts it", [Step(
        ["train", "tiny.png", "--out", "runs", "--name", "k", "--resume", *RESUMABLE], "accepted", timeout=60)],
        lambda ctx: ctx.image(), allowed=("runs/k",), check=lambda ctx: singan_run_complete(ctx, "runs/k")))
    add(Case(g, "gan train --resume of a run that does not exist starts it", [Step(
        ["gan", "train", "shapes", "--out", "runs", "--name", "gk", "--resume", *GAN_LONG], "accepted", timeout=60)],
        lambda ctx: shutil.copytree(ctx.bases / "shapes", ctx.path("shapes")), allowed=("runs/gk",),
        check=lambda ctx: gan_run_complete(ctx, "runs/gk")))

    def full_disk_train(ctx):
        ctx.image()
        disk = ctx.mount("full", "256k")
        ctx.user("full/keep.txt")
        ctx.fill(disk, 48 << 10)

    def free_disk(ctx):
        ctx.path("full/filler.bin").unlink()
    add(Case(g, "full disk during training, then free space and --resume", [
        Step(["train", "tiny.png", "--out", "full/runs", "--name", "k", *RESUMABLE], "refused"), Hook(free_disk),
        Step(["train", "tiny.png", "--out", "full/runs", "--name", "k", "--resume", "--quiet", "--device", "cpu"],
             "accepted")], full_disk_train, allowed=("full/runs/k", "full/filler.bin"),
        check=lambda ctx: singan_run_complete(ctx, "full/runs/k") + no_temporary_files(ctx, "full"), needs="mount"))

    def full_disk_sample(ctx):
        disk = ctx.mount("full", "1m")
        shutil.copytree(ctx.bases / "singan_run", disk / "base")
        ctx.user("full/keep.txt")
        ctx.fill(disk, 8 << 10)
    add(Case(g, "full disk during sampling", [Step(["sample", "full/base", "--num", "4", *CPU], "refused")],
             full_disk_sample, allowed=("full/base",), check=lambda ctx: no_temporary_files(ctx, "full"), needs="mount"))

    def read_only_run(ctx):
        disk = ctx.mount("ro", "1m")
        shutil.copytree(ctx.bases / "singan_run", disk / "base")
        ctx.remount_read_only(disk)
    add(Case(g, "sample a run on a read-only disk (default --out inside it)",
             [Step(["sample", "ro/base", "--num", "1", *CPU], "refused")], read_only_run, needs="mount"))
    return cases


def _mask(value: int = 255, full: bool = False) -> bytes:
    pixels = np.full((24, 32), value, np.uint8) if full else np.zeros((24, 32), np.uint8)
    if not full:
        pixels[8:14, 10:18] = value
    return encoded(pixels, "PNG")


def _save(image: Image.Image, format_: str) -> bytes:
    stream = io.BytesIO()
    image.save(stream, format=format_)
    return stream.getvalue()


def _gif() -> bytes:
    frames = [Image.fromarray(synthetic_image(seed=seed)) for seed in range(3)]
    stream = io.BytesIO()
    frames[0].save(stream, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return stream.getvalue()


def _safetensors_header(header: dict) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"\x00" * 64


# ----------------------------------------------------------------------------------------------------------
# Running

def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (symbolic links not followed): kind, size, mtime and content hash."""
    entries = {}

    def walk(folder: Path) -> None:
        try:
            children = list(os.scandir(folder))
        except OSError:
            return
        for child in children:
            path = Path(child.path)
            relative = str(path.relative_to(root))
            try:
                info = child.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[relative] = ("dir",)
                walk(path)
            elif stat.S_ISREG(info.st_mode):
                try:
                    content = digest(path)
                except OSError:
                    content = "unreadable"
                entries[relative] = ("file", info.st_size, info.st_mtime_ns, content)
            else:
                entries[relative] = ("other", stat.S_IFMT(info.st_mode))
    walk(root)
    return entries


def run_step(step: Step, directory: Path, root: Path, timeout: float, memory_limit: int) -> StepResult:
    arguments = [argument.replace("{root}", str(root)).replace("{case}", str(directory)) for argument in step.args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("COLUMNS", None)

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    limit = step.timeout or timeout
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "singan", *arguments], cwd=directory, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                                   preexec_fn=limits)
        timed_out = signalled = False
        fire_at = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic() - started
            if step.signal is not None and not signalled:
                if fire_at is None:
                    hit = (now >= step.trigger) if isinstance(step.trigger, (int, float)) else \
                        (directory / step.trigger).exists()
                    if hit:
                        fire_at = now + step.delay
                if fire_at is not None and now >= fire_at:
                    _signal_group(process.pid, step.signal)
                    signalled = True
            if now > limit and not timed_out:
                _signal_group(process.pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.01)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return StepResult(arguments, process.returncode, seconds, usage.ru_maxrss / 1024, stdout, stderr, timed_out,
                      signalled)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def judge(step: Step, result: StepResult) -> list[str]:
    problems = []
    lines = lines_of(result.stderr)
    rc = result.rc
    if result.timed_out:
        return [f"timed out after {result.seconds:.0f} s"]
    if TRACEBACK in result.stderr or TRACEBACK in result.stdout:
        problems.append("traceback")
    if step.expect == "killed":
        if rc != -signal.SIGKILL:
            problems.append(f"the fault came too late: exit {rc} before the kill (the benchmark's timing)")
        return problems
    if rc is not None and rc < 0:
        return problems + [f"died of signal {-rc}"]
    if step.expect == "interrupted":
        if rc != 130:
            problems.append(f"exit {rc} after Ctrl-C (expected 130)")
        if len(lines) > 1 and "traceback" not in problems:
            problems.append(f"{len(lines)} lines on stderr after Ctrl-C (expected one)")
        return problems
    if step.expect == "accepted":
        if rc != 0:
            problems.append(f"exit {rc} (expected 0)")
        return problems
    if step.expect == "refused" and rc == 0:
        return problems + ["exit 0 (expected a refusal)"]
    if step.expect == "usage":
        if rc != 2:
            problems.append(f"exit {rc} (a usage error should exit 2)")
        if len(lines) != 1:
            problems.append(f"{len(lines)}-line usage error")
        text = result.stderr.lower()
        missing = [name for name in step.names if name.lower() not in text]
        if missing:
            problems.append(f"the usage error does not name {', '.join(missing)}")
        return problems
    if rc != 0:  # refused, or either and refused: one clean line
        if "traceback" not in problems:
            if len(lines) != 1:
                problems.append(f"{len(lines)}-line error")
            elif not lines[0].startswith("error:"):
                problems.append("the error line does not start with 'error:'")
            elif step.says and not re.search(step.says, lines[0], re.I):
                problems.append(f"the error does not name the problem (expected /{step.says}/)")
    return problems


def one_line_refusal(step: Step, result: StepResult) -> bool:
    lines = lines_of(result.stderr)
    return (result.rc not in (0, None) and not result.timed_out and result.rc > 0 and len(lines) == 1
            and (lines[0].startswith("error:") or step.expect == "usage")
            and TRACEBACK not in result.stderr)


def run_case(index: int, case: Case, root: Path, bases: Path, options, mount_ok: bool) -> Outcome:
    outcome = Outcome(case)
    if case.needs == "mount" and not mount_ok:
        outcome.skipped = "needs a tmpfs mount (root), which failed here"
        return outcome
    directory = root / f"case{index:03d}"
    directory.mkdir()
    ctx = Context(directory, root, bases)
    started = time.monotonic()
    try:
        try:
            if case.setup:
                case.setup(ctx)
        except Exception as error:  # the benchmark's own setup failed: report it, do not hide it
            outcome.problems.append(f"setup failed: {type(error).__name__}: {error}")
            return outcome
        users = {path: digest(path) for path in ctx.user_files}
        before = snapshot(root)
        for step in case.steps:
            if isinstance(step, Hook):
                step.action(ctx)
                continue
            result = run_step(step, directory, root, options.timeout, int(options.memory_limit_gib * GIB))
            outcome.steps.append(result)
            outcome.problems += judge(step, result)
        after = snapshot(root)
        allowed = [f"{directory.name}/{path}" for path in case.allowed]

        def inside(path: str) -> bool:
            return any(path == folder or path.startswith(folder + "/") for folder in allowed)

        def parent_made(path: str) -> bool:  # a new folder that holds an allowed one (such as runs/)
            return (path not in before and after.get(path) == ("dir",)
                    and any(folder.startswith(path + "/") for folder in allowed))
        changed = sorted(path for path in set(before) | set(after)
                         if before.get(path) != after.get(path) and not inside(path) and not parent_made(path))
        if ctx.marker.exists():  # reported by the case's check, not twice
            changed = [path for path in changed if path != ctx.marker.name]
        outcome.outside = changed
        if changed:
            shown = ", ".join(path.replace(directory.name + "/", "", 1) for path in changed[:4])
            outcome.problems.append(f"{len(changed)} change(s) outside the run folder: {shown}"
                                    + (" ..." if len(changed) > 4 else ""))
        for path, content in users.items():
            if not path.exists() and not path.is_symlink():
                outcome.user_lost.append(str(path.relative_to(directory)))
            elif digest(path) != content:
                outcome.user_changed.append(str(path.relative_to(directory)))
        if outcome.user_lost:
            outcome.problems.append(f"user files deleted: {', '.join(outcome.user_lost[:4])}")
        if outcome.user_changed:
            outcome.problems.append(f"user files changed: {', '.join(outcome.user_changed[:4])}")
        refused = case.steps and isinstance(case.steps[-1], Step) and case.steps[-1].expect in ("refused", "usage")
        if (refused or case.memory_cap) and outcome.peak_mb > REFUSED_MEMORY_LIMIT_MB:
            outcome.problems.append(f"peak memory {outcome.peak_mb:.0f} MB (over 1 GB)")
        if case.check:
            outcome.problems += case.check(ctx)
        return outcome
    finally:
        outcome.seconds = time.monotonic() - started
        ctx.cleanup()
        if ctx.marker.exists():
            ctx.marker.unlink()
        if options.keep and not outcome.passed:
            destination = Path(options.keep) / f"{index:03d}_{re.sub(r'[^A-Za-z0-9]+', '_', case.name)[:60]}"
            shutil.rmtree(destination, ignore_errors=True)
            shutil.move(str(directory), destination)
            (destination / "_stderr.txt").write_text("\n\n".join(
                f"$ singan {' '.join(step.args)}\nexit {step.rc}\n{step.stderr}" for step in outcome.steps))
        else:
            shutil.rmtree(directory, ignore_errors=True)


def make_bases(bases: Path, options) -> None:
    """The tiny trained runs the cases copy: a SinGAN run (also the reference for the resumed runs) and a GAN."""
    bases.mkdir(parents=True, exist_ok=True)
    (bases / "tiny.png").write_bytes(TINY_PNG)
    shapes_images(bases / "shapes")
    memory = int(options.memory_limit_gib * GIB)
    # (Not named "singan": `python -m singan` would import a folder of that name in its working directory.)
    for arguments, name in ((["train", "tiny.png", "--out", ".", "--name", "singan_run", *RESUMABLE], "singan_run"),
                            (["gan", "train", "shapes", "--out", ".", "--name", "gan_run", *GAN_BASE], "gan_run")):
        for attempt in range(3):  # the package may be mid-edit for a moment: try again before giving up
            shutil.rmtree(bases / name, ignore_errors=True)
            result = run_step(Step(arguments, "accepted"), bases, bases, 300, memory)
            if result.rc == 0:
                break
            print(f"training the base {name} run failed (exit {result.rc}); trying again in 20 s", flush=True)
            time.sleep(20)
        else:
            sys.exit(f"could not train the base {name} run (exit {result.rc}):\n{result.stderr[-3000:]}")
        print(f"base {name} run trained in {result.seconds:.1f} s", flush=True)
    # The GAN run records its data folder; the cases copy it to ./shapes beside the run.
    record = json.loads((bases / "gan_run" / "run.json").read_text())
    record["data"]["path"] = "shapes"
    (bases / "gan_run" / "run.json").write_text(json.dumps(record, indent=2))


def mount_works(root: Path) -> bool:
    if not IS_ROOT or not shutil.which("mount"):
        return False
    probe = root / "mount-probe"
    probe.mkdir()
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
        if result.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], capture_output=True)
        return True
    finally:
        probe.rmdir()


# ----------------------------------------------------------------------------------------------------------
# Report

def first_line(outcome: Outcome) -> str:
    """What the failing step printed: the exception line of a traceback, or its first line."""
    for step in outcome.steps:
        lines = lines_of(step.stderr)
        if TRACEBACK in step.stderr:
            return "traceback: " + lines[-1][:200]
    final = outcome.final
    if final is None:
        return ""
    lines = lines_of(final.stderr) or lines_of(final.stdout)
    return lines[0][:200] if lines else "(no output)"


def summarise(outcomes: list[Outcome]) -> dict:
    ran = [outcome for outcome in outcomes if outcome.skipped is None]
    refused_cases = [outcome for outcome in ran if isinstance(outcome.case.steps[-1], Step)
                     and outcome.case.steps[-1].expect in ("refused", "usage")]
    worst = max(refused_cases, key=lambda outcome: outcome.peak_mb, default=None)
    worst_any = max(ran, key=lambda outcome: outcome.peak_mb, default=None)
    last = [(outcome, [step for step in outcome.case.steps if isinstance(step, Step)][-1]) for outcome in ran
            if outcome.steps]
    return {
        "cases": len(outcomes),
        "skipped": len(outcomes) - len(ran),
        "passed": sum(outcome.passed for outcome in ran),
        "failed": sum(not outcome.passed for outcome in ran),
        "accepted": sum(outcome.final.rc == 0 for outcome in ran if outcome.final),
        "refused_one_line": sum(one_line_refusal(step, outcome.final) for outcome, step in last),
        "tracebacks": sum(outcome.traceback for outcome in ran),
        "multi_line": sum(any(re.search(r"\d+-line (usage )?error|lines on stderr", problem)
                              for problem in outcome.problems) for outcome in ran),
        "timeouts": sum(any(step.timed_out for step in outcome.steps) for outcome in ran),
        "outside": sum(len(outcome.outside) for outcome in ran),
        "outside_cases": sum(bool(outcome.outside) for outcome in ran),
        "user_lost": sum(len(outcome.user_lost) for outcome in ran),
        "user_changed": sum(len(outcome.user_changed) for outcome in ran),
        "over_memory": sum(any("peak memory" in problem for problem in outcome.problems) for outcome in ran),
        "worst_refused": (worst.peak_mb, worst.case.name) if worst else (0.0, "-"),
        "worst_any": (worst_any.peak_mb, worst_any.case.name) if worst_any else (0.0, "-"),
        "seconds": sum(outcome.seconds for outcome in outcomes),
    }


COLUMNS = ("class", "cases", "passed", "accepted", "refused, one line", "tracebacks", "multi-line errors",
           "timeouts", "changed outside run folder", "user files deleted", "worst refused peak (MB)")


def table_rows(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    groups = list(dict.fromkeys(outcome.case.group for outcome in outcomes))
    for group in groups + ["total"]:
        chosen = outcomes if group == "total" else [outcome for outcome in outcomes if outcome.case.group == group]
        s = summarise(chosen)
        skipped = f" ({s['skipped']} skipped)" if s["skipped"] else ""
        rows.append([f"**{group}**" if group == "total" else group, f"{s['cases']}{skipped}", str(s["passed"]),
                     str(s["accepted"]), str(s["refused_one_line"]), str(s["tracebacks"]), str(s["multi_line"]),
                     str(s["timeouts"]), str(s["outside"]), str(s["user_lost"]), f"{s['worst_refused'][0]:.0f}"])
    return rows


def report(outcomes: list[Outcome], options) -> str:
    s = summarise(outcomes)
    rows = table_rows(outcomes)
    failing = [outcome for outcome in outcomes if outcome.skipped is None and not outcome.passed]
    skipped = [outcome for outcome in outcomes if outcome.skipped]
    lines = [
        "## Hostile input and faults through the CLI (issue 15)",
        "",
        f"Machine: {_machine()}.",
        f"Command: `python benchmarks/hostile_inputs.py {' '.join(sys.argv[1:])}` (every case a `python -m singan` "
        f"process in a fresh scratch folder, timeout {options.timeout:.0f} s unless a case sets less, address space "
        f"limited to {options.memory_limit_gib:g} GiB; peak memory is the child's max RSS from wait4).",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *["| " + " | ".join(row) + " |" for row in rows],
        "",
        f"- cases: {s['cases']} ({s['skipped']} skipped), passed {s['passed']}, failed {s['failed']}",
        f"- accepted (exit 0): {s['accepted']}; refused with one line: {s['refused_one_line']}",
        f"- tracebacks: {s['tracebacks']}; multi-line errors: {s['multi_line']}; timeouts: {s['timeouts']}",
        f"- files changed outside the case's run folder: {s['outside']} (in {s['outside_cases']} cases)",
        f"- user files deleted: {s['user_lost']}; user files changed: {s['user_changed']}",
        f"- peak memory of the worst refused input: {s['worst_refused'][0]:.0f} MB ({s['worst_refused'][1]}); "
        f"refused inputs over 1 GB: {s['over_memory']}; worst of all cases: {s['worst_any'][0]:.0f} MB "
        f"({s['worst_any'][1]})",
        f"- total time: {s['seconds'] / 60:.1f} min",
    ]
    if IS_ROOT:
        lines.append("- run as root: file permissions do not stop root, so the unreadable-file case reads "
                     "/proc/self/mem (which fails with EIO) instead of a chmod 000 file; the read-only and full "
                     "disks are small tmpfs mounts.")
    if skipped:
        lines.append("- skipped: " + "; ".join(f"{outcome.case.name} ({outcome.skipped})" for outcome in skipped))
    if failing:
        lines += ["", f"Failing cases ({len(failing)}), by class: what went wrong, then the first line of the error "
                      "output (for a traceback, its last line):", ""]
        for group in dict.fromkeys(outcome.case.group for outcome in failing):
            lines.append(f"**{group}**")
            lines.append("")
            for outcome in (outcome for outcome in failing if outcome.case.group == group):
                lines.append(f"- {outcome.case.name}: {'; '.join(outcome.problems)}. `{_md(first_line(outcome))}`")
            lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("`", "'").replace("|", "/")


def _machine() -> str:
    try:
        sys.path.insert(0, str(Path(__file__).parent))
        from report import machine_description
        import torch
        torch.set_num_threads(1)
        return machine_description(torch.device("cpu")).replace("(1 threads)", "(1 thread per process)")
    except Exception as error:  # the description is a nicety; never lose the figures for it
        return f"(machine description unavailable: {error})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="run only the cases whose class or name matches this regular expression")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--keep", help="move the folders of failing cases (and their stderr) here")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a command may run (default 120)")
    parser.add_argument("--memory-limit-gib", type=float, default=4,
                        help="address-space limit of each command, a safety net for the machine (default 4)")
    parser.add_argument("--verbose", action="store_true", help="print every case's first line of output")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    options = parser.parse_args()
    cases = build_cases()
    if options.only:
        pattern = re.compile(options.only, re.I)
        cases = [case for case in cases if pattern.search(case.group) or pattern.search(case.name)]
    if options.list:
        for case in cases:
            print(f"{case.group:18} {case.name}")
        print(f"{len(cases)} cases")
        return
    if options.keep:
        Path(options.keep).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="singan-hostile-"))
    root = scratch / "root"
    root.mkdir()
    sentinel = root / "sentinel"
    for name, text in (("notes.txt", "the user's notes\n"), ("photos/holiday.png", TINY_PNG),
                       ("Output/somebody/run.json", "{}\n")):
        path = sentinel / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    sentinel_before = snapshot(sentinel)
    outcomes = []
    try:
        make_bases(scratch / "bases", options)
        mount_ok = mount_works(scratch)
        print(f"{len(cases)} cases; scratch root {root}; tmpfs mounts {'work' if mount_ok else 'do not work'}",
              flush=True)
        for index, case in enumerate(cases):
            outcome = run_case(index, case, root, scratch / "bases", options, mount_ok)
            outcomes.append(outcome)
            if snapshot(sentinel) != sentinel_before:
                outcome.problems.append("the sentinel folder beside the run root changed")
                sentinel_before = snapshot(sentinel)
            verdict = "skip" if outcome.skipped else ("ok  " if outcome.passed else "FAIL")
            detail = outcome.skipped or "; ".join(outcome.problems)
            print(f"[{index + 1:3d}/{len(cases)}] {verdict} {outcome.seconds:5.1f} s {outcome.peak_mb:6.0f} MB  "
                  f"{case.group}: {case.name}" + (f"  -- {detail}" if detail else ""), flush=True)
            if (not outcome.passed or options.verbose) and outcome.skipped is None:
                print(f"           {first_line(outcome)}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    body = report(outcomes, options)
    print()
    print(body)
    if not options.no_write and not options.only:
        sys.path.insert(0, str(Path(__file__).parent))
        from report import write_section
        write_section("hostile_inputs", body)
    sys.exit(0 if all(outcome.passed or outcome.skipped for outcome in outcomes) else 1)


if __name__ == "__main__":
    main()
