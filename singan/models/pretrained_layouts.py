"""Published StyleGAN2 networks of the PyTorch projects in our layout (stylegan2-ada-pytorch .pkl files,
unconditional and conditional; rosinality's stylegan2-pytorch `.pt` files, training checkpoints and converted
`g_ema` + `latent_avg` files), and what every converter shares (`ConvertedNetwork`, shape checks, the channel
schedule). NVlabs' TF .pkl files are `pretrained_tf.py`; `pretrained.py` tells the formats apart.

Each converter reads the sizes from the tensors' shapes, refuses what our networks cannot reproduce exactly
with one line saying what it is, and returns the architecture, the generator's constructor options (recorded
in run.json) and the tensors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from singan.errors import ForeignFileError
from singan.models import stylegan, stylegan2
from singan.models.resolutions import block_widths
from singan.nn.layers import fir_kernel
from singan.unpickler import PersistentObject

GENERATORS = {"stylegan": stylegan.Generator, "stylegan2": stylegan2.Generator}
# Latents drawn to estimate the average w of a network whose file does not store it (rosinality's own
# `mean_latent` uses as many).
MEAN_LATENT_SAMPLES = 4096


@dataclass
class ConvertedNetwork:
    arch: str  # "stylegan" or "stylegan2"
    options: dict  # the generator's constructor arguments
    tensors: dict[str, torch.Tensor]  # its state dict
    source_format: str
    notes: list[str] = field(default_factory=list)

    def build(self) -> nn.Module:
        """The generator with these weights, in eval mode without gradients."""
        # Built on the CPU (its FIR kernels are buffers outside the state dict), then given the tensors themselves.
        generator = GENERATORS[self.arch](**self.options)
        generator.load_state_dict(self.tensors, assign=True)
        return generator.requires_grad_(False).eval()


# ---------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------

class Named(dict):
    """A file's name -> tensor map whose missing entry is a ForeignFileError naming it."""

    def __init__(self, values: dict, source: str):
        super().__init__(values)
        self.source = source

    def __missing__(self, name: str):
        raise ForeignFileError(f"{self.source}: incomplete network (it lacks {name})")


def as_tensor(value: object, name: str) -> torch.Tensor:
    """A float32 copy of a numpy array or tensor of the file."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise ForeignFileError(f"{name} is a {type(value).__name__}, not an array")
    if not (value.is_floating_point() and torch.isfinite(value).all()):
        raise ForeignFileError(f"{name} holds {value.dtype} values that are not all finite floats")
    return value.detach().to(torch.float32).clone()


def schedule(resolution: int, widths: list[int], source: str) -> dict:
    """channel_base and channel_max that give these widths (coarsest first), as the official schedules do:
    min(channel_base / r, channel_max)."""
    channel_max = max(widths)
    channel_base = widths[-1] * resolution if widths[-1] < channel_max else channel_max * resolution
    if block_widths(resolution, channel_base, channel_max) != widths:
        raise ForeignFileError(f"{source}: its channels {widths} from 4 px up do not follow the official "
                               f"schedule min(base / resolution, max), which our networks build")
    return {"channel_base": channel_base, "channel_max": channel_max}


def resolution_of(sizes: list[int], source: str) -> int:
    resolution = max(sizes)
    if resolution < 8 or resolution & (resolution - 1) or sorted(sizes) != [4 * 2**i for i in range(len(sizes))]:
        raise ForeignFileError(f"{source}: its blocks {sorted(sizes)} are not square powers of two from 4 px up")
    return resolution


def check_complete(found: dict[str, torch.Tensor], options: dict, arch: str, source: str) -> None:
    """Every tensor our generator has, with its shape, and nothing else."""
    with torch.device("meta"):
        expected = GENERATORS[arch](**options).state_dict()
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ForeignFileError(f"{source}: incomplete network, {len(missing)} tensor(s) missing ({missing[0]} ...)")
    for name, value in expected.items():
        if tuple(found[name].shape) != tuple(value.shape):
            raise ForeignFileError(f"{source}: {name} has shape {list(found[name].shape)}, the network built from "
                                   f"its sizes needs {list(value.shape)}")


def estimated_w_avg(converted: ConvertedNetwork) -> torch.Tensor:
    """The average w of the network's mapping over MEAN_LATENT_SAMPLES latents of a fixed seed."""
    generator = converted.build()
    z = torch.randn(MEAN_LATENT_SAMPLES, generator.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return generator.mapping(z).mean(0)


# ---------------------------------------------------------------------------------------------------
# stylegan2-ada-pytorch
# ---------------------------------------------------------------------------------------------------

ADA = "stylegan2-ada-pytorch"


def convert_ada(network: PersistentObject) -> ConvertedNetwork:
    """A stylegan2-ada-pytorch generator (its .pkl files' G_ema) in our StyleGAN2 layout. The files name the class
    bare ("Generator", persistence keeps `__name__`) and its module's source as text; StyleGAN3's generator
    (stylegan3's .pkl files) has the same name and is told apart by its synthesis network."""
    class_name = str(network.class_name)
    if class_name.rsplit(".", 1)[-1] != "Generator":
        raise ForeignFileError(f"holds a {class_name}, not a StyleGAN2 generator of {ADA}")
    synthesis = network.children().get("synthesis")
    blocks = synthesis.children() if isinstance(synthesis, PersistentObject) else {}
    if "stylegan3" in class_name or ("input" in blocks and "b4" not in blocks):
        raise ForeignFileError("holds a StyleGAN3 network; only StyleGAN and StyleGAN2 networks can be imported")
    kwargs = network.init_kwargs
    synthesis_kwargs, mapping_kwargs = dict(kwargs.get("synthesis_kwargs") or {}), dict(kwargs.get("mapping_kwargs") or {})
    _check_ada_kwargs(synthesis_kwargs, mapping_kwargs, kwargs)
    state = Named(network.state_dict(), ADA)
    blocks = sorted(int(name.split(".")[1][1:]) for name in state if name.startswith("synthesis.b")
                    and name.endswith(".torgb.bias"))
    resolution = resolution_of(blocks, ADA)
    widths = [state["synthesis.b4.const"].shape[0]] + [state[f"synthesis.b{size}.conv0.bias"].shape[0]
                                                      for size in blocks[1:]]
    _check_filters(state)
    mapping_layers = sum(1 for name in state if re.fullmatch(r"mapping\.fc\d+\.weight", name))
    label_count = int(kwargs.get("c_dim") or 0)
    options = {"resolution": resolution, "image_channels": state["synthesis.b4.torgb.bias"].shape[0],
               "z_dim": state["mapping.fc0.weight"].shape[1] - (state["mapping.w_avg"].shape[0] if label_count else 0),
               "w_dim": state["mapping.w_avg"].shape[0], "mapping_layers": mapping_layers,
               **schedule(resolution, widths, ADA), "mapping_lr_mul": float(mapping_kwargs.get("lr_multiplier", 0.01)),
               "conv_clamp": float_or_none(synthesis_kwargs.get("conv_clamp")), "constant_noise": True,
               "label_count": label_count}
    tensors = {"w_avg": state["mapping.w_avg"]}
    for index in range(mapping_layers):
        for kind in ("weight", "bias"):
            tensors[f"mapping.layers.{index}.{kind}"] = state[f"mapping.fc{index}.{kind}"]
    if label_count:
        tensors |= {f"mapping.embed.{kind}": state[f"mapping.embed.{kind}"] for kind in ("weight", "bias")}
    tensors["input_block.constant"] = state["synthesis.b4.const"][None]
    tensors |= _ada_layer(state, "synthesis.b4.conv1", "input_block.conv")
    tensors |= _ada_rgb(state, "synthesis.b4.torgb", "input_block.to_rgb")
    for index, size in enumerate(blocks[1:]):
        for theirs, ours in (("conv0", "conv0"), ("conv1", "conv1")):
            tensors |= _ada_layer(state, f"synthesis.b{size}.{theirs}", f"blocks.{index}.{ours}")
        tensors |= _ada_rgb(state, f"synthesis.b{size}.torgb", f"blocks.{index}.to_rgb")
    tensors = {name: as_tensor(value, name) for name, value in tensors.items()}
    check_complete(tensors, options, "stylegan2", ADA)
    notes = ["computed in float32 (the original runs its finest layers in float16 on CUDA)"] \
        if synthesis_kwargs.get("num_fp16_res") else []
    return ConvertedNetwork("stylegan2", options, tensors, ADA, notes)


def float_or_none(value: object) -> float | None:
    return None if value is None else float(value)


def _check_ada_kwargs(synthesis: dict, mapping: dict, kwargs: dict) -> None:
    architecture = synthesis.get("architecture", "skip")
    if architecture != "skip":
        raise ForeignFileError(f"a {ADA} generator of architecture {architecture!r}; only the official 'skip' "
                               f"generator can be imported")
    for name in ("embed_features", "layer_features"):
        if mapping.get(name) not in (None, kwargs.get("w_dim")):
            raise ForeignFileError(f"a {ADA} mapping with {name}={mapping[name]} (other than w_dim) cannot be "
                                   f"imported")
    if mapping.get("activation", "lrelu") != "lrelu":
        raise ForeignFileError(f"a {ADA} mapping with activation {mapping['activation']!r} cannot be imported")


def _check_filters(state: dict) -> None:
    expected = fir_kernel((1, 3, 3, 1))
    for name, value in state.items():
        if name.endswith("resample_filter") and not torch.allclose(torch.as_tensor(value).float(), expected):
            raise ForeignFileError(f"{ADA}: {name} is not the [1, 3, 3, 1] filter our networks use")


def _ada_layer(state: dict, theirs: str, ours: str) -> dict:
    return {f"{ours}.conv.weight": state[f"{theirs}.weight"],
            f"{ours}.conv.affine.weight": state[f"{theirs}.affine.weight"],
            f"{ours}.conv.affine.bias": state[f"{theirs}.affine.bias"],
            f"{ours}.noise.strength": state[f"{theirs}.noise_strength"].reshape(()),
            f"{ours}.noise.constant": state[f"{theirs}.noise_const"][None, None],
            f"{ours}.bias": state[f"{theirs}.bias"]}


def _ada_rgb(state: dict, theirs: str, ours: str) -> dict:
    return {f"{ours}.conv.weight": state[f"{theirs}.weight"],
            f"{ours}.conv.affine.weight": state[f"{theirs}.affine.weight"],
            f"{ours}.conv.affine.bias": state[f"{theirs}.affine.bias"],
            f"{ours}.bias": state[f"{theirs}.bias"]}


# ---------------------------------------------------------------------------------------------------
# rosinality's stylegan2-pytorch
# ---------------------------------------------------------------------------------------------------

ROSINALITY = "rosinality-stylegan2-pytorch"
# The mapping's learning-rate multiplier, which rosinality's files do not store (its `lr_mlp`): its default,
# and the one of every published file, is StyleGAN2's 0.01.
ROSINALITY_LR_MUL = 0.01


def convert_rosinality(state: dict, latent_avg: object | None) -> ConvertedNetwork:
    """A rosinality generator state dict (g_ema), and its latent_avg where the file has one."""
    state = Named(state, ROSINALITY)
    rgb_count = sum(1 for name in state if re.fullmatch(r"to_rgbs\.\d+\.bias", str(name)))
    resolution = 4 * 2**rgb_count
    widths = [state["input.input"].shape[1]] + [state[f"convs.{2 * index}.activate.bias"].shape[0]
                                                for index in range(rgb_count)]
    mapping_layers = sum(1 for name in state if re.fullmatch(r"style\.\d+\.weight", str(name)))
    options = {"resolution": resolution_of([4 * 2**i for i in range(rgb_count + 1)], ROSINALITY),
               "image_channels": state["to_rgb1.bias"].shape[1], "z_dim": state["style.1.weight"].shape[1],
               "w_dim": state["style.1.weight"].shape[0], "mapping_layers": mapping_layers,
               **schedule(resolution, widths, ROSINALITY), "mapping_lr_mul": ROSINALITY_LR_MUL,
               "conv_clamp": None,
               "constant_noise": True, "label_count": 0}
    tensors = {}
    for index in range(mapping_layers):
        tensors[f"mapping.layers.{index}.weight"] = state[f"style.{index + 1}.weight"]
        tensors[f"mapping.layers.{index}.bias"] = state[f"style.{index + 1}.bias"]
    tensors["input_block.constant"] = state["input.input"]
    tensors |= _rosinality_layer(state, "conv1", "input_block.conv", "noises.noise_0")
    tensors |= _rosinality_rgb(state, "to_rgb1", "input_block.to_rgb")
    for index in range(rgb_count):
        tensors |= _rosinality_layer(state, f"convs.{2 * index}", f"blocks.{index}.conv0",
                                     f"noises.noise_{2 * index + 1}")
        tensors |= _rosinality_layer(state, f"convs.{2 * index + 1}", f"blocks.{index}.conv1",
                                     f"noises.noise_{2 * index + 2}")
        tensors |= _rosinality_rgb(state, f"to_rgbs.{index}", f"blocks.{index}.to_rgb")
    tensors = {name: as_tensor(value, name) for name, value in tensors.items()}
    notes = []
    converted = ConvertedNetwork("stylegan2", options, tensors, ROSINALITY, notes)
    if latent_avg is None:
        tensors["w_avg"] = torch.zeros(options["w_dim"])
        check_complete(tensors, options, "stylegan2", ROSINALITY)
        tensors["w_avg"] = estimated_w_avg(converted)
        notes.append(f"the file stores no latent_avg: the average w is the mean of {MEAN_LATENT_SAMPLES} mapped "
                     f"latents (seed 0), as rosinality's mean_latent")
    else:
        tensors["w_avg"] = as_tensor(latent_avg, "latent_avg").reshape(-1)
        check_complete(tensors, options, "stylegan2", ROSINALITY)
    return converted


def _rosinality_layer(state: dict, theirs: str, ours: str, noise: str) -> dict:
    layer = {f"{ours}.conv.weight": state[f"{theirs}.conv.weight"][0],
             f"{ours}.conv.affine.weight": state[f"{theirs}.conv.modulation.weight"],
             f"{ours}.conv.affine.bias": state[f"{theirs}.conv.modulation.bias"],
             f"{ours}.noise.strength": state[f"{theirs}.noise.weight"].reshape(()),
             f"{ours}.bias": state[f"{theirs}.activate.bias"], f"{ours}.noise.constant": state[noise]}
    return layer


def _rosinality_rgb(state: dict, theirs: str, ours: str) -> dict:
    return {f"{ours}.conv.weight": state[f"{theirs}.conv.weight"][0],
            f"{ours}.conv.affine.weight": state[f"{theirs}.conv.modulation.weight"],
            f"{ours}.conv.affine.bias": state[f"{theirs}.conv.modulation.bias"],
            f"{ours}.bias": state[f"{theirs}.bias"].reshape(-1)}


def log2(value: int) -> int:
    return round(math.log2(value))
