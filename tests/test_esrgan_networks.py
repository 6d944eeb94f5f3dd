"""The ESRGAN family's networks: parameter counts of the published models, output sizes, and every weight
layout of the published files read to identical tensors (synthetic state dicts, no downloads)."""

from __future__ import annotations

import pytest
import torch

from singan.models.esrgan import MSRResNet, RRDBNet, SRResNet, SRVGGNetCompact
from singan.models.esrgan_critics import UNetDiscriminatorSN, VGGStyleDiscriminator
from singan.models.esrgan_layouts import LayoutError, from_ours, to_ours, unwrap
from singan.models.vgg import NAMES, VGG19Features, vgg_state


def parameters(network: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in network.parameters())


@pytest.mark.parametrize("build, count", [
    (lambda: RRDBNet(4), 16_697_987),  # RealESRGAN_x4plus, ESRGAN
    (lambda: RRDBNet(2), 16_703_171),  # RealESRGAN_x2plus
    (lambda: RRDBNet(1), 16_723_907),
    (lambda: RRDBNet(4, blocks=6), 4_467_779),  # RealESRGAN_x4plus_anime_6B
    (lambda: SRVGGNetCompact(convs=16), 621_424),  # realesr-animevideov3
    (lambda: SRVGGNetCompact(convs=32), 1_213_296),  # realesr-general-x4v3
    (lambda: MSRResNet(), 1_517_571),  # BasicSR's MSRResNet x4
])
def test_parameter_counts_of_the_published_models(build, count):
    with torch.device("meta"):
        assert parameters(build()) == count


@pytest.mark.parametrize("network, size, expected", [
    (RRDBNet(4, features=8, blocks=1, growth=4), (6, 10), (24, 40)),
    (RRDBNet(2, features=8, blocks=1, growth=4), (6, 10), (12, 20)),
    (RRDBNet(1, features=8, blocks=1, growth=4), (8, 12), (8, 12)),
    (SRVGGNetCompact(4, features=8, convs=2), (5, 7), (20, 28)),
    (SRResNet(4, features=8, blocks=2), (5, 7), (20, 28)),
    (MSRResNet(3, features=8, blocks=2), (5, 7), (15, 21)),
])
def test_output_sizes(network, size, expected):
    assert tuple(network(torch.rand(2, 3, *size)).shape) == (2, 3, *expected)


def test_the_x2_model_unshuffles_its_input_as_torch_does():
    network = RRDBNet(2, features=8, blocks=1, growth=4)
    assert network.conv_first.in_channels == 12 and network.multiple == 2
    with pytest.raises(RuntimeError):
        network(torch.rand(1, 3, 5, 6))  # odd sides: the caller pads to `multiple`


def test_rrdb_starts_with_small_kaiming_weights_and_zero_biases():
    network = RRDBNet(4, features=64, blocks=1, growth=32)
    conv = network.body[0].rdb1.conv1
    expected = 0.1 * (2 / (conv.in_channels * 9)) ** 0.5  # Kaiming-normal's std (fan in), times 0.1
    assert conv.weight.std().item() == pytest.approx(expected, rel=0.1)
    assert torch.count_nonzero(conv.bias) == 0


def test_the_discriminators():
    vgg_style = VGGStyleDiscriminator(features=8)
    assert tuple(vgg_style(torch.rand(2, 3, 128, 128)).shape) == (2, 1)
    with pytest.raises(ValueError, match="128 px"):
        vgg_style(torch.rand(1, 3, 64, 64))
    unet = UNetDiscriminatorSN(features=8)
    assert tuple(unet(torch.rand(1, 3, 32, 48)).shape) == (1, 1, 32, 48)
    assert {"conv1.weight_orig", "conv1.weight_u", "conv1.weight_v"} <= set(unet.state_dict())
    with torch.device("meta"):
        assert parameters(VGGStyleDiscriminator()) == 14_499_401


def test_vgg19_uses_torchvisions_layout_and_names_its_layers():
    vgg = VGG19Features(("conv1_2", "relu2_2", "conv5_4"))
    convs = [key for key in vgg.state_dict() if key.endswith(".weight")]
    assert convs[:3] == ["features.0.weight", "features.2.weight", "features.5.weight"]
    assert convs[-1] == "features.34.weight" and NAMES[34] == "conv5_4"
    found = vgg(torch.rand(1, 3, 32, 32))
    assert tuple(found["conv5_4"].shape) == (1, 512, 2, 2) and found["relu2_2"].min() >= 0
    full = {**vgg.state_dict(), "classifier.0.weight": torch.zeros(4096, 25088)}
    assert set(vgg_state(full, vgg)) == set(vgg.state_dict())
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        VGG19Features(("conv6_1",))


@pytest.mark.parametrize("layout", ["old-esrgan", "esrgan", "basicsr"])
@pytest.mark.parametrize("scale", [4, 2])
def test_every_rrdb_layout_loads_to_identical_tensors(layout, scale):
    network = RRDBNet(scale, features=8, blocks=3, growth=4)
    theirs = from_ours(network.state_dict(), layout)
    if layout != "basicsr":
        assert "body.0.rdb1.conv1.weight" not in theirs and "conv_body.weight" not in theirs
    detected, ours = to_ours(unwrap(theirs))
    assert (detected.layout, detected.architecture, detected.scale) == (layout, "rrdb", scale)
    assert (detected.features, detected.blocks, detected.growth) == (8, 3, 4)
    rebuilt = detected.build()
    rebuilt.load_state_dict(ours)
    for key, value in network.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value), key


def test_the_original_esrgan_file_names_its_keys_as_expected():
    keys = set(from_ours(RRDBNet(4, features=8, blocks=2, growth=4).state_dict(), "old-esrgan"))
    assert {"model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight", "model.1.sub.1.RDB3.conv5.0.bias",
            "model.1.sub.2.weight", "model.3.weight", "model.6.weight", "model.8.weight", "model.10.bias"} <= keys


@pytest.mark.parametrize("convs", [16, 2])
def test_srvgg_files_are_detected(convs):
    network = SRVGGNetCompact(4, features=8, convs=convs)
    detected, ours = to_ours(unwrap(network.state_dict()))
    assert (detected.architecture, detected.scale, detected.blocks) == ("srvgg", 4, convs)
    assert f"body.{2 * convs + 2}.weight" in ours
    detected.build().load_state_dict(ours)


@pytest.mark.parametrize("wrap", [
    lambda state: {"params_ema": state, "params": {key: value * 0 for key, value in state.items()}},
    lambda state: {"params": state},
    lambda state: {"state_dict": {f"module.{key}": value for key, value in state.items()}},
    lambda state: {f"netG.{key}": value for key, value in state.items()},
    lambda state: {"model": state, "iteration": 12},
])
def test_wrappers_and_prefixes_are_removed_and_params_ema_preferred(wrap):
    state = RRDBNet(4, features=8, blocks=1, growth=4).state_dict()
    unwrapped = unwrap(wrap(state))
    assert set(unwrapped) == set(state)
    assert all(torch.equal(unwrapped[key], state[key]) for key in state)


@pytest.mark.parametrize("values, message", [
    ([1, 2], "expected a state dict"),
    ({"step": 3}, "no tensors found"),
    ({"encoder.weight": torch.zeros(2)}, "found keys encoder.weight; expected conv_first"),
])
def test_a_foreign_or_malformed_state_dict_is_refused_clearly(values, message):
    with pytest.raises(LayoutError, match=message):
        to_ours(unwrap(values))


def test_an_rrdb_whose_first_conv_fits_no_scale_is_refused():
    state = RRDBNet(4, features=8, blocks=1, growth=4).state_dict()
    state["conv_first.weight"] = torch.zeros(8, 6, 3, 3)
    with pytest.raises(LayoutError, match="takes 6 channels"):
        to_ours(state)
