"""SinGAN's per-scale generator and patch critic, and the multiscale model with its one forward pass."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from singan.pyramid import Size, upsample

KERNEL_SIZE = 3
NUM_LAYERS = 5
# Five unpadded 3x3 convolutions shrink each side by 5 px; the generator pads its input by as much.
PADDING = NUM_LAYERS * (KERNEL_SIZE - 1) // 2


class ConvBlock(nn.Sequential):
    """3x3 convolution without padding -> batch norm -> LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, KERNEL_SIZE),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.2),
        )


def _trunk(in_channels: int, width: int) -> nn.Sequential:
    """Head and body shared by both networks: NUM_LAYERS - 1 blocks of `width` channels."""
    return nn.Sequential(ConvBlock(in_channels, width), *[ConvBlock(width, width) for _ in range(NUM_LAYERS - 2)])


class ScaleGenerator(nn.Module):
    """One scale's generator: adds detail to the upsampled coarser image (residual in image space)."""

    def __init__(self, image_channels: int, width: int):
        super().__init__()
        self.trunk = _trunk(image_channels, width)
        self.tail = nn.Sequential(nn.Conv2d(width, image_channels, KERNEL_SIZE), nn.Tanh())
        self.pad = nn.ZeroPad2d(PADDING)

    def forward(self, noisy: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """noisy: the output of `add_noise`, [N, C, H, W] or already padded to [N, C, H + 10, W + 10];
        previous: [N, C, H, W]. The output has the shape of `previous`."""
        if noisy.shape[-2:] == previous.shape[-2:]:
            noisy = self.pad(noisy)
        return self.tail(self.trunk(noisy)) + previous


def add_noise(previous: torch.Tensor, noise: torch.Tensor | None, amplitude: float) -> torch.Tensor:
    """A generator's input: the coarser image plus scaled noise.

    Noise of the image's size is zero-padded by the generator with the image (the paper's model).
    Noise drawn PADDING px larger on every side (the noise-padding variant the original trains for
    animation) also covers that border, so the border is not a constant the generator can lock onto.
    """
    if noise is None:
        return previous
    if noise.shape[-2:] == previous.shape[-2:]:
        return previous + amplitude * noise
    return F.pad(previous, [PADDING] * 4) + amplitude * noise


class PatchCritic(nn.Module):
    """One scale's WGAN critic: a map of scores, one per 11x11 patch."""

    def __init__(self, image_channels: int, width: int):
        super().__init__()
        self.trunk = _trunk(image_channels, width)
        self.tail = nn.Conv2d(width, 1, KERNEL_SIZE)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] -> [N, 1, H - 10, W - 10]."""
        return self.tail(self.trunk(image))


@torch.no_grad()
def initialize(module: nn.Module, rng: torch.Generator) -> None:
    """The paper's initialisation: conv weights N(0, 0.02), BN weights N(1, 0.02) and bias 0.

    Conv biases keep PyTorch's default distribution, drawn from `rng` so a seed fixes everything.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            layer.weight.copy_(_normal(layer.weight, 0.0, 0.02, rng))
            bound = 1 / math.sqrt(layer.weight[0].numel())
            layer.bias.copy_(_uniform(layer.bias, -bound, bound, rng))
        elif isinstance(layer, nn.BatchNorm2d):
            layer.weight.copy_(_normal(layer.weight, 1.0, 0.02, rng))
            layer.bias.zero_()


def new_networks(image_channels: int, width: int, rng: torch.Generator) -> tuple[ScaleGenerator, PatchCritic]:
    """A freshly initialised generator and critic on the random source's device."""
    generator = ScaleGenerator(image_channels, width).to(rng.device)
    critic = PatchCritic(image_channels, width).to(rng.device)
    initialize(generator, rng)
    initialize(critic, rng)
    return generator, critic


def _normal(like: torch.Tensor, mean: float, std: float, rng: torch.Generator) -> torch.Tensor:
    return torch.randn(like.shape, generator=rng, device=rng.device).mul_(std).add_(mean).to(like.device)


def _uniform(like: torch.Tensor, low: float, high: float, rng: torch.Generator) -> torch.Tensor:
    return torch.rand(like.shape, generator=rng, device=rng.device).mul_(high - low).add_(low).to(like.device)


def freeze(module: nn.Module) -> nn.Module:
    """A trained scale: evaluation mode (batch norm uses its running statistics) and no gradients."""
    module.eval()
    module.requires_grad_(False)
    return module


class SinGAN(nn.Module):
    """The trained scales of one model: generators, critics, noise amplitudes, reconstruction noise."""

    def __init__(self, image_channels: int, noise_padding: bool = False):
        super().__init__()
        self.image_channels = image_channels
        self.noise_padding = noise_padding
        self.generators = nn.ModuleList()
        self.critics = nn.ModuleList()
        self.noise_amplitudes: list[float] = []
        self.sizes: list[Size] = []
        # Fixed noise of the coarsest scale that, with zero noise above, reproduces the training image.
        self.register_buffer("reconstruction_noise", torch.zeros(0))

    @property
    def num_scales(self) -> int:
        return len(self.generators)

    def add_scale(self, generator: ScaleGenerator, critic: PatchCritic, noise_amplitude: float,
                  size: Size) -> None:
        self.generators.append(freeze(generator))
        self.critics.append(freeze(critic))
        self.noise_amplitudes.append(float(noise_amplitude))
        self.sizes.append(tuple(size))

    def coarsest(self, count: int) -> SinGAN:
        """A view of the `count` coarsest scales, sharing their modules (to train or retrain scale `count`)."""
        view = SinGAN(self.image_channels, self.noise_padding)
        view.generators = nn.ModuleList(list(self.generators[:count]))
        view.critics = nn.ModuleList(list(self.critics[:count]))
        view.noise_amplitudes = self.noise_amplitudes[:count]
        view.sizes = self.sizes[:count]
        view.reconstruction_noise = self.reconstruction_noise
        return view

    def noise_channels(self, scale: int) -> int:
        """The coarsest scale draws one noise channel shared by all colours (as the paper)."""
        return 1 if scale == 0 else self.image_channels

    def noise_size(self, size: Size) -> Size:
        """The noise map's size for an output of `size`: larger by the padding with noise padding."""
        return (size[0] + 2 * PADDING, size[1] + 2 * PADDING) if self.noise_padding else tuple(size)

    def draw_noise(self, rng: torch.Generator, scale: int, size: Size, batch: int = 1) -> torch.Tensor:
        """Fresh noise for `scale` at output size `size`, with that scale's channels and padding, drawn on
        the random source's device (a task's seed draws on the CPU) and moved to the model's."""
        return draw_noise(rng, self.noise_channels(scale), self.noise_size(size), batch).to(self.device)

    @property
    def device(self) -> torch.device:
        return self.reconstruction_noise.device

    def synthesize(self, noises: Sequence[torch.Tensor | None], sizes: Sequence[Size],
                   image: torch.Tensor | None = None, first_scale: int = 0) -> torch.Tensor:
        """The one multiscale forward pass, used by training and every task.

        Runs scales first_scale .. first_scale + len(noises) - 1. `noises[i]` is that scale's noise
        ([N, 1 or C, h, w], or None for no noise) and `sizes[i]` its output size. `image` is the
        coarser picture fed to the first scale, already at sizes[0] (zeros when None). Each later
        scale receives the previous output upsampled to its own size.
        """
        scales = range(first_scale, first_scale + len(noises))
        return self.cascade([self.generators[scale] for scale in scales],
                            [self.noise_amplitudes[scale] for scale in scales], noises, sizes, image)

    def cascade(self, generators: Sequence[nn.Module], amplitudes: Sequence[float],
                noises: Sequence[torch.Tensor | None], sizes: Sequence[Size],
                image: torch.Tensor | None = None) -> torch.Tensor:
        """`synthesize` with the generators given explicitly (super-resolution repeats the finest one)."""
        if not len(generators) == len(amplitudes) == len(noises) == len(sizes):
            raise ValueError(f"{len(generators)} generators, {len(amplitudes)} amplitudes, "
                             f"{len(noises)} noise maps and {len(sizes)} sizes")
        current = image if image is not None else self._zeros(noises, sizes[0])
        for offset, (generator, amplitude, noise, size) in enumerate(zip(generators, amplitudes, noises, sizes)):
            previous = upsample(current, size) if offset > 0 else current
            current = generator(add_noise(previous, noise, amplitude), previous)
        # The residual sum can leave the image range; every consumer clips it (the original by its uint8
        # conversion, training by the clipped upsampling), so the pass returns images in [-1, 1].
        return current.clamp(-1, 1)

    def reconstruction_noises(self, first_scale: int = 0, last_scale: int | None = None) -> list:
        """The noise that reproduces the training image: z_rec at the coarsest scale, none above."""
        last = self.num_scales - 1 if last_scale is None else last_scale
        return [self.reconstruction_noise if scale == 0 else None for scale in range(first_scale, last + 1)]

    def reconstruct(self, last_scale: int | None = None) -> torch.Tensor:
        """The training image as the model reproduces it at `last_scale` (default: the finest)."""
        last = self.num_scales - 1 if last_scale is None else last_scale
        return self.synthesize(self.reconstruction_noises(0, last), self.sizes[: last + 1])

    def _zeros(self, noises: Sequence[torch.Tensor | None], size: Size) -> torch.Tensor:
        batch = next((noise.shape[0] for noise in noises if noise is not None), 1)
        return torch.zeros(batch, self.image_channels, *size, device=self.device)


def draw_noise(rng: torch.Generator, channels: int, size: Size, batch: int = 1) -> torch.Tensor:
    """Standard normal noise [batch, channels, H, W] on the generator's device."""
    return torch.randn(batch, channels, *size, generator=rng, device=rng.device)


def count_parameters(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
