import pytest
import torch

from singan.config.singan import TrainConfig
from singan.models.singan import PatchCritic, ScaleGenerator, count_parameters, initialize
from singan.seeds import make_generator


@pytest.mark.parametrize("width, expected", [(32, 58_948), (64, 228_484), (128, 899_332)])
def test_parameter_counts_per_scale_match_the_reference(width, expected):
    assert count_parameters(ScaleGenerator(3, width)) + count_parameters(PatchCritic(3, width)) == expected


def test_architecture_is_five_valid_convolutions_with_batch_norm_and_leaky_relu():
    generator = ScaleGenerator(3, 32)
    convolutions = [layer for layer in generator.modules() if isinstance(layer, torch.nn.Conv2d)]
    assert len(convolutions) == 5
    assert all(conv.kernel_size == (3, 3) and conv.padding == (0, 0) for conv in convolutions)
    norms = [layer for layer in generator.modules() if isinstance(layer, torch.nn.BatchNorm2d)]
    assert len(norms) == 4
    slopes = {layer.negative_slope for layer in generator.modules() if isinstance(layer, torch.nn.LeakyReLU)}
    assert slopes == {0.2}
    assert isinstance(generator.tail[-1], torch.nn.Tanh)


def test_generator_keeps_the_size_and_is_residual():
    generator = ScaleGenerator(3, 32).eval()
    previous = torch.rand(2, 3, 19, 27) * 2 - 1
    noisy = previous + torch.randn(2, 3, 19, 27)
    output = generator(noisy, previous)
    assert output.shape == previous.shape
    # tail output is tanh-bounded, so the output stays within 1 of the input image
    assert (output - previous).abs().max() <= 1.0
    assert not torch.equal(output, previous)
    # The residual identity: with a zero tail the network adds nothing, whatever the noisy input.
    with torch.no_grad():
        generator.tail[0].weight.zero_()
        generator.tail[0].bias.zero_()
    assert torch.equal(generator(noisy, previous), previous)


def test_critic_is_a_patch_critic_with_an_11_pixel_field():
    critic = PatchCritic(3, 32).eval()
    scores = critic(torch.zeros(1, 3, 30, 40))
    assert scores.shape == (1, 1, 20, 30)
    image = torch.zeros(1, 3, 30, 40, requires_grad=True)
    critic(image)[0, 0, 0, 0].backward()
    rows, columns = torch.nonzero(image.grad[0].abs().sum(0), as_tuple=True)
    assert rows.max() - rows.min() + 1 <= 11 and columns.max() - columns.min() + 1 <= 11


def test_grayscale_networks_have_one_channel():
    generator, critic = ScaleGenerator(1, 32), PatchCritic(1, 32)
    image = torch.zeros(1, 1, 20, 20)
    assert generator(image, image).shape == (1, 1, 20, 20)
    assert critic(image).shape == (1, 1, 10, 10)


def test_initialisation_follows_the_paper_and_the_seed():
    rng = make_generator(torch.device("cpu"), 5)
    generator = ScaleGenerator(3, 128)
    initialize(generator, rng)
    weights = torch.cat([layer.weight.flatten() for layer in generator.modules() if isinstance(layer, torch.nn.Conv2d)])
    assert abs(weights.mean().item()) < 2e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)
    norms = [layer for layer in generator.modules() if isinstance(layer, torch.nn.BatchNorm2d)]
    assert all(torch.equal(layer.bias, torch.zeros_like(layer.bias)) for layer in norms)
    scales = torch.cat([layer.weight for layer in norms])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01) and scales.std().item() == pytest.approx(0.02, rel=0.2)
    again = ScaleGenerator(3, 128)
    initialize(again, make_generator(torch.device("cpu"), 5))
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), again.state_dict().values()))


def test_width_rule():
    config = TrainConfig()
    assert [config.width(scale) for scale in (0, 3, 4, 7, 8, 12)] == [32, 32, 64, 64, 128, 128]
