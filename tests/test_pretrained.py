"""Importing published StyleGAN / StyleGAN2 files: every format gives back every tensor, the converted network
computes what ours does with the same weights, seeds draw as NVlabs' scripts, and what the networks cannot
reproduce, or a file that would run code, is one line."""

import gzip
import io
import lzma
import pickle

import numpy as np
import pytest
import torch

from pretrained_files import (FakePersistent, ada_pickle, fake_modules, random_generator, rosinality_file,
                              rosinality_state, tf_pickle, tf_stylegan2_variables)
from singan.api import gan as gan_api
from singan.api import gan_import
from singan.errors import ConfigError, ForeignFileError
from singan.models import stylegan
from singan.models.pggan import upsample
from singan.nn.layers import EqualConv2d, NoiseSource
from singan.runs import open_run
from tasks.gan.draws import Draws
from tasks.gan.generate import generated_images


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def files_of(tmp_path, generator, conditional=False):
    """The generator saved in every format that can hold it."""
    files = {"ada": write(tmp_path / "net.pkl", ada_pickle(generator))}
    if not conditional:
        files |= {"tf": write(tmp_path / "tf.pkl", tf_pickle(generator)),
                  "tf-xz": write(tmp_path / "tf.pkl.xz", lzma.compress(tf_pickle(generator))),
                  "tf-gz": write(tmp_path / "tf.pkl.gz", gzip.compress(tf_pickle(generator))),
                  "rosinality": write(tmp_path / "g.pt", rosinality_file(generator))}
    return files


def images(generator, draws=Draws("nvlabs", "const"), seeds=(0, 1), truncation=0.7):
    return torch.cat([image for _, image in generated_images(generator, list(seeds), truncation=truncation,
                                                             draws=draws)])


@pytest.fixture(scope="module")
def stylegan2_network():
    return random_generator("stylegan2", 16)


@pytest.mark.parametrize("kind", ["ada", "tf", "tf-xz", "tf-gz", "rosinality"])
def test_every_stylegan2_format_gives_back_every_tensor_and_the_same_images(tmp_path, stylegan2_network, kind):
    path = files_of(tmp_path, stylegan2_network)[kind]
    converted, source = gan_import.read_network(path)
    expected = stylegan2_network.state_dict()
    assert converted.arch == "stylegan2" and set(converted.tensors) == set(expected)
    for name, value in expected.items():
        assert torch.equal(converted.tensors[name], value), name
    assert source["sha256"] and source["bytes"] == path.stat().st_size
    assert converted.options["constant_noise"] and converted.options["channel_max"] == 32
    assert torch.equal(images(converted.build()), images(stylegan2_network))


def test_a_rosinality_training_checkpoint_reads_g_ema_and_estimates_the_average_w(tmp_path, stylegan2_network):
    path = write(tmp_path / "080000.pt", rosinality_file(stylegan2_network, checkpoint=True))
    converted, _ = gan_import.read_network(path)
    for name, value in stylegan2_network.state_dict().items():
        if name != "w_avg":
            assert torch.equal(converted.tensors[name], value), name
    generator = converted.build()
    mapped = generator.mapping(torch.randn(4096, 16, generator=torch.Generator().manual_seed(0))).mean(0)
    assert torch.allclose(converted.tensors["w_avg"], mapped) and any("latent_avg" in note for note in converted.notes)


def test_stylegan_v1_tf_pickle_with_fused_upsampling(tmp_path):
    generator = random_generator("stylegan", 32, fused_from=16)
    path = write(tmp_path / "v1.pkl", tf_pickle(generator, synthesis_kwargs={"fused_scale": "auto"}))
    # The official 'auto' fuses from 128 px; a 32 px file with fused_scale=True fuses every block.
    converted, _ = gan_import.read_network(path)
    assert converted.arch == "stylegan" and converted.options["fused_from"] == 128
    path = write(tmp_path / "v1-fused.pkl", tf_pickle(generator, synthesis_kwargs={"fused_scale": True}))
    converted, _ = gan_import.read_network(path)
    assert converted.options["fused_from"] == 8
    for name, value in generator.state_dict().items():
        assert torch.equal(converted.tensors[name], value), name
    fused_everywhere = random_generator("stylegan", 32, fused_from=8)
    assert torch.equal(images(converted.build(), truncation=1), images(fused_everywhere, truncation=1))


def test_fused_upsampling_is_the_transposed_conv_of_the_summed_kernel():
    """TF's fused layer equals nearest upsampling and the 3x3 conv turned by 180 degrees, borders included
    (its transposed conv takes the kernel as stored, so the correlation's orientation turns round)."""
    torch.manual_seed(0)
    conv = EqualConv2d(3, 4, 3, bias=False)
    features = torch.randn(1, 3, 6, 6)
    flipped = EqualConv2d(3, 4, 3, bias=False)
    flipped.weight.data = conv.weight.data.flip([2, 3])
    fused = stylegan.fused_upsampling_conv(conv, features)
    assert fused.shape == (1, 4, 12, 12)
    assert torch.allclose(fused, flipped(upsample(features)), atol=1e-5)
    assert not torch.allclose(fused, conv(upsample(features)), atol=1e-2)


def test_conditional_ada_pickle_needs_its_class(tmp_path):
    generator = random_generator("stylegan2", 16, label_count=3, conv_clamp=0.5)
    path = files_of(tmp_path, generator, conditional=True)["ada"]
    path.write_bytes(ada_pickle(generator, conv_clamp=0.5))
    run = gan_api.load_gan_run(path, device="cpu")
    assert run.generator.label_count == 3 and run.record.network["conv_clamp"] == 0.5
    with pytest.raises(ConfigError, match="conditional .3 classes.: give --class"):
        images(run.generator)
    with pytest.raises(ConfigError, match="--class must be from 0 to 2"):
        images(run.generator, Draws("nvlabs", "const", 3))
    ours, theirs = images(generator, Draws("nvlabs", "const", 2)), images(run.generator, Draws("nvlabs", "const", 2))
    assert torch.equal(ours, theirs)
    assert not torch.equal(ours, images(generator, Draws("nvlabs", "const", 0)))
    # The clamp is active: without it the same weights give other images.
    unclamped = random_generator("stylegan2", 16, label_count=3)
    assert not torch.allclose(images(unclamped, Draws("nvlabs", "const", 2)), ours)


def test_nvlabs_seeds_draw_z_with_numpy():
    draws = Draws("nvlabs")
    for seed in (0, 5, 2**32 - 1):
        expected = torch.from_numpy(np.random.RandomState(seed).randn(1, 512)).float()
        assert torch.equal(draws.latent(seed, 512), expected)
    with pytest.raises(ConfigError, match="below 2\\*\\*32"):
        draws.check(random_generator(), [2**32])


def test_nvlabs_random_noise_continues_the_seeds_numpy_state(stylegan2_network):
    """As the TF run_generator.py: z first, then each noise map in layer order from the same RandomState."""
    source = Draws("nvlabs", "random").noise_source(7, 16)
    state = np.random.RandomState(7)
    state.randn(1, 16)
    expected = torch.from_numpy(state.randn(1, 1, 4, 4)).float()
    assert torch.equal(source.draw(1, 4, 4, torch.zeros(1)), expected)
    first, again = images(stylegan2_network, Draws("nvlabs", "random")), images(stylegan2_network, Draws("nvlabs", "random"))
    assert torch.equal(first, again) and not torch.equal(first, images(stylegan2_network))


def test_noise_modes_differ_and_none_ignores_the_stored_maps(stylegan2_network):
    const, none = images(stylegan2_network), images(stylegan2_network, Draws("nvlabs", "none"))
    assert not torch.equal(const, none)
    generator = random_generator("stylegan2", 16)
    with torch.no_grad():
        for module in generator.modules():
            if getattr(module, "constant", None) is not None and module.constant.ndim == 4 and module.constant.shape[1] == 1:
                module.constant.zero_()
    assert torch.allclose(images(generator), images(generator, Draws("nvlabs", "none")))
    with pytest.raises(ValueError):
        NoiseSource("sometimes")


def test_import_writes_a_run_that_every_task_takes_and_generates_as_the_file(tmp_path, stylegan2_network):
    path = files_of(tmp_path, stylegan2_network)["ada"]
    directory = gan_import.import_network(path, out=tmp_path / "runs")
    assert directory.name == "net" and sorted(item.name for item in directory.iterdir()) == [
        "generator.safetensors", "run.json"]
    record = open_run(directory, "gan").record
    assert record.source["format"] == "stylegan2-ada-pytorch" and record.source["file"] == "net.pkl"
    from_run, from_file = gan_api.load_gan_run(directory, "cpu"), gan_api.load_gan_run(path, "cpu")
    assert torch.equal(images(from_run.generator), images(from_file.generator))
    written = gan_api.generate_run(from_run, [0, 1], truncation=0.7)
    assert [item.name for item in written] == ["seed0000.png", "seed0001.png"]
    assert gan_api.mix_run(from_run, [1], [2], "coarse").is_file()
    with pytest.raises(Exception, match="already holds a run"):
        gan_import.import_network(path, out=tmp_path / "runs")


def test_a_file_given_to_a_task_writes_nothing_beside_it(tmp_path, stylegan2_network, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "downloads"
    folder.mkdir()
    path = files_of(folder, stylegan2_network)["rosinality"]
    before = sorted(folder.iterdir())
    run = gan_api.load_gan_run(path, "cpu")
    written = gan_api.generate_run(run, [3])
    assert sorted(folder.iterdir()) == before
    assert written[0].parent.resolve() == tmp_path / "Output" / "g-generated"


@pytest.mark.parametrize("function, message", [
    ("G_synthesis_stylegan_revised", "configs a-d"),
])
def test_unsupported_tf_networks_are_refused_in_one_line(tmp_path, stylegan2_network, function, message):
    mapping, synthesis = tf_stylegan2_variables(stylegan2_network)
    synthesis = {name: value for name, value in synthesis.items() if not name.endswith("mod_weight")}
    path = write(tmp_path / "b.pkl", tf_pickle(stylegan2_network, function=function, variables=(mapping, synthesis)))
    with pytest.raises(ForeignFileError, match=message) as error:
        gan_import.read_network(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def stylegan3_pickle() -> bytes:
    """A StyleGAN3 generator as its files hold it: the same bare class name, a synthesis of input + layers."""
    from pretrained_files import _reconstruct_persistent_obj

    synthesis = FakePersistent("SynthesisNetwork", None, None, {"input": FakePersistent("SynthesisInput"),
                                                                "L0_36_512": FakePersistent("SynthesisLayer")})
    network = FakePersistent("Generator", None, None, {"synthesis": synthesis}, _init_kwargs={"z_dim": 512})
    with fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj}}):
        return pickle.dumps({"G_ema": network}, protocol=4)


def test_other_generators_are_refused_in_one_line(tmp_path, stylegan2_network):
    cases = {
        "stylegan3.pkl": stylegan3_pickle(),
        "resnet.pkl": ada_pickle(stylegan2_network, architecture="resnet"),
        "tf-resnet.pkl": tf_pickle(stylegan2_network, synthesis_kwargs={"architecture": "resnet"}),
        "empty.pt": pickle.dumps({"weights": 1}),
    }
    expected = {"stylegan3.pkl": "StyleGAN3", "resnet.pkl": "'resnet'", "tf-resnet.pkl": "'resnet'",
                "empty.pt": "not a StyleGAN"}
    for name, data in cases.items():
        with pytest.raises(ForeignFileError, match=expected[name]):
            gan_import.read_network(write(tmp_path / name, data))


def test_an_incomplete_network_names_what_is_missing(tmp_path, stylegan2_network):
    state = rosinality_state(stylegan2_network)
    del state["convs.1.conv.modulation.bias"]
    buffer = io.BytesIO()
    torch.save({"g_ema": state, "latent_avg": stylegan2_network.w_avg}, buffer)
    with pytest.raises(ForeignFileError, match="incomplete network .it lacks convs.1.conv.modulation.bias"):
        gan_import.read_network(write(tmp_path / "cut.pt", buffer.getvalue()))


@pytest.mark.parametrize("name, value, message", [
    ("synthesis/4x4/Conv/weight", np.zeros((3, 3), np.float32), "not a network the converters understand|shape"),
    ("mapping/Dense0/weight", np.zeros((16, 16), np.int64), "not all finite floats"),
    ("synthesis/4x4/Conv/bias", np.full(32, np.nan, np.float32), "not all finite floats"),
    ("synthesis/8x8/Conv1/mod_weight", None, "lacks the variable synthesis/8x8/Conv1/mod_weight"),
])
def test_a_file_with_wrong_values_is_one_line(tmp_path, stylegan2_network, name, value, message):
    mapping, synthesis = tf_stylegan2_variables(stylegan2_network)
    variables = mapping if name.startswith("mapping/") else synthesis
    key = name.split("/", 1)[1]
    if value is None:
        del variables[key]
    else:
        variables[key] = value
    path = write(tmp_path / "odd.pkl", tf_pickle(stylegan2_network, variables=(mapping, synthesis)))
    with pytest.raises(ForeignFileError, match=message) as error:
        gan_import.read_network(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("change, message", [
    ({"network": {"resolution": 2048}}, "network.resolution is 2048"),
    ({"network": {"z_dim": "512"}}, "network.z_dim is '512'"),
    ({"network": {"shell": "rm -rf /"}}, "unknown: shell"),
    ({"arch": "stylegan3"}, "arch is 'stylegan3'"),
    ({"seed_compat": "torch"}, "seed_compat is 'torch'"),
    ({"network": {"channel_max": 64}}, "tensors do not match run.json"),
])
def test_a_tampered_import_record_is_one_line(tmp_path, stylegan2_network, change, message):
    import json

    from singan.errors import RunError

    directory = gan_import.import_network(files_of(tmp_path, stylegan2_network)["ada"], out=tmp_path / "runs")
    values = json.loads((directory / "run.json").read_text())
    for key, value in change.items():
        values[key] = values[key] | value if isinstance(value, dict) else value
    (directory / "run.json").write_text(json.dumps(values))
    with pytest.raises(RunError, match=message) as error:
        gan_api.load_gan_run(directory, "cpu")
    assert str(directory) in str(error.value)


def test_const_noise_of_a_network_without_stored_maps_is_one_draw_for_every_seed():
    generator = random_generator("stylegan2", 16, constant_noise=False)
    ws = generator.map(torch.randn(1, 16))
    from tasks.gan.generate import render

    first, second = render(generator, ws, 3, Draws("singan", "const")), render(generator, ws, 9, Draws("singan", "const"))
    assert torch.equal(first, second)
    assert not torch.equal(render(generator, ws, 3), render(generator, ws, 9))
