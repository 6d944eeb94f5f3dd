"""A foreign file's contents, as the restricted reader `singan.unpickler` gives them, to our network: which of
the published formats it is, and its converter (`pretrained_layouts.py`, `pretrained_tf.py`)."""

from __future__ import annotations

from singan.errors import ForeignFileError
from singan.models.pretrained_layouts import ConvertedNetwork, convert_ada, convert_rosinality
from singan.models.pretrained_tf import convert_tf
from singan.unpickler import PersistentObject, TFNetwork


def convert(contents: object) -> ConvertedNetwork:
    """The network in a foreign file's contents (TF tuple, ADA dict, rosinality dict)."""
    if isinstance(contents, TFNetwork) or (isinstance(contents, (tuple, list)) and contents
                                           and all(isinstance(item, TFNetwork) for item in contents)):
        return convert_tf(contents)
    if isinstance(contents, PersistentObject):
        return convert_ada(contents)
    if isinstance(contents, dict):
        for key in ("G_ema", "G"):
            if isinstance(contents.get(key), PersistentObject):
                return convert_ada(contents[key])
        for key in ("g_ema", "g"):
            if isinstance(contents.get(key), dict):
                return convert_rosinality(contents[key], contents.get("latent_avg"))
        if "style.1.weight" in contents:
            return convert_rosinality(contents, None)
    raise ForeignFileError(f"holds {describe(contents)}: not a StyleGAN or StyleGAN2 network of NVlabs' TF code, "
                           f"stylegan2-ada-pytorch or rosinality's stylegan2-pytorch")


def describe(contents: object) -> str:
    if isinstance(contents, dict):
        keys = ", ".join(map(str, list(contents)[:6]))
        return f"a dict of {keys}" if keys else "an empty dict"
    return f"a {type(contents).__name__}"
