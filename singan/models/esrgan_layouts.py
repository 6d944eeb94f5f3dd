"""The published ESRGAN-family weight files in every layout, read as our networks' state dicts.

Layouts (detected from the keys: the old-to-new converter of the original overwrote files in place, so a
file's name says nothing):
- `old-esrgan`: `model.0`, `model.1.sub.i.RDBk.convm.0`, `model.1.sub.<blocks>`, `model.3`, `model.6`,
  `model.8`, `model.10` (the original RRDB_ESRGAN_x4.pth);
- `esrgan`: `conv_first`, `RRDB_trunk.i.RDBk.convm`, `trunk_conv`, `upconv1/2`, `HRconv`, `conv_last`;
- `basicsr`: `conv_first`, `body.i.rdbk.convm`, `conv_body`, `conv_up1/2`, `conv_hr`, `conv_last` (ours);
- `srvgg`: `body.N`, convs at even N and PReLU weights at odd N.
Wrappers (`params_ema`, preferred, then `params`, `state_dict`, `model`, `net`) and key prefixes
(`module.`, `netG.`) are removed first. Everything here is tensors in, tensors out: reading a file is
`singan.tensorfile`'s job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from singan.models.esrgan import UNSHUFFLE, MSRResNet, RRDBNet, SRResNet, SRVGGNetCompact

# The generators, one entry each: how to build one from its sizes (scale, channels, features, blocks,
# growth). srresnet and msrresnet have no published layout read here: they are trained here.
GENERATORS = {
    "rrdb": lambda scale, channels, features, blocks, growth: RRDBNet(scale, channels, features, blocks, growth),
    "srvgg": lambda scale, channels, features, blocks, growth: SRVGGNetCompact(scale, channels, features, blocks),
    "srresnet": lambda scale, channels, features, blocks, growth: SRResNet(scale, channels, features, blocks),
    "msrresnet": lambda scale, channels, features, blocks, growth: MSRResNet(scale, channels, features, blocks),
}
ARCHITECTURES = tuple(GENERATORS)
# The layout each one's weights are kept in by runs trained here (ours is BasicSR's where it has one).
TRAINED_LAYOUTS = {"rrdb": "basicsr", "srvgg": "srvgg", "srresnet": "ours", "msrresnet": "ours"}
WRAPPERS = ("params_ema", "params", "state_dict", "model", "net")
PREFIXES = ("module.", "netG.")


class LayoutError(ValueError):
    """A state dict that is none of the layouts; the message says what was found and what was expected."""


@dataclass(frozen=True)
class Detected:
    """What a state dict holds: the architecture, its layout, and the network's sizes."""

    architecture: str  # a key of GENERATORS
    layout: str  # "old-esrgan", "esrgan", "basicsr", "srvgg"; "ours" for a network trained here
    scale: int
    image_channels: int
    features: int
    blocks: int  # RRDBs, or SRVGG's convs between the first and the last
    growth: int = 0

    def build(self) -> nn.Module:
        return GENERATORS[self.architecture](self.scale, self.image_channels, self.features, self.blocks,
                                             self.growth)


def unwrap(values: object) -> dict[str, torch.Tensor]:
    """The state dict inside a file's top level: the first wrapper present, then without key prefixes."""
    if not isinstance(values, dict):
        raise LayoutError(f"expected a state dict (names to tensors), found {type(values).__name__}")
    for wrapper in WRAPPERS:
        if isinstance(values.get(wrapper), dict):
            values = values[wrapper]
            break
    state = {}
    for key, value in values.items():
        if not isinstance(value, torch.Tensor):
            continue  # bookkeeping such as an iteration count
        for prefix in PREFIXES:
            key = key[len(prefix):] if key.startswith(prefix) else key
        state[key] = value
    if not state:
        raise LayoutError(f"no tensors found (top-level keys: {_sample(values)})")
    return state


_OLD_DENSE = re.compile(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)")
_LATER_DENSE = re.compile(r"RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.(weight|bias)")
_OLD_PLAIN = {"model.0": "conv_first", "model.3": "conv_up1", "model.6": "conv_up2", "model.8": "conv_hr",
              "model.10": "conv_last"}
_LATER_PLAIN = {"conv_first": "conv_first", "trunk_conv": "conv_body", "upconv1": "conv_up1",
                "upconv2": "conv_up2", "HRconv": "conv_hr", "conv_last": "conv_last"}


def layout_of(state: dict[str, torch.Tensor]) -> str:
    keys = set(state)
    if "model.0.weight" in keys and any(_OLD_DENSE.fullmatch(key) for key in keys):
        return "old-esrgan"
    if "conv_first.weight" in keys and any(_LATER_DENSE.fullmatch(key) for key in keys):
        return "esrgan"
    if "conv_first.weight" in keys and "conv_body.weight" in keys and "body.0.rdb1.conv1.weight" in keys:
        return "basicsr"
    if "body.0.weight" in keys and all(re.fullmatch(r"body\.\d+\.weight|body\.\d+\.bias", key) for key in keys):
        return "srvgg"
    raise LayoutError(f"not an ESRGAN, Real-ESRGAN or SRVGG state dict: found keys {_sample(keys)}; expected "
                      "conv_first + body.i.rdbk.convm (BasicSR), conv_first + RRDB_trunk.i (ESRGAN), "
                      "model.0 + model.1.sub.i (original ESRGAN) or body.N (SRVGG)")


def to_ours(state: dict[str, torch.Tensor]) -> tuple[Detected, dict[str, torch.Tensor]]:
    """The detected network and the state dict in our (BasicSR's) names, tensors unchanged."""
    layout = layout_of(state)
    if layout == "srvgg":
        return _srvgg(state), dict(state)
    renamed = _renamed(state, layout)
    return _rrdb(renamed, layout), renamed


def _renamed(state: dict[str, torch.Tensor], layout: str) -> dict[str, torch.Tensor]:
    if layout == "basicsr":
        return dict(state)
    dense, plain = (_OLD_DENSE, _OLD_PLAIN) if layout == "old-esrgan" else (_LATER_DENSE, _LATER_PLAIN)
    blocks = 1 + max(int(match.group(1)) for key in state if (match := dense.fullmatch(key)))
    if layout == "old-esrgan":
        plain = {**plain, f"model.1.sub.{blocks}": "conv_body"}
    renamed = {}
    for key, value in state.items():
        match = dense.fullmatch(key)
        if match:
            block, dense_block, conv, kind = match.groups()
            renamed[f"body.{block}.rdb{dense_block}.conv{conv}.{kind}"] = value
            continue
        stem, _, kind = key.rpartition(".")
        if stem not in plain:
            raise LayoutError(f"unexpected key {key!r} in a {layout} state dict")
        renamed[f"{plain[stem]}.{kind}"] = value
    return renamed


def _rrdb(state: dict[str, torch.Tensor], layout: str) -> Detected:
    first, last = state["conv_first.weight"], state["conv_last.weight"]
    image_channels = last.shape[0]
    unshuffle = math.isqrt(first.shape[1] // image_channels)
    scale = next((scale for scale, factor in UNSHUFFLE.items() if factor == unshuffle), None)
    if scale is None or unshuffle**2 * image_channels != first.shape[1]:
        raise LayoutError(f"the first conv takes {first.shape[1]} channels for {image_channels} image channels: "
                          f"expected 1, 4 or 16 times as many (x4, x2, x1)")
    blocks = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("body."))
    return Detected("rrdb", layout, scale, image_channels, first.shape[0], blocks,
                    state["body.0.rdb1.conv1.weight"].shape[0])


def _srvgg(state: dict[str, torch.Tensor]) -> Detected:
    last_index = max(int(key.split(".")[1]) for key in state)
    first, last = state["body.0.weight"], state[f"body.{last_index}.weight"]
    image_channels = first.shape[1]
    scale = math.isqrt(last.shape[0] // image_channels)
    if last_index % 2 or scale**2 * image_channels != last.shape[0]:
        raise LayoutError(f"an SRVGG state dict ending at body.{last_index} with {last.shape[0]} output channels "
                          f"for {image_channels} image channels is not one SRVGGNetCompact makes")
    return Detected("srvgg", "srvgg", scale, image_channels, first.shape[0], last_index // 2 - 1)


def _sample(keys) -> str:
    listed = sorted(str(key) for key in keys)
    return ", ".join(listed[:6]) + (f", ... ({len(listed)} in all)" if len(listed) > 6 else "")


def from_ours(state: dict[str, torch.Tensor], layout: str) -> dict[str, torch.Tensor]:
    """Our RRDBNet state dict in another layout (for tests and for writing files other tools read)."""
    if layout == "basicsr":
        return dict(state)
    plain = {ours: theirs for theirs, ours in (_OLD_PLAIN if layout == "old-esrgan" else _LATER_PLAIN).items()}
    blocks = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("body."))
    if layout == "old-esrgan":
        plain["conv_body"] = f"model.1.sub.{blocks}"
    converted = {}
    for key, value in state.items():
        match = re.fullmatch(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(weight|bias)", key)
        if match:
            block, dense_block, conv, kind = match.groups()
            converted[(f"model.1.sub.{block}.RDB{dense_block}.conv{conv}.0.{kind}" if layout == "old-esrgan"
                       else f"RRDB_trunk.{block}.RDB{dense_block}.conv{conv}.{kind}")] = value
        else:
            stem, _, kind = key.rpartition(".")
            converted[f"{plain[stem]}.{kind}"] = value
    return converted
