"""The FID Inception-v3, its loader, the Frechet distance and SIFID, with a random network of the same shape.

The real weights cannot be downloaded here, so the layout is checked against what the FID file holds
(names, shapes, counts) and the loader against files written in that layout.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from conftest import synthetic_image
from singan.errors import ConfigError, InputImageError
from singan.metrics.frechet import frechet_distance, gaussian_statistics
from singan.metrics.inception import FID_WEIGHTS_NAME, FrozenBatchNorm2d, InceptionV3, load_inception
from singan.metrics.sifid import sifid

# 94 conv + batch-norm units x 5 tensors (conv weight; bn weight, bias, running mean, running var) + fc.
FID_FILE_TENSOR_COUNT = 94 * 5 + 2
# torchvision's Inception-v3 has 27,161,264 parameters; without AuxLogits (3,326,696) and with a
# 1008-way instead of 1000-way classifier (+8 x 2049) that leaves the FID network's count.
FID_PARAMETER_COUNT = 27_161_264 - 3_326_696 + 8 * 2049
KEY_PATTERN = re.compile(r"^(Conv2d_\w+|Mixed_\w+)(\.\w+)?\.(conv\.weight|bn\.(weight|bias|running_mean|running_var))$"
                         r"|^fc\.(weight|bias)$")


def seeded_network(seed: int = 0) -> InceptionV3:
    """A random network whose activations neither vanish nor explode, with non-trivial batch-norm stats."""
    generator = torch.Generator().manual_seed(seed)
    network = InceptionV3()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            elif isinstance(module, FrozenBatchNorm2d):
                channels = module.weight.shape[0]
                module.weight.copy_(0.8 + 0.4 * torch.rand(channels, generator=generator))
                module.bias.copy_(0.1 * torch.randn(channels, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(channels, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(channels, generator=generator))
    return network.requires_grad_(False).eval()


@pytest.fixture(scope="module")
def network() -> InceptionV3:
    return seeded_network()


@pytest.fixture(scope="module")
def weights(network) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in network.state_dict().items()}


def picture(height: int = 48, width: int = 64, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """A structured test picture as [1, C, H, W] in [-1, 1]."""
    pixels = synthetic_image(height, width, channels, seed).reshape(height, width, channels)
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1


def one_line_error(call) -> str:
    with pytest.raises(ConfigError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- the layout of the FID file ---

def test_state_dict_has_the_fid_file_names_and_shapes(network):
    state = network.state_dict()
    assert len(state) == FID_FILE_TENSOR_COUNT
    assert all(KEY_PATTERN.match(name) for name in state), [name for name in state if not KEY_PATTERN.match(name)]
    assert not [name for name in state if "num_batches_tracked" in name or "AuxLogits" in name]
    expected_shapes = {
        "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
        "Conv2d_1a_3x3.bn.running_mean": (32,),
        "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
        "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
        "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
        "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
        "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
        "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
        "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
        "Mixed_7b.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
        "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
        "Mixed_7c.branch_pool.bn.running_var": (192,),
        "fc.weight": (1008, 2048),
        "fc.bias": (1008,),
    }
    assert {name: tuple(state[name].shape) for name in expected_shapes} == expected_shapes
    assert sum(parameter.numel() for parameter in network.parameters()) == FID_PARAMETER_COUNT


def test_the_layers_follow_the_tensorflow_graph(network):
    pools = {name: network.get_submodule(name).pool for name in ("Mixed_5b", "Mixed_6c", "Mixed_7b", "Mixed_7c")}
    for name in ("Mixed_5b", "Mixed_6c", "Mixed_7b"):
        assert isinstance(pools[name], torch.nn.AvgPool2d) and pools[name].count_include_pad is False, name
    assert isinstance(pools["Mixed_7c"], torch.nn.MaxPool2d)
    assert all(module.bias is None for module in network.modules() if isinstance(module, torch.nn.Conv2d))
    assert {module.eps for module in network.modules() if isinstance(module, FrozenBatchNorm2d)} == {0.001}


# --- features ---

def test_block0_keeps_the_image_size_and_accepts_grayscale(network):
    images = torch.rand(2, 3, 40, 52, generator=torch.Generator().manual_seed(1)) * 2 - 1
    features = network.block0(images)
    # 40 -> 19 -> 17 -> 17 -> 8 and 52 -> 25 -> 23 -> 23 -> 11 (stride-2 conv, conv, padded conv, pool)
    assert features.shape == (2, 64, 8, 11)
    assert torch.isfinite(features).all() and features.std() > 0
    gray = images[:, :1]
    assert torch.equal(network.block0(gray), network.block0(gray.repeat(1, 3, 1, 1)))


def test_pool_features_resize_any_size_to_299(network):
    gray = torch.rand(2, 1, 40, 52, generator=torch.Generator().manual_seed(2)) * 2 - 1
    features = network.pool_features(gray)
    assert features.shape == (2, 2048)
    assert torch.isfinite(features).all() and (features[0] != features[1]).any()
    assert torch.allclose(features, network.pool_features(gray.repeat(1, 3, 1, 1)))


def test_unusable_inputs_are_refused(network):
    with pytest.raises(InputImageError, match="at least 11 px"):
        network.block0(torch.zeros(1, 3, 10, 40))
    with pytest.raises(ValueError, match="1 or 3"):
        network.block0(torch.zeros(1, 4, 40, 40))


# --- loading ---

def test_pth_and_safetensors_round_trips_give_identical_outputs(network, weights, tmp_path):
    torch.save(weights, tmp_path / FID_WEIGHTS_NAME)
    save_file(weights, str(tmp_path / "inception.safetensors"))
    images = picture()
    expected_block0, expected_pool = network.block0(images), network.pool_features(images)
    pth, safetensors = (load_inception(path, "cpu") for path in (tmp_path / FID_WEIGHTS_NAME,
                                                                 tmp_path / "inception.safetensors"))
    for loaded in (pth, safetensors):
        assert not loaded.training and not any(parameter.requires_grad for parameter in loaded.parameters())
        state = loaded.state_dict()
        assert all(torch.equal(state[name], value) for name, value in weights.items())
        assert torch.equal(loaded.block0(images), expected_block0)
    # Equal tensors give equal features; one full 299 px pass per format would only double the time.
    assert torch.equal(pth.pool_features(images), expected_pool)


def test_a_file_with_batch_norm_counters_still_loads(weights, tmp_path):
    with_counters = dict(weights)
    for name in [name for name in weights if name.endswith(".bn.running_mean")]:
        with_counters[name.replace("running_mean", "num_batches_tracked")] = torch.tensor(0)
    torch.save(with_counters, tmp_path / "counters.pth")
    loaded = load_inception(tmp_path / "counters.pth")
    assert torch.equal(loaded.state_dict()["fc.weight"], weights["fc.weight"])


def test_missing_and_garbage_files_are_config_errors(tmp_path):
    missing = one_line_error(lambda: load_inception(tmp_path / "absent.pth"))
    assert "absent.pth" in missing and "not found" in missing and FID_WEIGHTS_NAME in missing
    assert "not a file" in one_line_error(lambda: load_inception(tmp_path))
    for name in ("garbage.pth", "garbage.safetensors"):
        (tmp_path / name).write_bytes(b"\x00not a weights file\xff" * 50)
        message = one_line_error(lambda: load_inception(tmp_path / name))
        assert name in message and "unreadable" in message


def test_files_with_other_tensors_are_config_errors(weights, tmp_path):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pth")
    message = one_line_error(lambda: load_inception(tmp_path / "other.pth"))
    assert "missing" in message and "unexpected" in message and "other.pth" in message
    reshaped = dict(weights, **{"fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)})
    save_file(reshaped, str(tmp_path / "torchvision.safetensors"))
    message = one_line_error(lambda: load_inception(tmp_path / "torchvision.safetensors"))
    assert "2 wrong shape" in message and "missing" not in message
    torch.save([torch.zeros(3)], tmp_path / "list.pth")
    assert "state dict of tensors" in one_line_error(lambda: load_inception(tmp_path / "list.pth"))


class Payload:
    """An object that would create a marker file if reading the file ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_a_pth_that_holds_objects_is_refused_without_running_them(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"fc.weight": Payload(marker)}, tmp_path / "hostile.pth")
    message = one_line_error(lambda: load_inception(tmp_path / "hostile.pth"))
    assert "hostile.pth" in message and "objects other than tensors" in message
    assert not marker.exists()


# --- Frechet distance ---

def random_covariance(dimension: int, seed: int) -> np.ndarray:
    factor = np.random.default_rng(seed).normal(size=(dimension, dimension + 3))
    return factor @ factor.T / dimension


def test_identical_gaussians_are_at_distance_zero():
    mean, covariance = np.arange(6.0), random_covariance(6, seed=0)
    assert frechet_distance(mean, covariance, mean, covariance) == pytest.approx(0, abs=1e-9)


def test_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(1)
    mean1, mean2 = rng.normal(size=5), rng.normal(size=5)
    variance1, variance2 = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    closed_form = np.sum((mean1 - mean2) ** 2) + np.sum((np.sqrt(variance1) - np.sqrt(variance2)) ** 2)
    distance = frechet_distance(mean1, np.diag(variance1), mean2, np.diag(variance2))
    assert distance == pytest.approx(closed_form, rel=1e-9)
    assert frechet_distance(mean2, np.diag(variance2), mean1, np.diag(variance1)) == pytest.approx(distance)
    assert frechet_distance([1.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(4 + 1)


def test_singular_covariances_give_a_finite_distance():
    rng = np.random.default_rng(2)
    low_rank = rng.normal(size=(8, 2))
    covariance1, covariance2 = low_rank @ low_rank.T, np.zeros((8, 8))
    distance = frechet_distance(np.zeros(8), covariance1, np.zeros(8), covariance2)
    assert np.isfinite(distance) and distance == pytest.approx(np.trace(covariance1), rel=1e-3)
    with pytest.raises(ValueError, match="different shapes"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_gaussian_statistics_are_float64_mean_and_covariance():
    samples = torch.randn(50, 4, generator=torch.Generator().manual_seed(3))
    mean, covariance = gaussian_statistics(samples)
    assert mean.dtype == covariance.dtype == np.float64 and covariance.shape == (4, 4)
    np.testing.assert_allclose(mean, samples.double().mean(0).numpy())
    np.testing.assert_allclose(covariance, np.cov(samples.double().numpy(), rowvar=False))
    with pytest.raises(ValueError):
        gaussian_statistics(np.zeros((1, 4)))


# --- SIFID ---

def test_sifid_is_zero_for_the_real_image_and_grows_with_damage(network):
    real = picture()
    generator = torch.Generator().manual_seed(4)
    perturbed = (real + 0.02 * torch.randn(real.shape, generator=generator)).clamp(-1, 1)
    noise = torch.rand(real.shape, generator=generator) * 2 - 1
    values = sifid(network, real, torch.cat([real, perturbed, noise]))
    assert values.shape == (3,) and values.dtype == torch.float64
    assert values[0] == pytest.approx(0, abs=1e-6 * max(values[2].item(), 1))
    assert values[2] > 10 * values[1] > 0


def test_sifid_compares_images_of_other_sizes_and_grayscale(network):
    real = picture()
    other_size = picture(40, 56, seed=5)
    assert sifid(network, real, other_size).shape == (1,)
    gray_real, gray_fake = picture(channels=1), picture(channels=1, seed=6)
    assert torch.isfinite(sifid(network, gray_real, gray_fake)).all()
    with pytest.raises(ValueError, match="one real image"):
        sifid(network, torch.cat([real, real]), real)
