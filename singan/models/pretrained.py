"""A foreign file's contents, as the restricted reader `singan.unpickler` gives them, to our network: which of
the published formats it is, the generator it holds, and that format's converter (`pretrained_layouts.py`,
`pretrained_tf.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from singan.errors import ForeignFileError
from singan.models.pretrained_layouts import ConvertedNetwork, convert_ada, convert_rosinality
from singan.models.pretrained_tf import convert_tf
from singan.unpickler import PersistentObject, TFNetwork


@dataclass
class Selected:
    """The generator of a file, without the rest of it (the discriminator, the training copy, optimisers),
    which can then be freed before the conversion copies the generator's tensors."""

    convert: Callable[..., ConvertedNetwork]
    arguments: tuple

    def converted(self) -> ConvertedNetwork:
        return self.convert(*self.arguments)


def select(contents: object) -> Selected:
    """The generator people generate with in a file's contents: Gs of a TF (G, D, Gs) tuple, G_ema of a
    stylegan2-ada-pytorch snapshot, g_ema (and latent_avg) of a rosinality file."""
    if isinstance(contents, TFNetwork):
        return Selected(convert_tf, (contents,))
    if isinstance(contents, (tuple, list)) and contents and all(isinstance(item, TFNetwork) for item in contents):
        return Selected(convert_tf, (contents[-1],))
    if isinstance(contents, PersistentObject):
        return Selected(convert_ada, (contents,))
    if isinstance(contents, dict):
        for key in ("G_ema", "G"):
            if isinstance(contents.get(key), PersistentObject):
                return Selected(convert_ada, (contents[key],))
        for key in ("g_ema", "g"):
            if isinstance(contents.get(key), dict):
                return Selected(convert_rosinality, (contents[key], contents.get("latent_avg")))
        if "style.1.weight" in contents:
            return Selected(convert_rosinality, (contents, None))
    raise ForeignFileError(f"holds {describe(contents)}: not a StyleGAN or StyleGAN2 network of NVlabs' TF code, "
                           f"stylegan2-ada-pytorch or rosinality's stylegan2-pytorch")


def convert(contents: object) -> ConvertedNetwork:
    """The network in a foreign file's contents (TF tuple, ADA dict, rosinality dict)."""
    return select(contents).converted()


def describe(contents: object) -> str:
    if isinstance(contents, dict):
        keys = ", ".join(map(str, list(contents)[:6]))
        return f"a dict of {keys}" if keys else "an empty dict"
    return f"a {type(contents).__name__}"
