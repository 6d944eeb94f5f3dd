"""Errors caused by what the user handed us: the CLI prints them as one line, without a traceback."""


def one_line(error: BaseException, limit: int = 200) -> str:
    """A library's error message for one of ours: its lines joined into one, cut to `limit` characters, or
    the error's type where it says nothing."""
    return " ".join(str(error).split())[:limit] or type(error).__name__


class SinGANError(Exception):
    """Base class: the message is complete and meant for the user."""


class InputImageError(SinGANError):
    """An image file that is missing, unreadable, corrupt or of an unusable size."""


class ConfigError(SinGANError):
    """An option value outside its valid range."""


class RunError(SinGANError):
    """A run directory that is missing, incomplete, corrupt, or from a newer format."""


class OutputError(SinGANError):
    """A place we were asked to write to that cannot take the file (a file where a folder must be)."""


class DeviceError(SinGANError):
    """A device that was asked for but is not available."""


class NonFiniteLossError(SinGANError):
    """Training produced NaN or infinity; finished scales stay saved."""

    def __init__(self, scale: int, iteration: int, losses: dict[str, float]):
        self.scale = scale
        self.iteration = iteration
        named = ", ".join(f"{name}={value:.4g}" for name, value in losses.items())
        super().__init__(
            f"training stopped: non-finite loss at scale {scale}, iteration {iteration} ({named}); "
            "the finished scales are saved"
        )


class GANNonFiniteLossError(SinGANError):
    """Multi-image (or ESRGAN-family) training produced NaN or infinity; the last checkpoint stays as it was.
    Progress is counted in `unit`: images for the GANs, iterations for ESRGAN."""

    def __init__(self, images_seen: int, losses: dict[str, float], saved_images: int | None, unit: str = "images"):
        self.images_seen = images_seen
        named = ", ".join(f"{name}={value:.4g}" for name, value in losses.items())
        kept = (f"the checkpoint at {saved_images} {unit} is kept" if saved_images is not None
                else "no checkpoint had been saved yet")
        super().__init__(f"training stopped: non-finite loss after {images_seen} {unit} ({named}); {kept}")


class ForeignFileError(SinGANError):
    """A weights file of another project that cannot be read, or that asks for code we refuse to run. The
    message is the reason alone; the caller puts the file's name in front of it."""
