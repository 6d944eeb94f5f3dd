"""ESRGAN-family training configuration: a frozen dataclass of the generator, the stage and its recipe.

Defaults follow the published recipes (see the README's "ESRGAN family" section): stage `psnr` is L1 with
Adam(2e-4, (0.9, 0.99)) and an EMA of 0.999; stage `gan` is ESRGAN's (L1 x 1e-2, VGG19 conv5_4 x 1, RaGAN
x 5e-3, the VGG-style discriminator, Adam(1e-4)), Real-ESRGAN's (`--recipe realesrgan`: L1 x 1, five VGG
layers, vanilla GAN x 0.1, the U-Net discriminator) or SRGAN's (`--recipe srgan`, the default of `--arch
srresnet`: VGG relu5_4 features, MSE, standard GAN x 1e-3). A None setting takes the recipe's value.
"""

from __future__ import annotations

from dataclasses import dataclass

from singan.config.settings import Requirements, Settings, finite, integer, setting
from singan.seeds import SEED_LIMIT

ARCHITECTURES = ("rrdb", "srresnet", "srvgg", "msrresnet")
STAGES = ("psnr", "gan")
RECIPES = ("esrgan", "realesrgan", "srgan")
DEGRADATIONS = ("bicubic", "realesrgan")
SCALES = {"rrdb": (1, 2, 4), "srresnet": (2, 3, 4), "srvgg": (1, 2, 3, 4), "msrresnet": (2, 3, 4)}
# Blocks of each architecture when none are given: the papers' (RRDBs; residual blocks; SRVGG's convs).
DEFAULT_BLOCKS = {"rrdb": 23, "srresnet": 16, "srvgg": 16, "msrresnet": 16}
LARGEST_FEATURES, LARGEST_BLOCKS, LARGEST_BATCH, LARGEST_CROP = 1024, 256, 65536, 4096


@dataclass(frozen=True)
class Recipe:
    """The losses of a GAN stage: weights, and which discriminator, perceptual layers and GAN loss."""

    pixel_weight: float
    perceptual_weight: float
    gan_weight: float
    discriminator: str  # "vgg" (VGG-style, fixed input size) or "unet" (U-Net with spectral norm)
    perceptual_layers: tuple[tuple[str, float], ...]  # VGG19 layer and its weight
    perceptual_distance: str  # "l1" or "l2"
    gan_loss: str  # "relativistic" (RaGAN) or "vanilla" (binary cross-entropy)
    sharpen_target: bool  # Real-ESRGAN: the L1 and perceptual targets are unsharp-masked


# SRGAN divides the VGG features by 12.75 before the squared distance: a weight of 1/12.75^2 on the MSE.
SRGAN_FEATURE_WEIGHT = 1 / 12.75**2
RECIPE_TABLE = {
    "esrgan": Recipe(1e-2, 1.0, 5e-3, "vgg", (("conv5_4", 1.0),), "l1", "relativistic", False),
    "realesrgan": Recipe(1.0, 1.0, 0.1, "unet", (("conv1_2", 0.1), ("conv2_2", 0.1), ("conv3_4", 1.0),
                                                 ("conv4_4", 1.0), ("conv5_4", 1.0)), "l1", "vanilla", True),
    "srgan": Recipe(0.0, 1.0, 1e-3, "vgg", (("relu5_4", SRGAN_FEATURE_WEIGHT),), "l2", "vanilla", False),
}


@dataclass(frozen=True)
class ESRGANConfig(Settings):
    """Everything that determines an ESRGAN-family training run."""

    arch: str = setting("rrdb", "generator: rrdb (ESRGAN), srresnet (SRGAN), srvgg (Real-ESRGAN compact) or "
                                "msrresnet (BasicSR's SRResNet)")
    scale: int = setting(4, "upscaling factor (rrdb 1, 2, 4; srresnet 2, 3, 4; srvgg 1-4)")
    stage: str = setting("psnr", "psnr (L1 only) or gan (from a psnr run: --init RUN)")
    recipe: str | None = setting(None, "gan stage losses: esrgan, realesrgan or srgan (default: srgan for "
                                       "srresnet, esrgan otherwise)")
    degradation: str = setting("bicubic", "how LR inputs are made: bicubic (ESRGAN) or realesrgan (second order)")
    image_channels: int = setting(3, "1 (grayscale) or 3 (RGB); set from the data")
    features: int = setting(64, "generator width")
    blocks: int | None = setting(None, "RRDBs, residual blocks or SRVGG convs (default: 23, 16, 16)")
    growth: int = setting(32, "rrdb: channels each dense conv adds")
    discriminator_features: int = setting(64, "discriminator width")
    crop: int = setting(128, "HR crop size in px (the VGG-style discriminator sees exactly this)")
    batch: int = setting(16, "crops per iteration")
    iterations: int = setting(100_000, "training length (BasicSR: 1,000,000 psnr, 400,000 gan)")
    lr: float | None = setting(None, "Adam learning rate (default: psnr 2e-4, gan 1e-4)")
    lr_halvings: str | None = setting(None, "iterations at which the rate halves, e.g. 50000,100000 (default: "
                                            "psnr every 200000, gan 50k, 100k, 200k, 300k)")
    beta1: float = setting(0.9, "Adam beta1")
    beta2: float = setting(0.99, "Adam beta2")
    ema: float = setting(0.999, "decay of the generator's moving average per iteration (0 turns it off)")
    ema_warmup: bool = setting(True, "cap the decay at (1 + i) / (10 + i) at iteration i, so that a short run's "
                                     "average is not its initial weights (--no-ema-warmup: BasicSR's constant)")
    pixel_weight: float | None = setting(None, "weight of the L1 loss (psnr: 1; gan: the recipe's)")
    perceptual_weight: float | None = setting(None, "weight of the perceptual loss (the recipe's)")
    gan_weight: float | None = setting(None, "weight of the adversarial loss (the recipe's)")
    perceptual: bool = setting(True, "gan stage: use the VGG19 perceptual loss (needs --vgg-weights)")
    augment: bool = setting(True, "random flips and 90-degree turns of the crops")
    seed: int | None = setting(None, "random seed (default: a random one, recorded in run.json)")
    log_every: int = setting(100, "append averaged losses to log.jsonl every this many iterations")
    snapshot_every: int = setting(1000, "write a snapshot (LR, output, HR) every this many iterations")
    checkpoint_every: int = setting(1000, "save a resumable checkpoint every this many iterations")
    val_every: int = setting(1000, "with --val: Y-PSNR and SSIM every this many iterations")

    def problems(self) -> list[str]:
        return _problems(self)

    @property
    def recipe_name(self) -> str:
        return self.recipe or ("srgan" if self.arch == "srresnet" else "esrgan")

    @property
    def losses(self) -> Recipe:
        """The stage's recipe with the weights given here applied (psnr: L1 only)."""
        if self.stage == "psnr":
            base = Recipe(1.0, 0.0, 0.0, "none", (), "l1", "none", False)
        else:
            base = RECIPE_TABLE[self.recipe_name]
            if not self.perceptual:
                base = Recipe(**{**base.__dict__, "perceptual_weight": 0.0, "perceptual_layers": ()})
        given = {name: getattr(self, name) for name in ("pixel_weight", "perceptual_weight", "gan_weight")
                 if getattr(self, name) is not None}
        return Recipe(**{**base.__dict__, **given})

    @property
    def block_count(self) -> int:
        return self.blocks if self.blocks is not None else DEFAULT_BLOCKS.get(self.arch, 1)

    @property
    def network_growth(self) -> int:
        """The dense blocks' growth: RRDB's only (0 for the others, as the run format records it)."""
        return self.growth if self.arch == "rrdb" else 0

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (2e-4 if self.stage == "psnr" else 1e-4)

    def halvings(self) -> list[int]:
        """The iterations at which the learning rate halves."""
        if self.lr_halvings is not None:
            return sorted(int(part) for part in self.lr_halvings.split(",") if part.strip())
        if self.stage == "gan":
            return [50_000, 100_000, 200_000, 300_000]
        return list(range(200_000, self.iterations, 200_000))

    def ema_decay(self, iteration: int) -> float:
        """The moving average's decay at an iteration (the TensorFlow ExponentialMovingAverage warm-up)."""
        return min(self.ema, (1 + iteration) / (10 + iteration)) if self.ema_warmup else self.ema

    def rate_at(self, iteration: int) -> float:
        return self.learning_rate * 0.5 ** sum(iteration >= mark for mark in self.halvings())


def _halvings_problem(text: str | None) -> bool:
    if text is None:
        return True
    try:
        return all(int(part) > 0 for part in text.split(",") if part.strip())
    except ValueError:
        return False


def _problems(config: ESRGANConfig) -> list[str]:
    checks = Requirements(config)
    require = checks.require
    require(config.arch in ARCHITECTURES, "arch", ", ".join(ARCHITECTURES))
    require(config.stage in STAGES, "stage", "psnr or gan")
    require(config.recipe is None or config.recipe in RECIPES, "recipe", ", ".join(RECIPES))
    require(config.degradation in DEGRADATIONS, "degradation", "bicubic or realesrgan")
    require(config.scale in SCALES.get(config.arch, ()), "scale",
            f"one of {', '.join(map(str, SCALES.get(config.arch, ())))} for --arch {config.arch}")
    require(config.image_channels in (1, 3), "image_channels", "1 or 3")
    for name, largest in (("features", LARGEST_FEATURES), ("growth", LARGEST_FEATURES),
                          ("discriminator_features", LARGEST_FEATURES), ("batch", LARGEST_BATCH),
                          ("crop", LARGEST_CROP)):
        require(integer(getattr(config, name)) and 1 <= getattr(config, name) <= largest, name,
                f"a positive integer up to {largest}")
    require(config.blocks is None or (integer(config.blocks) and 1 <= config.blocks <= LARGEST_BLOCKS), "blocks",
            f"a positive integer up to {LARGEST_BLOCKS}")
    for name in ("iterations", "log_every", "snapshot_every", "checkpoint_every", "val_every"):
        require(integer(getattr(config, name)) and getattr(config, name) >= 1, name, "a positive integer")
    require(config.lr is None or (finite(config.lr) and config.lr > 0), "lr", "a positive number")
    require(_halvings_problem(config.lr_halvings), "lr_halvings", "iterations separated by commas")
    for name in ("pixel_weight", "perceptual_weight", "gan_weight"):
        value = getattr(config, name)
        require(value is None or (finite(value) and value >= 0), name, "zero or more")
    for name in ("beta1", "beta2", "ema"):
        require(finite(getattr(config, name)) and 0 <= getattr(config, name) < 1, name, "in [0, 1)")
    for name in ("perceptual", "augment", "ema_warmup"):
        require(isinstance(getattr(config, name), bool), name, "true or false")
    require(config.seed is None or (integer(config.seed) and 0 <= config.seed < SEED_LIMIT), "seed",
            "an integer in [0, 2**63)")
    if integer(config.crop) and integer(config.scale) and config.scale in (1, 2, 3, 4):
        multiple = config.scale * (4 // config.scale if config.arch == "rrdb" and config.scale < 4 else 1)
        require(config.crop % max(multiple, 4 if config.arch == "rrdb" else 1) == 0, "crop",
                "a multiple of the scale (rrdb: of 4, for its pixel-unshuffle)")
    if config.stage == "gan" and config.recipe_name in RECIPES and RECIPE_TABLE[config.recipe_name].discriminator \
            == "vgg":
        require(integer(config.crop) and config.crop >= 32 and config.crop % 32 == 0, "crop",
                "a multiple of 32 for the VGG-style discriminator (ESRGAN: 128)")
    elif config.stage == "gan":
        require(integer(config.crop) and config.crop % 8 == 0, "crop", "a multiple of 8 for the U-Net discriminator")
    return checks.problems
