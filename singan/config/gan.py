"""Multi-image GAN configuration: a frozen dataclass of every architecture's settings, validation, JSON.

The schedule and loss settings follow the papers (PGGAN, StyleGAN, StyleGAN2; see the README's
"Multi-image GANs" section). Network sizes default small, for CPU work; each architecture's published
sizes, and its defaults where a setting is None, belong to its entry in `singan.training.architectures`,
which also adds the checks that only concern one architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

from singan.config.settings import LARGEST_CHANNELS, Requirements, Settings, finite, integer, setting
from singan.seeds import SEED_LIMIT

# The resolutions the command line accepts (powers of two).
SMALLEST_RESOLUTION = 8
LARGEST_RESOLUTION = 1024
# Upper bounds of the sizes that reach an allocation, each far beyond the papers' (z and w 512, 8 mapping
# layers, batch 32) so that no real run meets them, and each refused before a network or batch is built.
LARGEST_SIZES = {
    "z_dim": LARGEST_CHANNELS,
    "w_dim": LARGEST_CHANNELS,
    "mapping_layers": 32,
    "channel_max": LARGEST_CHANNELS,
    # Beyond it no resolution gets more channels: LARGEST_CHANNELS at 1024 px.
    "channel_base": LARGEST_CHANNELS * LARGEST_RESOLUTION,
    "batch": 65536,
}


@dataclass(frozen=True)
class GANConfig(Settings):
    """Everything that determines a multi-image GAN run."""

    arch: str = setting("stylegan2", "architecture: pggan, stylegan or stylegan2")
    resolution: int = setting(64, "training resolution: a power of two from 8 to 1024")
    image_channels: int = setting(3, "1 (grayscale) or 3 (RGB); set from the data")
    z_dim: int = setting(128, "latent size (papers: 512)")
    w_dim: int = setting(128, "intermediate latent (style) size of stylegan/stylegan2 (papers: 512)")
    mapping_layers: int = setting(8, "fully connected layers of the mapping network")
    channel_base: int = setting(4096, "channels at resolution r are min(channel_base / r, channel_max)")
    channel_max: int = setting(128, "upper bound of the channels (papers: 512)")
    batch: int = setting(16, "images per step, over all processes")
    kimg: float = setting(500.0, "training length in thousands of real images shown to the discriminator")
    lr: float | None = setting(None, "Adam learning rate (default: pggan/stylegan 0.001, stylegan2 0.0025, "
                                      "0.002 at 1024 px)")
    beta1: float = setting(0.0, "Adam beta1")
    beta2: float = setting(0.99, "Adam beta2")
    r1_gamma: float | None = setting(None, "R1 weight (default: stylegan 10, stylegan2 0.0002 res^2 / batch)")
    r1_interval: int = setting(16, "stylegan2: R1 every this many discriminator steps (lazy regularisation)")
    pl_weight: float = setting(2.0, "stylegan2: path-length regularisation weight (0 turns it off)")
    pl_interval: int = setting(4, "stylegan2: path-length regularisation every this many generator steps")
    pl_decay: float = setting(0.01, "stylegan2: decay of the path-length running mean")
    pl_batch_shrink: int = setting(2, "stylegan2: the path-length batch is the batch divided by this")
    mixing_probability: float = setting(0.9, "stylegan/stylegan2: probability of style mixing in training")
    ema_kimg: float = setting(10.0, "half-life of the generator's moving average, in thousands of images")
    ema_rampup: float | None = setting(None, "cap the EMA half-life at this fraction of the images seen "
                                              "(helps short runs; default off, as the papers)")
    gp_weight: float = setting(10.0, "pggan: WGAN-GP weight (lambda)")
    drift_weight: float = setting(0.001, "pggan: drift penalty weight (epsilon_drift)")
    phase_kimg: float = setting(600.0, "pggan/stylegan: thousands of images per fade-in and per stabilise phase")
    mirror: bool = setting(True, "flip training images horizontally at random")
    square: str = setting("crop", "non-square images: crop (centre) or pad (black borders)")
    seed: int | None = setting(None, "random seed (default: a random one, recorded in run.json)")
    snapshot_kimg: float = setting(10.0, "write a grid of samples every this many thousand images")
    checkpoint_kimg: float = setting(10.0, "save a resumable checkpoint every this many thousand images")
    log_kimg: float = setting(1.0, "append averaged losses to log.jsonl every this many thousand images")

    def problems(self) -> list[str]:
        """The problems of the settings every architecture shares (see the module docstring)."""
        return _problems(self)

    def ema_beta(self, images_seen: float) -> float:
        """Per-step decay of the generator average for a half-life of ema_kimg thousand images."""
        half_life = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            half_life = min(half_life, images_seen * self.ema_rampup)
        return 0.5 ** (self.batch / max(half_life, 1e-8))


def _problems(config: GANConfig) -> list[str]:
    checks = Requirements(config)
    require = checks.require
    require(integer(config.resolution) and SMALLEST_RESOLUTION <= config.resolution <= LARGEST_RESOLUTION
            and config.resolution & (config.resolution - 1) == 0, "resolution",
            f"a power of two from {SMALLEST_RESOLUTION} to {LARGEST_RESOLUTION}")
    require(config.image_channels in (1, 3), "image_channels", "1 or 3")
    for name, largest in LARGEST_SIZES.items():
        require(integer(getattr(config, name)) and 1 <= getattr(config, name) <= largest, name,
                f"a positive integer up to {largest}")
    for name in ("r1_interval", "pl_interval", "pl_batch_shrink"):
        require(integer(getattr(config, name)) and getattr(config, name) >= 1, name, "a positive integer")
    for name in ("kimg", "ema_kimg", "phase_kimg", "snapshot_kimg", "checkpoint_kimg", "log_kimg"):
        require(finite(getattr(config, name)) and getattr(config, name) > 0, name, "a positive number")
    for name in ("pl_weight", "gp_weight", "drift_weight"):
        require(finite(getattr(config, name)) and getattr(config, name) >= 0, name, "zero or more")
    for name in ("lr", "ema_rampup"):
        value = getattr(config, name)
        require(value is None or (finite(value) and value > 0), name, "a positive number")
    require(config.r1_gamma is None or (finite(config.r1_gamma) and config.r1_gamma >= 0), "r1_gamma",
            "zero or more")
    for name in ("beta1", "beta2", "pl_decay", "mixing_probability"):
        require(finite(getattr(config, name)) and 0 <= getattr(config, name) <= 1, name, "in [0, 1]")
    require(config.beta2 < 1, "beta2", "below 1")
    require(isinstance(config.mirror, bool), "mirror", "true or false")
    require(config.square in ("crop", "pad"), "square", "crop or pad")
    require(config.seed is None or (integer(config.seed) and 0 <= config.seed < SEED_LIMIT), "seed",
            "an integer in [0, 2**63)")
    return checks.problems
