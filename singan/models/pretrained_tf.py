"""NVlabs' TensorFlow StyleGAN (v1) and StyleGAN2 (configs e and f) networks in our layout.

A TF .pkl file holds (G, D, Gs); Gs, the moving average, is the network people generate with. Its variables, as
`TFNetwork.tensors()` names them: `dlatent_avg`, `mapping/Dense{i}/weight|bias`, `synthesis/...`. TF keeps
weights as [kh, kw, in, out] (dense: [in, out]); ours are [out, in, kh, kw] ([out, in]). Both store the raw
N(0, 1) parameters of the equalized learning rate, so no gain is folded in. StyleGAN2's up-sampling conv is
flipped in both spatial axes (TF builds its transposed conv from the flipped kernel, ours takes it as
stored); its modulation bias is stored minus 1 (TF adds 1 at run time). StyleGAN v1's AdaIN style is one
dense layer of 2 C outputs, scale (plus 1 at run time) then shift; ours keeps the two apart.
"""

from __future__ import annotations

import re

import numpy as np

from singan.errors import ForeignFileError
from singan.models.pretrained_layouts import (ConvertedNetwork, as_tensor, check_complete, float_or_none, log2,
                                              resolution_of, schedule)
from singan.unpickler import TFNetwork

TF_STYLEGAN2 = "nvlabs-tf-stylegan2"
TF_STYLEGAN = "nvlabs-tf-stylegan"
# The settings of NVlabs' networks that ours reproduce (their defaults, in the networks' static kwargs); a file
# with another value is refused.
STYLEGAN_DEFAULTS = {"use_noise": True, "use_pixel_norm": False, "use_instance_norm": True, "use_styles": True,
                     "const_input_layer": True, "nonlinearity": "lrelu", "blur_filter": [1, 2, 1],
                     "mapping_nonlinearity": "lrelu", "normalize_latents": True, "use_wscale": True}
STYLEGAN2_DEFAULTS = {"architecture": "skip", "nonlinearity": "lrelu", "resample_kernel": [1, 3, 3, 1],
                      "mapping_nonlinearity": "lrelu", "normalize_latents": True, "use_noise": True}
# The first resolution whose up-sampling conv TF v1 fuses into a transposed conv under fused_scale='auto'.
FUSED_FROM = 128


def convert_tf(contents: object) -> ConvertedNetwork:
    """The Gs network of a TF .pkl file ((G, D, Gs), or one network) in our layout."""
    network = contents[-1] if isinstance(contents, (tuple, list)) else contents
    synthesis = network.components.get("synthesis")
    if not isinstance(synthesis, TFNetwork) or not isinstance(network.components.get("mapping"), TFNetwork):
        raise ForeignFileError(f"a TF network {network.name!r} without mapping and synthesis components: not a "
                               f"StyleGAN generator")
    tensors = {_scopeless(name): value for name, value in network.tensors().items()}
    function = synthesis.build_func_name or ""
    if any(name.startswith("mapping/LabelConcat") for name in tensors):
        raise ForeignFileError("a conditional network of the original TF StyleGAN2 (LabelConcat, normalised with "
                               "z); only stylegan2-ada's label embedding (LabelEmbed) can be imported")
    if "stylegan3" in function or "stylegan3" in (network.build_func_name or ""):
        raise ForeignFileError("a StyleGAN3 network: only StyleGAN and StyleGAN2 networks can be imported")
    if function != "G_synthesis_stylegan_revised":  # configs b-d: StyleMod layers, but not v1's network
        if any(name.endswith("/mod_weight") for name in tensors):
            return _stylegan2(network, tensors)
        if any(name.endswith("/StyleMod/weight") for name in tensors):
            return _stylegan(network, tensors)
    raise ForeignFileError(f"a TF StyleGAN2 network of configs a-d ({function or 'unknown synthesis'}); only "
                           f"StyleGAN v1 and StyleGAN2 configs e and f can be imported")


def _scopeless(name: str) -> str:
    """`mapping/G_mapping/Dense0/weight` (names kept with their scope) as `mapping/Dense0/weight`."""
    return re.sub(r"^(mapping|synthesis)/G_(mapping|synthesis)/", r"\1/", name)


def _get(tensors: dict, name: str, source: str) -> np.ndarray:
    if name not in tensors:
        raise ForeignFileError(f"{source}: the network lacks the variable {name}")
    return tensors[name]


def _sizes(tensors: dict, source: str) -> list[int]:
    found = {int(match.group(1)) for name in tensors if (match := re.match(r"synthesis/(\d+)x\1/", name))}
    resolution_of(sorted(found) or [4], source)
    return sorted(found)


def _mapping(tensors: dict, source: str) -> tuple[dict, int]:
    """The mapping layers, the average w, and stylegan2-ada's label embedding (TF) where there is one."""
    count = sum(1 for name in tensors if re.fullmatch(r"mapping/Dense\d+/weight", name))
    converted = {}
    if "mapping/LabelEmbed/weight" in tensors:
        converted["mapping.embed.weight"] = tensors["mapping/LabelEmbed/weight"].T
        converted["mapping.embed.bias"] = _get(tensors, "mapping/LabelEmbed/bias", source)
    for index in range(count):
        converted[f"mapping.layers.{index}.weight"] = _get(tensors, f"mapping/Dense{index}/weight", source).T
        converted[f"mapping.layers.{index}.bias"] = _get(tensors, f"mapping/Dense{index}/bias", source)
    converted["w_avg"] = _get(tensors, "dlatent_avg", source)
    return converted, count


def _conv(weight: np.ndarray, flip: bool = False) -> np.ndarray:
    """[kh, kw, in, out] -> [out, in, kh, kw], flipped in both spatial axes where asked."""
    return (weight[::-1, ::-1] if flip else weight).transpose(3, 2, 0, 1)


# ---------------------------------------------------------------------------------------------------
# StyleGAN2 (configs e and f)
# ---------------------------------------------------------------------------------------------------

def _stylegan2(network: TFNetwork, tensors: dict) -> ConvertedNetwork:
    source = TF_STYLEGAN2
    kwargs = _static_kwargs(network)
    _check_defaults(kwargs, STYLEGAN2_DEFAULTS, "TF StyleGAN2 generator")
    sizes = _sizes(tensors, source)
    converted, mapping_layers = _mapping(tensors, source)
    widths = [_get(tensors, "synthesis/4x4/Conv/bias", source).shape[0]] + [
        _get(tensors, f"synthesis/{size}x{size}/Conv0_up/bias", source).shape[0] for size in sizes[1:]]
    resolution = sizes[-1]
    w_dim = converted["w_avg"].shape[0]
    label_count = converted["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in converted else 0
    options = {"resolution": resolution,
               "image_channels": _get(tensors, "synthesis/4x4/ToRGB/bias", source).shape[0],
               "z_dim": converted["mapping.layers.0.weight"].shape[1] - (w_dim if label_count else 0), "w_dim": w_dim,
               "mapping_layers": mapping_layers, **schedule(resolution, widths, source),
               "mapping_lr_mul": float(kwargs.get("mapping_lrmul", 0.01)),
               "conv_clamp": float_or_none(kwargs.get("conv_clamp")),
               "constant_noise": True, "label_count": label_count}
    converted["input_block.constant"] = _get(tensors, "synthesis/4x4/Const/const", source)
    converted |= _stylegan2_layer(tensors, "synthesis/4x4/Conv", "input_block.conv", "synthesis/noise0")
    converted |= _stylegan2_rgb(tensors, "synthesis/4x4/ToRGB", "input_block.to_rgb")
    for index, size in enumerate(sizes[1:]):
        scope = f"synthesis/{size}x{size}"
        converted |= _stylegan2_layer(tensors, f"{scope}/Conv0_up", f"blocks.{index}.conv0",
                                      f"synthesis/noise{2 * log2(size) - 5}", flip=True)
        converted |= _stylegan2_layer(tensors, f"{scope}/Conv1", f"blocks.{index}.conv1",
                                      f"synthesis/noise{2 * log2(size) - 4}")
        converted |= _stylegan2_rgb(tensors, f"{scope}/ToRGB", f"blocks.{index}.to_rgb")
    converted = {name: as_tensor(value, name) for name, value in converted.items()}
    for name in [name for name in converted if name.endswith("noise.strength")]:
        converted[name] = converted[name].reshape(())
    check_complete(converted, options, "stylegan2", source)
    return ConvertedNetwork("stylegan2", options, converted, source)


def _stylegan2_layer(tensors: dict, scope: str, ours: str, noise: str, flip: bool = False) -> dict:
    source = TF_STYLEGAN2
    return {f"{ours}.conv.weight": _conv(_get(tensors, f"{scope}/weight", source), flip),
            f"{ours}.conv.affine.weight": _get(tensors, f"{scope}/mod_weight", source).T,
            f"{ours}.conv.affine.bias": _get(tensors, f"{scope}/mod_bias", source) + 1,
            f"{ours}.noise.strength": _get(tensors, f"{scope}/noise_strength", source),
            f"{ours}.noise.constant": _get(tensors, noise, source),
            f"{ours}.bias": _get(tensors, f"{scope}/bias", source)}


def _stylegan2_rgb(tensors: dict, scope: str, ours: str) -> dict:
    source = TF_STYLEGAN2
    return {f"{ours}.conv.weight": _conv(_get(tensors, f"{scope}/weight", source)),
            f"{ours}.conv.affine.weight": _get(tensors, f"{scope}/mod_weight", source).T,
            f"{ours}.conv.affine.bias": _get(tensors, f"{scope}/mod_bias", source) + 1,
            f"{ours}.bias": _get(tensors, f"{scope}/bias", source)}


# ---------------------------------------------------------------------------------------------------
# StyleGAN (v1)
# ---------------------------------------------------------------------------------------------------

def _stylegan(network: TFNetwork, tensors: dict) -> ConvertedNetwork:
    source = TF_STYLEGAN
    kwargs = _static_kwargs(network)
    _check_defaults(kwargs, STYLEGAN_DEFAULTS, "TF StyleGAN network")
    sizes = _sizes(tensors, source)
    resolution = sizes[-1]
    converted, mapping_layers = _mapping(tensors, source)
    widths = [_get(tensors, "synthesis/4x4/Conv/bias", source).shape[0]] + [
        _get(tensors, f"synthesis/{size}x{size}/Conv0_up/bias", source).shape[0] for size in sizes[1:]]
    options = {"resolution": resolution,
               "image_channels": _get(tensors, "synthesis/ToRGB_lod0/bias", source).shape[0],
               "z_dim": converted["mapping.layers.0.weight"].shape[1], "w_dim": converted["w_avg"].shape[0],
               "mapping_layers": mapping_layers, **schedule(resolution, widths, source),
               "mapping_lr_mul": float(kwargs.get("mapping_lrmul", 0.01)),
               "fused_from": _fused_from(kwargs.get("fused_scale", "auto")),
               "constant_noise": True}
    converted["input_block.constant"] = _get(tensors, "synthesis/4x4/Const/const", source)
    converted |= _epilogue(tensors, "synthesis/4x4/Const", "input_block.epilogue0", "synthesis/noise0")
    converted["input_block.conv.weight"] = _conv(_get(tensors, "synthesis/4x4/Conv/weight", source))
    converted |= _epilogue(tensors, "synthesis/4x4/Conv", "input_block.epilogue1", "synthesis/noise1")
    for index, size in enumerate(sizes[1:]):
        scope, layer = f"synthesis/{size}x{size}", 2 * (index + 1)
        converted[f"blocks.{index}.conv0.weight"] = _conv(_get(tensors, f"{scope}/Conv0_up/weight", source))
        converted |= _epilogue(tensors, f"{scope}/Conv0_up", f"blocks.{index}.epilogue0", f"synthesis/noise{layer}")
        converted[f"blocks.{index}.conv1.weight"] = _conv(_get(tensors, f"{scope}/Conv1/weight", source))
        converted |= _epilogue(tensors, f"{scope}/Conv1", f"blocks.{index}.epilogue1", f"synthesis/noise{layer + 1}")
    for index, size in enumerate(sizes):
        lod = log2(resolution) - log2(size)
        converted[f"to_rgb.{index}.weight"] = _conv(_get(tensors, f"synthesis/ToRGB_lod{lod}/weight", source))
        converted[f"to_rgb.{index}.bias"] = _get(tensors, f"synthesis/ToRGB_lod{lod}/bias", source)
    converted = {name: as_tensor(value, name) for name, value in converted.items()}
    check_complete(converted, options, "stylegan", source)
    return ConvertedNetwork("stylegan", options, converted, source,
                            ["StyleGAN v1's scripts draw with truncation 0.7 on the first 8 styles: give --trunc 0.7"])


def _static_kwargs(network: TFNetwork) -> dict:
    """The settings the network and its components were built with (their keyword names do not clash)."""
    return {**network.static_kwargs, **network.components["mapping"].static_kwargs,
            **network.components["synthesis"].static_kwargs}


def _check_defaults(kwargs: dict, defaults: dict, what: str) -> None:
    for name, default in defaults.items():
        if name in kwargs and _plain(kwargs[name]) != default:
            raise ForeignFileError(f"a {what} with {name}={kwargs[name]!r}; only the official setting "
                                   f"({default!r}) can be imported")


def _plain(value: object) -> object:
    return [float(item) if isinstance(item, float) else item for item in value] if isinstance(value, (list, tuple)) \
        else value


def _fused_from(fused_scale: object) -> int | None:
    if fused_scale == "auto":
        return FUSED_FROM
    if fused_scale is True:
        return 8
    if fused_scale is False:
        return None
    raise ForeignFileError(f"a TF StyleGAN network with fused_scale={fused_scale!r} (expected auto, True or False)")


def _epilogue(tensors: dict, scope: str, ours: str, noise: str) -> dict:
    """Noise strength per channel, bias, and the AdaIN style split into its scale and shift."""
    source = TF_STYLEGAN
    style_weight = _get(tensors, f"{scope}/StyleMod/weight", source)  # [w_dim, 2 C]
    style_bias = _get(tensors, f"{scope}/StyleMod/bias", source)
    channels = style_weight.shape[1] // 2
    return {f"{ours}.noise.strength": _get(tensors, f"{scope}/Noise/weight", source),
            f"{ours}.noise.constant": _get(tensors, noise, source),
            f"{ours}.bias": _get(tensors, f"{scope}/bias", source),
            f"{ours}.style.scale.weight": style_weight[:, :channels].T,
            f"{ours}.style.scale.bias": style_bias[:channels] + 1,
            f"{ours}.style.shift.weight": style_weight[:, channels:].T,
            f"{ours}.style.shift.bias": style_bias[channels:]}
