"""Test helpers: files in the published formats (NVlabs TF pickles, stylegan2-ada-pytorch pickles, rosinality
`.pt` files), written from one of our own generators with random weights, so that a test knows every tensor
an import must give back. The TF and ADA writers stand in the classes those projects pickle (modules named
`dnnlib.tflib.network` and `torch_utils.persistence`), registered in sys.modules only while writing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import pickle
import sys
import types

import numpy as np
import torch
from torch import nn

from singan.models import stylegan, stylegan2
from singan.nn.layers import fir_kernel

# Source text the real files carry and the real loaders execute; ours must never run it.
HOSTILE_SOURCE = "import os\nos.system('touch PWNED')\n"


def random_generator(arch: str = "stylegan2", resolution: int = 16, seed: int = 0, **options) -> nn.Module:
    """A small generator of the published kind (stored noise), every parameter random, so that each matters."""
    torch.manual_seed(seed)
    sizes = {"resolution": resolution, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 16 * resolution,
             "channel_max": 32, "constant_noise": True}
    generator = (stylegan2.Generator if arch == "stylegan2" else stylegan.Generator)(**(sizes | options))
    with torch.no_grad():
        for parameter in list(generator.parameters()) + [generator.w_avg]:
            # Multiples of 2**-10: TF's "bias minus 1" then plus 1 gives them back bit for bit.
            drawn = torch.randn_like(parameter) * 0.5 + (0.3 if parameter.ndim == 0 else 0)
            parameter.copy_(torch.round(drawn * 1024) / 1024)
        for layer in generator.mapping.layers:  # stored as the papers initialise them: N(0, 1) / lr_mul
            layer.weight.mul_(round(1 / layer.lr_mul))
    return generator.eval().requires_grad_(False)


def options_of(generator: nn.Module) -> dict:
    return {"resolution": generator.resolution, "image_channels": generator.image_channels,
            "z_dim": generator.z_dim, "w_dim": generator.w_dim}


def numpy_state(generator: nn.Module) -> dict[str, np.ndarray]:
    return {name: value.detach().numpy().copy() for name, value in generator.state_dict().items()}


def resolutions(generator: nn.Module) -> list[int]:
    return [4 * 2**index for index in range(len(generator.blocks) + 1)]


def _tf_conv(weight: np.ndarray, flip: bool = False) -> np.ndarray:
    converted = weight.transpose(2, 3, 1, 0)  # [out, in, kh, kw] -> [kh, kw, in, out]
    return np.ascontiguousarray(converted[::-1, ::-1] if flip else converted)


# ---------------------------------------------------------------------------------------------------
# NVlabs TF pickles
# ---------------------------------------------------------------------------------------------------

class FakeTFNetwork:
    """Pickles as dnnlib.tflib.network.Network does: its class and a state dict."""

    def __init__(self, state: dict):
        self.state = state

    def __getstate__(self):
        return self.state


@contextlib.contextmanager
def fake_modules(**classes):
    """Modules (dotted name -> {attribute: object}) in sys.modules for as long as pickling needs them."""
    added = []
    try:
        for dotted, attributes in classes.items():
            parts = dotted.split(".")
            for index in range(1, len(parts) + 1):
                name = ".".join(parts[:index])
                if name not in sys.modules:
                    sys.modules[name] = types.ModuleType(name)
                    added.append(name)
            for attribute, value in attributes.items():
                setattr(sys.modules[dotted], attribute, value)
                value.__module__ = dotted
                value.__qualname__ = attribute
        yield
    finally:
        for name in reversed(added):
            del sys.modules[name]


def _network(name: str, function: str, variables: dict, components: dict | None = None,
             static_kwargs: dict | None = None) -> FakeTFNetwork:
    return FakeTFNetwork({"version": 4, "name": name, "static_kwargs": static_kwargs or {},
                          "components": components or {}, "build_module_src": HOSTILE_SOURCE,
                          "build_func_name": function, "variables": list(variables.items())})


def tf_mapping_variables(state: dict, generator: nn.Module) -> dict:
    """The mapping's TF variables, Dense{i}/weight [in, out] and bias, of both TF generations."""
    mapping = {}
    for index in range(len(generator.mapping.layers)):
        mapping[f"Dense{index}/weight"] = state[f"mapping.layers.{index}.weight"].T.copy()
        mapping[f"Dense{index}/bias"] = state[f"mapping.layers.{index}.bias"]
    return mapping


def tf_stylegan2_variables(generator: nn.Module) -> tuple[dict, dict]:
    """(mapping variables, synthesis variables) of TF StyleGAN2 for our generator."""
    state = numpy_state(generator)
    mapping = tf_mapping_variables(state, generator)
    synthesis = {"4x4/Const/const": state["input_block.constant"]}

    def layer(ours: str, scope: str, flip: bool = False) -> None:
        synthesis[f"{scope}/weight"] = _tf_conv(state[f"{ours}.conv.weight"], flip)
        synthesis[f"{scope}/mod_weight"] = state[f"{ours}.conv.affine.weight"].T.copy()
        synthesis[f"{scope}/mod_bias"] = state[f"{ours}.conv.affine.bias"] - 1
        if f"{ours}.noise.strength" in state:
            # TF's session gives a scalar variable as a numpy scalar, which the pickle keeps.
            synthesis[f"{scope}/noise_strength"] = np.float32(state[f"{ours}.noise.strength"])
        synthesis[f"{scope}/bias"] = state[f"{ours}.bias"]

    layer("input_block.conv", "4x4/Conv")
    layer("input_block.to_rgb", "4x4/ToRGB")
    noises = [state["input_block.conv.noise.constant"]]
    for index, size in enumerate(resolutions(generator)[1:]):
        layer(f"blocks.{index}.conv0", f"{size}x{size}/Conv0_up", flip=True)
        layer(f"blocks.{index}.conv1", f"{size}x{size}/Conv1")
        layer(f"blocks.{index}.to_rgb", f"{size}x{size}/ToRGB")
        noises += [state[f"blocks.{index}.conv0.noise.constant"], state[f"blocks.{index}.conv1.noise.constant"]]
    # TF creates the noise variables first.
    synthesis = {f"noise{index}": noise for index, noise in enumerate(noises)} | synthesis
    return mapping, synthesis


def tf_stylegan_variables(generator: nn.Module) -> tuple[dict, dict]:
    """(mapping variables, synthesis variables) of TF StyleGAN v1 for our generator."""
    state = numpy_state(generator)
    mapping = tf_mapping_variables(state, generator)
    synthesis, noises = {"lod": np.float32(0.0), "4x4/Const/const": state["input_block.constant"]}, []

    def epilogue(ours: str, scope: str) -> None:
        synthesis[f"{scope}/Noise/weight"] = state[f"{ours}.noise.strength"]
        synthesis[f"{scope}/bias"] = state[f"{ours}.bias"]
        synthesis[f"{scope}/StyleMod/weight"] = np.concatenate(
            [state[f"{ours}.style.scale.weight"].T, state[f"{ours}.style.shift.weight"].T], axis=1)
        synthesis[f"{scope}/StyleMod/bias"] = np.concatenate(
            [state[f"{ours}.style.scale.bias"] - 1, state[f"{ours}.style.shift.bias"]])
        noises.append(state[f"{ours}.noise.constant"])

    epilogue("input_block.epilogue0", "4x4/Const")
    synthesis["4x4/Conv/weight"] = _tf_conv(state["input_block.conv.weight"])
    epilogue("input_block.epilogue1", "4x4/Conv")
    sizes = resolutions(generator)
    for index, size in enumerate(sizes[1:]):
        synthesis[f"{size}x{size}/Conv0_up/weight"] = _tf_conv(state[f"blocks.{index}.conv0.weight"])
        epilogue(f"blocks.{index}.epilogue0", f"{size}x{size}/Conv0_up")
        synthesis[f"{size}x{size}/Conv1/weight"] = _tf_conv(state[f"blocks.{index}.conv1.weight"])
        epilogue(f"blocks.{index}.epilogue1", f"{size}x{size}/Conv1")
    for index, size in enumerate(sizes):
        lod = len(sizes) - 1 - index
        synthesis[f"ToRGB_lod{lod}/weight"] = _tf_conv(state[f"to_rgb.{index}.weight"])
        synthesis[f"ToRGB_lod{lod}/bias"] = state[f"to_rgb.{index}.bias"]
    synthesis = {f"noise{index}": noise for index, noise in enumerate(noises)} | synthesis
    return mapping, synthesis


def tf_pickle(generator: nn.Module, *, function: str | None = None, synthesis_kwargs: dict | None = None,
              variables: tuple[dict, dict] | None = None) -> bytes:
    """A TF pickle (G, D, Gs) of the generator (StyleGAN v1 or v2, from its kind), D a stub network."""
    v2 = isinstance(generator, stylegan2.Generator)
    mapping, synthesis = variables or (tf_stylegan2_variables(generator) if v2 else tf_stylegan_variables(generator))
    function = function or ("G_synthesis_stylegan2" if v2 else "G_synthesis")
    kwargs = {"resolution": generator.resolution, "fmap_base": 8 << 10, "num_channels": generator.image_channels}
    if not v2:
        kwargs |= {"fused_scale": "auto", "blur_filter": [1, 2, 1], "structure": "auto"}
    kwargs |= synthesis_kwargs or {}

    def gs(name: str) -> FakeTFNetwork:
        components = {"mapping": _network("G_mapping", "G_mapping", mapping),
                      "synthesis": _network("G_synthesis", function, synthesis, static_kwargs=kwargs)}
        own = {"dlatent_avg": generator.w_avg.numpy().copy()}
        return _network(name, "G_main" if v2 else "G_style", own, components)

    discriminator = _network("D", "D_stylegan2", {"Output/weight": np.zeros((4, 1), np.float32)})
    with fake_modules(**{"dnnlib.tflib.network": {"Network": FakeTFNetwork}}):
        return pickle.dumps((gs("G"), discriminator, gs("Gs")), protocol=3)


# ---------------------------------------------------------------------------------------------------
# stylegan2-ada-pytorch pickles
# ---------------------------------------------------------------------------------------------------

def _reconstruct_persistent_obj(meta):  # the name the real files call; never called here
    raise AssertionError("the loader must not call into the file's classes")


class FakePersistent(nn.Module):
    """A module that pickles as stylegan2-ada-pytorch's persistent classes: the reconstruct function and a meta
    dict with the module's source text, class name and __dict__ (with the real torch module internals)."""

    def __init__(self, class_name: str, parameters: dict | None = None, buffers: dict | None = None,
                 children: dict | None = None, **attributes):
        super().__init__()
        self.class_name_of_source = class_name
        for name, value in (parameters or {}).items():
            self.register_parameter(name, nn.Parameter(torch.as_tensor(value).clone()))
        for name, value in (buffers or {}).items():
            self.register_buffer(name, torch.as_tensor(value).clone())
        for name, child in (children or {}).items():
            self.add_module(name, child)
        for name, value in attributes.items():
            setattr(self, name, value)

    def __reduce__(self):
        state = dict(self.__dict__)
        meta = {"type": "class", "version": 6, "module_src": HOSTILE_SOURCE, "class_name": state.pop(
            "class_name_of_source"), "state": state}
        return _reconstruct_persistent_obj, (meta,)


def _ada_fc(weight, bias, lr_multiplier: float = 1.0) -> FakePersistent:
    return FakePersistent("FullyConnectedLayer", {"weight": weight, "bias": bias},
                          in_features=weight.shape[1], out_features=weight.shape[0], activation="linear",
                          weight_gain=np.float64(lr_multiplier / np.sqrt(weight.shape[1])), bias_gain=lr_multiplier)


def ada_generator(generator: nn.Module, conv_clamp: float | None = None,
                  architecture: str = "skip", class_name: str = "Generator") -> FakePersistent:
    """A stylegan2-ada-pytorch Generator module tree with our StyleGAN2 generator's weights."""
    state = generator.state_dict()
    fir = fir_kernel((1, 3, 3, 1))

    def layer(ours: str, up: int, resolution: int) -> FakePersistent:
        return FakePersistent(
            "SynthesisLayer",
            {"weight": state[f"{ours}.conv.weight"], "bias": state[f"{ours}.bias"],
             "noise_strength": state[f"{ours}.noise.strength"].reshape([])},
            {"resample_filter": fir, "noise_const": state[f"{ours}.noise.constant"][0, 0]},
            {"affine": _ada_fc(state[f"{ours}.conv.affine.weight"], state[f"{ours}.conv.affine.bias"])},
            up=up, resolution=resolution, conv_clamp=conv_clamp, activation="lrelu", padding=1)

    def rgb(ours: str) -> FakePersistent:
        return FakePersistent(
            "ToRGBLayer", {"weight": state[f"{ours}.conv.weight"], "bias": state[f"{ours}.bias"]},
            None, {"affine": _ada_fc(state[f"{ours}.conv.affine.weight"], state[f"{ours}.conv.affine.bias"])},
            conv_clamp=conv_clamp)

    blocks = {"b4": FakePersistent("SynthesisBlock", {"const": state["input_block.constant"][0]},
                                   {"resample_filter": fir}, {"conv1": layer("input_block.conv", 1, 4),
                                                              "torgb": rgb("input_block.to_rgb")},
                                   resolution=4, architecture=architecture)}
    for index, size in enumerate(resolutions(generator)[1:]):
        blocks[f"b{size}"] = FakePersistent(
            "SynthesisBlock", None, {"resample_filter": fir},
            {"conv0": layer(f"blocks.{index}.conv0", 2, size), "conv1": layer(f"blocks.{index}.conv1", 1, size),
             "torgb": rgb(f"blocks.{index}.to_rgb")}, resolution=size, architecture=architecture)
    fcs = {f"fc{index}": _ada_fc(state[f"mapping.layers.{index}.weight"], state[f"mapping.layers.{index}.bias"], 0.01)
           for index in range(len(generator.mapping.layers))}
    if generator.label_count:
        fcs = {"embed": _ada_fc(state["mapping.embed.weight"], state["mapping.embed.bias"])} | fcs
    mapping = FakePersistent("MappingNetwork", None, {"w_avg": state["w_avg"]}, fcs,
                             num_ws=generator.num_ws, w_avg_beta=0.995)
    synthesis = FakePersistent("SynthesisNetwork", None, None, blocks,
                               block_resolutions=resolutions(generator), num_ws=generator.num_ws)
    init_kwargs = {"z_dim": generator.z_dim, "c_dim": generator.label_count, "w_dim": generator.w_dim,
                   "img_resolution": generator.resolution, "img_channels": generator.image_channels,
                   "mapping_kwargs": {}, "synthesis_kwargs": {"channel_base": 32768, "channel_max": 512,
                                                              "num_fp16_res": 4, "conv_clamp": conv_clamp,
                                                              "architecture": architecture}}
    return FakePersistent(class_name, None, None, {"synthesis": synthesis, "mapping": mapping},
                          _init_args=(), _init_kwargs=init_kwargs, z_dim=generator.z_dim, c_dim=generator.label_count)


def ada_pickle(generator: nn.Module, **options) -> bytes:
    network = ada_generator(generator, **options)
    contents = {"G": network, "D": FakePersistent("Discriminator"), "G_ema": network,
                "augment_pipe": None, "training_set_kwargs": {"resolution": generator.resolution}}
    with fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj}}):
        return pickle.dumps(contents, protocol=4)


# ---------------------------------------------------------------------------------------------------
# rosinality's stylegan2-pytorch
# ---------------------------------------------------------------------------------------------------

def rosinality_state(generator: nn.Module) -> dict[str, torch.Tensor]:
    """rosinality's g_ema state dict of our StyleGAN2 generator."""
    state = generator.state_dict()
    converted = {}
    for index in range(len(generator.mapping.layers)):
        converted[f"style.{index + 1}.weight"] = state[f"mapping.layers.{index}.weight"]
        converted[f"style.{index + 1}.bias"] = state[f"mapping.layers.{index}.bias"]
    converted["input.input"] = state["input_block.constant"]

    def layer(ours: str, theirs: str) -> None:
        converted[f"{theirs}.conv.weight"] = state[f"{ours}.conv.weight"][None]
        converted[f"{theirs}.conv.modulation.weight"] = state[f"{ours}.conv.affine.weight"]
        converted[f"{theirs}.conv.modulation.bias"] = state[f"{ours}.conv.affine.bias"]
        converted[f"{theirs}.conv.blur.kernel"] = fir_kernel((1, 3, 3, 1)) * 4
        converted[f"{theirs}.noise.weight"] = state[f"{ours}.noise.strength"].reshape(1)
        converted[f"{theirs}.activate.bias"] = state[f"{ours}.bias"]

    def rgb(ours: str, theirs: str) -> None:
        converted[f"{theirs}.conv.weight"] = state[f"{ours}.conv.weight"][None]
        converted[f"{theirs}.conv.modulation.weight"] = state[f"{ours}.conv.affine.weight"]
        converted[f"{theirs}.conv.modulation.bias"] = state[f"{ours}.conv.affine.bias"]
        converted[f"{theirs}.bias"] = state[f"{ours}.bias"].reshape(1, -1, 1, 1)

    layer("input_block.conv", "conv1")
    rgb("input_block.to_rgb", "to_rgb1")
    converted["noises.noise_0"] = state["input_block.conv.noise.constant"]
    for index in range(len(generator.blocks)):
        layer(f"blocks.{index}.conv0", f"convs.{2 * index}")
        layer(f"blocks.{index}.conv1", f"convs.{2 * index + 1}")
        rgb(f"blocks.{index}.to_rgb", f"to_rgbs.{index}")
        converted[f"noises.noise_{2 * index + 1}"] = state[f"blocks.{index}.conv0.noise.constant"]
        converted[f"noises.noise_{2 * index + 2}"] = state[f"blocks.{index}.conv1.noise.constant"]
    return converted


def rosinality_file(generator: nn.Module, checkpoint: bool = False) -> bytes:
    """A converted file {g_ema, latent_avg}, or a training checkpoint (g, d, g_ema, optimisers, args)."""
    state = rosinality_state(generator)
    if checkpoint:
        arguments = argparse.Namespace(size=generator.resolution, latent=generator.w_dim, n_mlp=2,
                                       channel_multiplier=2, iter=800000)
        contents = {"g": state, "d": {"convs.0.0.weight": torch.zeros(1)}, "g_ema": state,
                    "g_optim": {"state": {}, "param_groups": [{"lr": 0.002, "params": [0, 1]}]},
                    "d_optim": {"state": {}, "param_groups": []}, "args": arguments, "ada_aug_p": 0.0}
    else:
        contents = {"g_ema": state, "latent_avg": generator.w_avg.clone()}
    buffer = io.BytesIO()
    torch.save(contents, buffer)
    return buffer.getvalue()
