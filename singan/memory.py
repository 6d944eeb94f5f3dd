"""Whether a request fits in memory: sizes from the command line (a batch, an output size, a frame count)
are checked here before anything is allocated, so that an impossible request is one clear line instead of
an allocation failure minutes in, or a machine that swaps to a halt.

The estimates handed to `check_fits` are deliberately low (what the request must hold at the least), so
that only requests that clearly cannot fit are refused; a tight one still runs and may fail on its own.
"""

from __future__ import annotations

import os

import torch

from singan.errors import ConfigError

FLOAT_BYTES = 4
GIGABYTE = 10**9
MEMINFO = "/proc/meminfo"


def available_memory_bytes(device: torch.device | str = "cpu") -> int | None:
    """What `device` could still allocate, in bytes; None where that cannot be told (then nothing is refused)."""
    device = torch.device(device)
    if device.type == "cpu":
        return _cpu_available()
    if device.type == "cuda":
        return _cuda_available(device)
    return None


def _cpu_available() -> int | None:
    """MemAvailable (free memory plus the caches the kernel would give up), else the free pages."""
    try:
        with open(MEMINFO, encoding="ascii") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _cuda_available(device: torch.device) -> int | None:
    """The device's free memory plus what PyTorch holds cached but unused (it reuses that first)."""
    try:
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    except (RuntimeError, AssertionError, ValueError):
        return None


def check_fits(bytes_needed: float, what: str, advice: str, device: torch.device | str = "cpu") -> None:
    """Refuse, as a ConfigError naming `what` and what to do (`advice`), a request for more than `device` has."""
    available = available_memory_bytes(device)
    if available is None or bytes_needed <= available:
        return
    raise ConfigError(f"{what} asks for about {_gigabytes(bytes_needed)} of memory ({_gigabytes(available)} "
                      f"available on {torch.device(device).type}); {advice}")


def _gigabytes(count: float) -> str:
    value = count / GIGABYTE
    return f"{value:.0f} GB" if value >= 10 else f"{value:.1f} GB"


def float_images_bytes(count: int, channels: int, height: int, width: int) -> int:
    """What `count` float images of this shape take."""
    return count * channels * height * width * FLOAT_BYTES
