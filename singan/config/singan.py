"""SinGAN's training configuration: a frozen dataclass, named presets, validation, JSON round trip."""

from __future__ import annotations

from dataclasses import dataclass

from singan.config.settings import LARGEST_CHANNELS, Requirements, Settings, finite, integer, setting
from singan.errors import ConfigError
from singan.seeds import SEED_LIMIT

# The patch critic sees 11x11 px (5 valid 3x3 convolutions); a smaller coarsest scale has no patch.
SMALLEST_SCALE = 11
# The longest side of any scale: 260 times the paper's 250 px, far beyond any photograph, and a bound on
# what a run.json may claim before anything of that size is allocated.
LARGEST_SIDE = 65536


@dataclass(frozen=True)
class TrainConfig(Settings):
    """Everything that determines a SinGAN training run. Defaults are the paper's."""

    max_size: int = setting(250, "longest side of the finest scale; larger images are shrunk")
    min_size: int = setting(25, "shortest side of the coarsest scale")
    scale_factor: float = setting(0.75, "nominal factor between scales, in (0, 1); recomputed to fit")
    iterations: int = setting(2000, "training iterations per scale")
    critic_steps: int = setting(3, "critic updates per iteration")
    generator_steps: int = setting(3, "generator updates per iteration")
    coarse_scales: int = setting(0, "the coarsest this many scales take --coarse-steps critic and generator "
                                    "updates per iteration instead (0: none)")
    coarse_steps: int = setting(3, "critic and generator updates per iteration at the --coarse-scales "
                                   "coarsest scales (3: the paper's)")
    generator_learning_rate: float = setting(5e-4, "Adam learning rate of the generators")
    critic_learning_rate: float = setting(5e-4, "Adam learning rate of the critics")
    beta1: float = setting(0.5, "Adam beta1")
    beta2: float = setting(0.999, "Adam beta2")
    lr_decay_at: float = setting(0.8, "fraction of a scale's iterations after which the learning rate drops")
    lr_decay: float = setting(0.1, "factor the learning rate is multiplied by at --lr-decay-at")
    gradient_penalty_weight: float = setting(0.1, "WGAN-GP weight (lambda)")
    reconstruction_weight: float = setting(10.0, "reconstruction loss weight (alpha)")
    noise_amplitude: float = setting(0.1, "noise amplitude as a fraction of the reconstruction error")
    base_channels: int = setting(32, "channels of the coarsest scales")
    max_channels: int = setting(128, "upper bound of the channels")
    channels_double_every: int = setting(4, "the channels double every this many scales")
    crop_size: int = setting(0, "train scales larger than this on a random crop_size x crop_size window per "
                                 "iteration (0: the whole image, as the paper)")
    crop_iterations: int = setting(0, "training iterations of the scales that --crop-size crops "
                                       "(0: --iterations, as every other scale)")
    crop_steps: int = setting(0, "critic and generator updates per iteration at the scales --crop-size crops "
                                 "(0: --critic-steps and --generator-steps, as every other scale)")
    uncropped_scale_factor: float = setting(
        0.0, "nominal factor between the scales --crop-size leaves whole, where it is closer to 1 than the "
             "pyramid's: more of the cheap small scales (0: --scale-factor everywhere, as the paper)")
    exact_scale_factor: bool = setting(False, "keep --scale-factor as given (the coarsest short side is then at "
                                               "least --min-size) instead of recomputing it to fit exactly")
    redraw_reconstruction_noise: bool = setting(
        False, "draw the coarsest scale's reconstruction noise anew at every iteration and keep the last draw "
               "(the original code; the paper fixes it once)")
    fresh_fake: bool = setting(True, "recompute the fake at every generator step (false: the original's one fake "
                                     "from the last critic step, its adversarial gradient used by every "
                                     "generator step)")
    noise_padding: bool = setting(False, "draw noise over the generator's padded border too (the variant the "
                                          "original trains for animation)")
    seed: int | None = setting(None, "random seed (default: a random one, recorded in run.json)")
    log_every: int = setting(10, "write losses to log.jsonl every this many iterations")

    def problems(self) -> list[str]:
        return _problems(self)

    def width(self, scale: int) -> int:
        """Channels of every layer of the generator and critic at `scale` (0 = coarsest)."""
        return min(self.base_channels * 2 ** (scale // self.channels_double_every), self.max_channels)

    def steps_at(self, scale: int, size: tuple[int, int]) -> tuple[int, int]:
        """(critic, generator) updates per iteration at `scale` of `size`: --crop-steps each where it is
        cropped and that is set, else --coarse-steps each at the coarsest --coarse-scales scales."""
        if self.crop_steps and self.crops(size):
            return self.crop_steps, self.crop_steps
        if scale < self.coarse_scales:
            return self.coarse_steps, self.coarse_steps
        return self.critic_steps, self.generator_steps

    def crops(self, size: tuple[int, int]) -> bool:
        """Whether a scale of `size` (height, width) trains on --crop-size windows: one side is larger."""
        return self.crop_size > 0 and (size[0] > self.crop_size or size[1] > self.crop_size)

    def iterations_at(self, size: tuple[int, int]) -> int:
        """Training iterations of a scale of `size`: --crop-iterations where it is cropped and that is set."""
        return self.crop_iterations if self.crop_iterations and self.crops(size) else self.iterations


def _problems(config: TrainConfig) -> list[str]:
    checks = Requirements(config)
    require = checks.require
    for name in ("iterations", "critic_steps", "generator_steps", "coarse_steps", "channels_double_every",
                 "log_every"):
        require(integer(getattr(config, name)) and getattr(config, name) >= 1, name, "a positive integer")
    for name, largest in (("max_size", LARGEST_SIDE), ("min_size", LARGEST_SIDE),
                          ("base_channels", LARGEST_CHANNELS), ("max_channels", LARGEST_CHANNELS)):
        require(integer(getattr(config, name)) and 1 <= getattr(config, name) <= largest, name,
                f"a positive integer up to {largest}")
    for name in ("generator_learning_rate", "critic_learning_rate", "noise_amplitude"):
        require(finite(getattr(config, name)) and getattr(config, name) > 0, name, "a positive number")
    for name in ("gradient_penalty_weight", "reconstruction_weight"):
        require(finite(getattr(config, name)) and getattr(config, name) >= 0, name, "zero or more")
    for name in ("beta1", "beta2", "lr_decay_at"):
        require(finite(getattr(config, name)) and 0 <= getattr(config, name) < 1, name, "in [0, 1)")
    require(finite(config.lr_decay) and 0 < config.lr_decay <= 1, "lr_decay", "in (0, 1]")
    require(finite(config.scale_factor) and 0 < config.scale_factor < 1, "scale_factor",
            "strictly between 0 and 1")
    require(finite(config.uncropped_scale_factor) and 0 <= config.uncropped_scale_factor < 1,
            "uncropped_scale_factor", "0 (off) or strictly between 0 and 1")
    if not checks.problems:
        require(config.min_size >= SMALLEST_SCALE, "min_size",
                f"at least {SMALLEST_SCALE} px (the critic's receptive field)")
        require(config.max_size >= config.min_size, "max_size", f"at least --min-size ({config.min_size})")
    require(integer(config.crop_size) and (config.crop_size == 0 or SMALLEST_SCALE <= config.crop_size <= LARGEST_SIDE),
            "crop_size", f"0 (off) or from {SMALLEST_SCALE} to {LARGEST_SIDE} px")
    require(integer(config.coarse_scales) and config.coarse_scales >= 0, "coarse_scales",
            "0 (none) or a positive integer")
    require(integer(config.crop_iterations) and config.crop_iterations >= 0, "crop_iterations",
            "0 (as --iterations) or a positive integer")
    require(integer(config.crop_steps) and config.crop_steps >= 0, "crop_steps",
            "0 (as --critic-steps and --generator-steps) or a positive integer")
    for name in ("noise_padding", "exact_scale_factor", "fresh_fake", "redraw_reconstruction_noise"):
        require(isinstance(getattr(config, name), bool), name, "true or false")
    if config.seed is not None:
        require(integer(config.seed) and 0 <= config.seed < SEED_LIMIT, "seed", "an integer in [0, 2**63)")
    return checks.problems


PRESETS: dict[str, TrainConfig] = {
    # The published algorithm at its published settings.
    "paper": TrainConfig(),
    # The paper preset with the two training behaviours of the official code where it differs from the
    # paper as we read it: the coarsest reconstruction noise redrawn every iteration, and the generator
    # steps taken on the last critic step's fake. Its samples measure as the official code's (README,
    # "Faithfulness to the paper").
    "original": TrainConfig(redraw_reconstruction_noise=True, fresh_fake=False),
    # The same losses and networks with a cheaper schedule (see the README, "The fast preset"): fewer,
    # wider-spaced scales above the 80 px crop, the paper's spacing below it; where a scale is at most
    # 80 px, 800 of the original's iterations (three critic and three generator updates, the generator's
    # on one fake, the coarsest reconstruction noise redrawn); where it is larger and trained on 80 px
    # windows, 800 iterations of one update of each network; at most 64 channels.
    "fast": TrainConfig(scale_factor=0.55, uncropped_scale_factor=0.75, iterations=800, max_channels=64,
                        channels_double_every=5, crop_size=80, crop_iterations=800, crop_steps=1,
                        redraw_reconstruction_noise=True, fresh_fake=False),
    # A small CPU run: 128 px and 200 iterations per scale (decay at 80 %), everything else as the paper.
    "quick": TrainConfig(max_size=128, iterations=200),
}

DEFAULT_PRESET = "fast"

PRESET_DESCRIPTIONS = {
    "paper": "the published settings: max 250 px, 2000 iterations per scale",
    "original": "the paper preset as the official code trains it: the coarsest reconstruction noise redrawn "
                "every iteration, the generator steps on the last critic step's fake",
    "fast": "the paper's model and losses with a cheaper schedule (about 90x less arithmetic at 250 px): "
            "fewer scales above 80 px, 800 of the original preset's iterations on the small scales and 800 "
            "of one critic and one generator update on 80 px crops of the larger ones",
    "quick": "a small CPU run: max 128 px, 200 iterations per scale (otherwise the paper's settings)",
}


def preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"--preset {name!r}: choose one of {', '.join(PRESETS)}") from None
