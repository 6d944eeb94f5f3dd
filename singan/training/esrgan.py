"""The ESRGAN family's trainer: a super-resolution generator, its moving average, and at stage `gan` a
discriminator and the VGG19 perceptual loss, stepped one iteration at a time.

One iteration draws `batch` HR crops (with the eight symmetries), makes their LR inputs (bicubic, or
Real-ESRGAN's second-order degradation), and updates the generator (L1 at stage psnr; the recipe's pixel,
perceptual and adversarial losses at stage gan), then the discriminator, then the moving average. Every
draw comes from one CPU random stream (`random.data`), so a resumed run continues exactly. The session
(singan.training.session) counts progress in iterations.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from singan.config.esrgan import ESRGANConfig, Recipe
from singan.data import degradation
from singan.data.crops import CropData, random_crops
from singan.errors import GANNonFiniteLossError
from singan.events import ESRGANProgress
from singan.images import image_grid
from singan.losses import relativistic
from singan.models.esrgan_critics import UNetDiscriminatorSN, VGGStyleDiscriminator
from singan.models.esrgan_layouts import TRAINED_LAYOUTS, Detected
from singan.models.vgg import VGG19Features, perceptual_distance
from singan.seeds import make_generator, stream_seed
from singan.training.distributed import World
from singan.training.optimizers import adam, frozen, restore_training_tensors, training_tensors, update_average

# The data stream's seed offset (singan.seeds.stream_seed), and the snapshot crops' (drawn once).
DATA_STREAM, SNAPSHOT_STREAM = 7_919, 104_729
SNAPSHOT_CROPS = 4
FIRST_CHECKPOINT_ITERATIONS = 100


def network_spec(config: ESRGANConfig) -> Detected:
    """The generator a config trains, as the run format records it."""
    return Detected(architecture=config.arch, layout=TRAINED_LAYOUTS[config.arch], scale=config.scale,
                    image_channels=config.image_channels, features=config.features, blocks=config.block_count,
                    growth=config.network_growth)


# The discriminators, one entry each, built from a config.
DISCRIMINATORS = {
    "vgg": lambda config: VGGStyleDiscriminator(config.image_channels, config.discriminator_features,
                                                input_size=config.crop),
    "unet": lambda config: UNetDiscriminatorSN(config.image_channels, config.discriminator_features),
}


def build_discriminator(config: ESRGANConfig) -> nn.Module | None:
    recipe = config.losses
    if recipe.gan_weight == 0 or recipe.discriminator not in DISCRIMINATORS:
        return None
    return DISCRIMINATORS[recipe.discriminator](config)


class ESRGANTrainer:
    """Networks, optimisers, the data stream and the counter of one ESRGAN-family run."""

    first_checkpoint = FIRST_CHECKPOINT_ITERATIONS

    def __init__(self, config: ESRGANConfig, data: CropData, device: torch.device,
                 vgg: VGG19Features | None = None, validation=None):
        self.config, self.data, self.device, self.world = config, data, device, World()
        self.recipe: Recipe = config.losses
        self.vgg = vgg.to(device) if vgg is not None and self.recipe.perceptual_weight > 0 else None
        self.validation = validation  # called with the moving average: {"psnr_y": ..., "ssim_y": ...}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed if config.seed is not None else 0)
            self.generator = network_spec(config).build().to(device)
            self.discriminator = build_discriminator(config)
        if self.discriminator is not None:
            self.discriminator.to(device)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        self.generator_optimizer = adam(self.generator, config.rate_at(0), (config.beta1, config.beta2))
        self.discriminator_optimizer = (adam(self.discriminator, config.rate_at(0), (config.beta1, config.beta2))
                                        if self.discriminator is not None else None)
        self.data_random = make_generator(torch.device("cpu"), stream_seed(config.seed, 0, DATA_STREAM))
        self.snapshot_pairs = self._pairs(random_crops(data, SNAPSHOT_CROPS, config.crop, make_generator(
            torch.device("cpu"), stream_seed(config.seed, 0, SNAPSHOT_STREAM)), augment=False), bicubic=True)
        self.count = 0
        self.last_validation: dict | None = None
        self._validated_at = 0

    def initialize(self, state: dict[str, torch.Tensor]) -> None:
        """Start the generator and its average from another run's weights (the gan stage from a psnr run)."""
        self.generator.load_state_dict(state)
        self.generator_ema.load_state_dict(state)

    # ---- one iteration --------------------------------------------------------------------------------------

    def _pairs(self, targets: torch.Tensor, bicubic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(LR inputs, HR targets) on the device from HR crops in [0, 1]."""
        if bicubic or self.config.degradation == "bicubic":
            inputs = degradation.bicubic(targets, self.config.scale)
        else:
            inputs = degradation.realesrgan(targets, self.config.scale, self.data_random)
        return inputs.clamp(0, 1).to(self.device), targets.to(self.device)

    def step(self) -> dict[str, float]:
        config = self.config
        self._set_rates(config.rate_at(self.count))
        targets = random_crops(self.data, config.batch, config.crop, self.data_random, augment=config.augment)
        inputs, targets = self._pairs(targets)
        self.generator.train()
        outputs = self.generator(inputs)
        losses = self._generator_step(outputs, targets)
        if self.discriminator is not None:
            losses |= self._discriminator_step(outputs.detach(), targets)
        update_average(self.generator_ema, self.generator, self.config.ema_decay(self.count))
        self.count += 1
        return losses

    def _generator_step(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        recipe, parts = self.recipe, {}
        sharp = degradation.unsharp_mask(targets) if recipe.sharpen_target else targets
        if recipe.pixel_weight:
            parts["pixel"] = recipe.pixel_weight * F.l1_loss(outputs, sharp)
        if self.vgg is not None:
            parts["perceptual"] = recipe.perceptual_weight * self._perceptual(outputs, sharp)
        if self.discriminator is not None:
            with frozen(self.discriminator):
                parts["adversarial"] = recipe.gan_weight * self._adversarial(outputs, targets)
        total = sum(parts.values())
        self.generator_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.generator_optimizer.step()
        return {"generator": float(total.detach()), **{name: float(value.detach()) for name, value in parts.items()}}

    def _perceptual(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        weights = dict(self.recipe.perceptual_layers)
        if self.recipe.perceptual_distance == "l1":
            return perceptual_distance(self.vgg, outputs, targets, weights)
        fake, real = self.vgg(outputs), self.vgg(targets.detach())
        return sum(weight * F.mse_loss(fake[name], real[name]) for name, weight in weights.items())

    def _adversarial(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        fake_scores = self.discriminator(outputs)
        if self.recipe.gan_loss == "relativistic":
            return relativistic.generator_loss(self.discriminator(targets).detach(), fake_scores)
        return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))

    def _discriminator_step(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        real_scores, fake_scores = self.discriminator(targets), self.discriminator(outputs)
        if self.recipe.gan_loss == "relativistic":
            loss = relativistic.critic_loss(real_scores, fake_scores)
        else:
            loss = (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
                    + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.discriminator_optimizer.step()
        return {"critic": float(loss.detach()), "real_score": float(real_scores.detach().mean()),
                "fake_score": float(fake_scores.detach().mean())}

    def _set_rates(self, rate: float) -> None:
        for optimizer in self.optimizers().values():
            for group in optimizer.param_groups:
                group["lr"] = rate


    # ---- what a training session uses (singan.training.session): progress counted in iterations ----------

    def interval(self, name: str) -> int:
        return getattr(self.config, f"{name}_every")

    def progress(self, total: int, losses: dict[str, float], seconds: float,
                 counted: int) -> tuple[ESRGANProgress, dict]:
        per_iteration = seconds / counted if counted else None
        if self.validation is not None and (self.count // self.config.val_every > self._validated_at
                                            // self.config.val_every or self.count >= total):
            self.last_validation = self.validation(self.generator_ema)
            self._validated_at = self.count
        validation = self.last_validation if self._validated_at == self.count else None
        event = ESRGANProgress(self.count, total, losses, per_iteration, validation)
        entry = {"iteration": self.count, "losses": losses, "seconds_per_iteration": per_iteration,
                 "learning_rate": self.config.rate_at(self.count - 1)}
        return event, entry | ({"validation": validation} if validation else {})

    @torch.no_grad()
    def snapshot_grid(self) -> torch.Tensor:
        """Rows of fixed crops: the LR input (nearest-upsampled), the moving average's output, the HR crop."""
        inputs, targets = self.snapshot_pairs
        outputs = self.generator_ema(inputs).clamp(0, 1)
        enlarged = F.interpolate(inputs, size=tuple(targets.shape[-2:]), mode="nearest")
        rows = torch.stack([enlarged, outputs, targets], dim=1).flatten(0, 1)
        return image_grid(rows.cpu() * 2 - 1, columns=3)

    def nonfinite_error(self, losses: dict[str, float], saved: int | None) -> GANNonFiniteLossError:
        return GANNonFiniteLossError(self.count, losses, saved, unit="iterations")

    def networks(self) -> dict[str, nn.Module]:
        found = {"generator": self.generator, "generator_ema": self.generator_ema}
        return found | ({"discriminator": self.discriminator} if self.discriminator is not None else {})

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        found = {"generator_optimizer": self.generator_optimizer}
        if self.discriminator_optimizer is not None:
            found["discriminator_optimizer"] = self.discriminator_optimizer
        return found

    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = training_tensors(self.networks(), self.optimizers())
        tensors["random.data"] = self.data_random.get_state()
        return {key: value.detach().cpu().contiguous() for key, value in tensors.items()}

    def state_record(self) -> dict:
        return {"iteration": self.count, "validated_at": self._validated_at, "validation": self.last_validation}

    def restore(self, tensors: dict[str, torch.Tensor], record: dict) -> None:
        restore_training_tensors(self.networks(), self.optimizers(), tensors)
        self.data_random.set_state(tensors["random.data"])
        self.count, self._validated_at = int(record["iteration"]), int(record.get("validated_at", 0))
        self.last_validation = record.get("validation")

    def ema_state(self) -> dict[str, torch.Tensor]:
        """The moving average's weights, which upscaling uses."""
        return {key: value.detach().cpu().contiguous() for key, value in self.generator_ema.state_dict().items()}
