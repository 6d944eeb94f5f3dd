"""Parity of imported StyleGAN (v1) and StyleGAN2 networks with the projects that made them.

    python benchmarks/pretrained_parity.py --reference-repo PATH [--reference-repo PATH]
                                           [--tf-python PATH] [--resolution 32] [--seeds 0,1,2,3]
                                           [--truncation 0.7] [--out DIR] [--only REGEX] [--reference-only]

Each --reference-repo is a local checkout of one reference implementation, recognised by its files:
NVlabs stylegan2-ada-pytorch (legacy.py, torch_utils/persistence.py, training/networks.py), rosinality
stylegan2-pytorch (model.py, op/upfirdn2d.py, convert_weight.py), NVlabs stylegan, the TF StyleGAN v1
(training/networks_stylegan.py, dnnlib/tflib/, no networks_stylegan2.py) or NVlabs stylegan2, the TF
StyleGAN2 (training/networks_stylegan2.py, dnnlib/tflib/ops/, pretrained_networks.py). The two TF checkouts
need TensorFlow: --tf-python names a Python with TensorFlow 2.x (e.g. a venv with tensorflow-cpu, numpy<2,
tensorboard), which runs their worker; without it their cases are skipped (reported, not failed). The checkouts
are run UNMODIFIED, in a child process of this script (never in this one, so that singan reads the files with
no reference code, and no TensorFlow, importable), with harness-side shims only:

- stylegan2-ada-pytorch: stub modules for `requests` (dnnlib/util.py imports it; only URLs need it) and
  `click` (legacy.py's command-line decorators) where they are not installed, and `distutils.util.strtobool`
  where Python has no distutils (3.12+). Its custom ops are CUDA-only; on CPU tensors they take their
  reference (pure torch) paths; `torch_utils.custom_ops.get_plugin` is wrapped to record any call, and the
  run fails if one happened.
- rosinality stylegan2-pytorch: `torch.utils.cpp_extension.load` (called by op/ at import to compile its
  C++/CUDA extensions) is replaced before the import by a stand-in whose every use raises, so its
  `upfirdn2d` and `fused_leaky_relu` are shown to take their CPU paths. Its Generator hard-codes the
  channel table (512 up to 32 px); the scaled-down networks use a harness-side subclass that overrides only
  that table (the state dict's names and layout are the project's), and one case keeps the official table.
- NVlabs stylegan / stylegan2 (TF 1.x code) under TF 2.x: `tensorflow.compat.v1` put in sys.modules as
  `tensorflow` with disable_v2_behavior(); tf.get_variable wrapped to read a bool dimension as an int (TF 1.x
  did; v1's noise inputs have the shape [1, use_noise, r, r]); an empty `tensorflow.contrib` (stylegan2's
  tfutil.py imports it; only the training loop's memory statistics use it); stubs for tensorboard, requests
  and distutils where missing; the session made with allow_soft_placement (Network.run places its graph on
  /gpu:0) and one thread. StyleGAN2's custom ops: every function of dnnlib/tflib/ops whose `impl` defaults
  to 'cuda' gets the default 'ref' (the plain-TF paths; networks_stylegan2.py never passes impl), and
  custom_ops.get_plugin raises, so no CUDA path can be taken.

There, each case builds a network with random weights (parameters that start at zero or one, such as noise
strengths, biases, affine biases and the average w, are randomised too, so that they matter), saves it in that
project's own format, loads it back with the project's own loader and renders seeds with the project's own
code: z = RandomState(seed).randn(1, z_dim), truncation psi, constant noise, float32.

Cases (formats):
- ada-pkl unconditional: a training snapshot {G, D, G_ema, augment_pipe, training_set_kwargs} pickled as
  training/training_loop.py pickles it (persistent classes from training.networks, G differing from G_ema);
  rendered with G(z, c, truncation_psi, noise_mode='const', force_fp32=True) of legacy.load_network_pkl's G_ema.
- ada-pkl conditional: c_dim 4 (one-hot class), two mapping layers, num_fp16_res 4, conv_clamp 256 (the
  cifar10 configuration, scaled down); pickle protocol 3 with numpy globals spelled numpy.core.* (as pickled
  under Python 3.7 and numpy 1.x, like the published files; the others are pickled as this Python does).
- ada-pkl conv_clamp: num_fp16_res 4, conv_clamp 256, with large biases so that the clamp changes the image.
- tf-stylegan2-pkl: the unconditional network written here as an NVlabs TF StyleGAN2 pickle (G, D, Gs) of
  `dnnlib.tflib.network.Network` states (version 4, TF variable names and layouts, mod_bias stored minus 1,
  up-sampling convs flipped, numpy arrays spelled numpy.core.multiarray, protocol 3; the stored
  build_module_src raises if anything runs it). stylegan2-ada-pytorch's legacy.py reads it (its converter
  validates this writer: parameters and images are compared) and its images are the reference.
- tf-stylegan2-pkl conditional (optional): the conditional network in the stylegan2-ada TF layout
  (LabelEmbed), which legacy.py also reads (NVlabs' original TF StyleGAN2 labels, LabelConcat, it cannot read,
  so they cannot be validated here). singan may refuse it: a refusal is reported, not failed.
- rosinality-pt converted: {'g_ema': state_dict, 'latent_avg': [w_dim]} as convert_weight.py writes it;
  rendered with g_ema([z], truncation=psi, truncation_latent=latent_avg, randomize_noise=False).
- rosinality-pt converted, official channels: the same at 16 px with the project's own channel table.
- rosinality-pt checkpoint: {'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args', 'ada_aug_p'} as train.py
  saves it (after one optimiser step, so g differs from g_ema); no average w is stored, so it is compared at
  psi 1.
- tf-stylegan-pkl (official TF code): NVlabs stylegan's own G_style (G_mapping, G_synthesis) and D_basic,
  built as training/training_loop.py builds them (tflib.Network('G', func_name=
  'training.networks_stylegan.G_style', ...), Gs = G.clone('Gs'), then G perturbed so that it differs from
  Gs), scaled down (latent 32, 2 mapping layers, fmap_base 1024, fmap_max 64), every variable that starts at
  a constant randomised (biases, StyleMod biases, per-channel noise weights, the constant input, dlatent_avg;
  the noise inputs re-drawn; weights keep TF's seeded initialisation), pickled as training/misc.py save_pkl
  does (pickle.dump of the (G, D, Gs) Network objects: TF's own variable names, layouts, static kwargs and
  build_module_src), loaded back with pickle.load as pretrained_example.py does and rendered with
  Gs.run(z, None, truncation_psi, randomize_noise=False) (G_style's default truncation_cutoff 8); also at psi 1.
- tf-stylegan-pkl fused: the same at 128 px, where fused_scale='auto' makes the 128 px up-sampling conv
  one conv2d_transpose (checks: the image without fusing, with the fused kernel flipped, and with the
  truncation on all 12 layers instead of 8 all differ, so each belief is tested); pickle protocol 4.
- tf-stylegan-pkl fused_scale=True: fused_scale=True (a static kwarg) at 32 px: every up-sampling conv fused.
- tf-stylegan2-pkl (official TF code): NVlabs stylegan2's G_main (G_mapping, G_synthesis_stylegan2 'skip',
  config f) and D_stylegan2, built, randomised, pickled the same way, loaded with
  pretrained_networks.load_networks and rendered with Gs.run(z, None, truncation_psi, randomize_noise=False)
  (no cutoff); also at psi 1.
- tf-stylegan2-pkl run_generator.py noise: the same file rendered as run_generator.py generate-images does
  (after z, the noise inputs set from the same RandomState, in order); singan with noise "random".
- tf-stylegan2-pkl conditional LabelConcat (optional): label_size 4 (the original TF StyleGAN2's
  LabelConcat); singan refuses it (reported, not failed).

singan's side is `singan_images`: the file converted by singan in memory (singan.api.gan_import.open_foreign,
as every `singan gan` task given a file), then tasks.gan.generate.generated_images with Draws(seed_compat="nvlabs",
noise="const" (the run_generator.py case: "random"), label): the same seeds, NVlabs' z, the same noise and
the same truncation. It runs in this
process, where no reference module is importable (checked).

Prints a table per format (max and mean |difference|, the reference's largest |value|) and writes
results.json under --out. A case passes when the largest difference is at float32 rounding level: at most
TOLERANCE times max(1, max |reference|).
Exits 1 if a reference side failed, a case failed or errored, singan refused a case that is not optional,
or a reference module (or TensorFlow) was imported in the process where singan read the files. Cases skipped
for want of --tf-python do not fail the run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPOSITORY / "benchmarks" / "output" / "pretrained_parity"
TOLERANCE = 1e-4
WORKER_TIMEOUT = 900

# Scaled-down channel schedules. ADA: channels(res) = min(channel_base // res, channel_max), official
# 32768 and 512; here 1024 and 64 gives 64 channels up to 16 px, 32 at 32 px, 16 at 64 px.
ADA_CHANNEL_BASE, ADA_CHANNEL_MAX = 1024, 64
LATENT = 64  # z_dim = w_dim (512 in the published networks)
# rosinality: its table (512 up to 32 px, then 256, 128, 64, 32, 16 times channel_multiplier) divided by this.
ROSINALITY_CHANNEL_DIVISOR = 8
ROSINALITY_OFFICIAL_RESOLUTION = 16


# ----------------------------------------------------------------------------------------------------------
# Which project a checkout is.

PROJECT_FILES = {
    "stylegan2-ada-pytorch": ("legacy.py", "torch_utils/persistence.py", "training/networks.py",
                              "dnnlib/util.py"),
    "rosinality": ("model.py", "op/upfirdn2d.py", "op/fused_act.py", "convert_weight.py"),
    # NVlabs/stylegan2 (TF) also ships networks_stylegan.py: it is told apart by networks_stylegan2.py.
    "nvlabs-stylegan2-tf": ("training/networks_stylegan2.py", "dnnlib/tflib/network.py",
                            "dnnlib/tflib/ops/upfirdn_2d.py", "dnnlib/tflib/ops/fused_bias_act.py",
                            "pretrained_networks.py"),
    "nvlabs-stylegan-tf": ("training/networks_stylegan.py", "dnnlib/tflib/network.py", "dnnlib/tflib/tfutil.py",
                           "training/training_loop.py"),
}


def detect_project(path: str | Path) -> str | None:
    path = Path(path)
    for project, files in PROJECT_FILES.items():
        if all((path / name).is_file() for name in files):
            if project == "rosinality" and "class Generator" not in (path / "model.py").read_text():
                continue
            if project == "nvlabs-stylegan-tf" and (path / "training/networks_stylegan2.py").exists():
                continue
            return project
    return None


# ----------------------------------------------------------------------------------------------------------
# Harness-side shims, used only in the reference worker processes.

def _stub_module(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    module.__parity_stub__ = True
    sys.modules[name] = module
    return module


def _importable(name: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def install_ada_shims(click: bool = True) -> list[str]:
    """Stand-ins for what stylegan2-ada-pytorch (and NVlabs' TF dnnlib, without click) imports but does not need
    here; returns what was stubbed."""
    stubbed = []
    if not _importable("requests"):
        def _no_network(*_args, **_kwargs):
            raise RuntimeError("parity harness: requests is a stub (no network access)")
        exceptions = types.SimpleNamespace(InvalidURL=ValueError, ConnectionError=OSError, RequestException=OSError)
        _stub_module("requests", Session=_no_network, get=_no_network, exceptions=exceptions)
        stubbed.append("requests (dnnlib/util.py imports it; used only for URLs)")
    if click and not _importable("click"):
        def _decorator_factory(*_args, **_kwargs):
            return lambda function: function
        _stub_module("click", command=_decorator_factory, option=_decorator_factory, group=_decorator_factory,
                     argument=_decorator_factory, pass_context=lambda function: function)
        stubbed.append("click (legacy.py's command-line decorators)")
    if not _importable("distutils"):
        def strtobool(value: str) -> int:
            value = value.lower()
            if value in ("y", "yes", "t", "true", "on", "1"):
                return 1
            if value in ("n", "no", "f", "false", "off", "0"):
                return 0
            raise ValueError(f"invalid truth value {value!r}")
        package = _stub_module("distutils")
        package.util = _stub_module("distutils.util", strtobool=strtobool)
        stubbed.append("distutils.util.strtobool (no distutils in this Python)")
    return stubbed


class _NoCompiledExtension:
    """What the patched torch.utils.cpp_extension.load returns: any use of the 'compiled' op raises."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        raise RuntimeError(f"parity harness: compiled extension {self._name!r}.{attribute} used; "
                           f"the CPU path was expected")


def install_rosinality_shims() -> list[str]:
    import torch.utils.cpp_extension
    loads = []

    def load(name, *_args, **_kwargs):
        loads.append(name)
        return _NoCompiledExtension(name)
    torch.utils.cpp_extension.load = load
    return loads


def _clean_worker_path(repo: Path) -> None:
    """The reference checkout first on sys.path, and neither this repository nor its benchmarks folder."""
    drop = {str(REPOSITORY.resolve()), str((REPOSITORY / "benchmarks").resolve())}
    kept = [entry for entry in sys.path if str(Path(entry or os.getcwd()).resolve()) not in drop]
    sys.path[:] = [str(repo)] + kept


def _quiet_warnings() -> None:
    import warnings
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def _nvlabs_z(seed: int, z_dim: int):
    import torch
    return torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim)).float()


def _save_images(path: Path, images: list) -> None:
    np.save(path, np.concatenate([image.detach().cpu().float().numpy() for image in images], axis=0))


# ----------------------------------------------------------------------------------------------------------
# stylegan2-ada-pytorch worker.

def _randomise_ada(module, generator, *, zero_scale: float = 0.3) -> None:
    """Give the parameters that start at 0 or 1 (noise strengths, biases, affine biases, w_avg) random values
    whose effect (after each layer's runtime gain) is about zero_scale."""
    import torch
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
            leaf = name.rsplit(".", 1)[-1]
            noise = torch.randn(parameter.shape, generator=generator)
            if leaf == "noise_strength":
                parameter.copy_(noise * zero_scale)
            elif name.endswith("affine.bias"):
                parameter.copy_(1 + noise * zero_scale)
            elif leaf == "bias":
                gain = float(getattr(owner, "bias_gain", 1))
                parameter.copy_(noise * zero_scale / gain)
        for name, buffer in module.named_buffers():
            if name.endswith("w_avg"):
                buffer.copy_(torch.randn(buffer.shape, generator=generator))


def _perturb(module, generator, scale: float = 0.5) -> None:
    """Make the training G differ from G_ema, so that a reader picking the wrong one is caught."""
    import torch
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * scale)


def _ada_networks(dnnlib, *, resolution: int, c_dim: int, mapping_layers: int, num_fp16_res: int,
                  conv_clamp, seed: int):
    import torch
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    common = dict(c_dim=c_dim, img_resolution=resolution, img_channels=3)
    G_kwargs = dnnlib.EasyDict(class_name="training.networks.Generator", z_dim=LATENT, w_dim=LATENT,
                               mapping_kwargs=dnnlib.EasyDict(num_layers=mapping_layers),
                               synthesis_kwargs=dnnlib.EasyDict(channel_base=ADA_CHANNEL_BASE,
                                                                channel_max=ADA_CHANNEL_MAX,
                                                                num_fp16_res=num_fp16_res, conv_clamp=conv_clamp))
    D_kwargs = dnnlib.EasyDict(class_name="training.networks.Discriminator", architecture="resnet",
                               channel_base=ADA_CHANNEL_BASE, channel_max=ADA_CHANNEL_MAX,
                               num_fp16_res=num_fp16_res, conv_clamp=conv_clamp,
                               block_kwargs=dnnlib.EasyDict(), mapping_kwargs=dnnlib.EasyDict(),
                               epilogue_kwargs=dnnlib.EasyDict(mbstd_group_size=4))
    # As training/training_loop.py constructs them (construct_class_by_name imports training.networks).
    G = dnnlib.util.construct_class_by_name(**G_kwargs, **common).train().requires_grad_(False)
    D = dnnlib.util.construct_class_by_name(**D_kwargs, **common).train().requires_grad_(False)
    _randomise_ada(G, generator)
    G_ema = copy.deepcopy(G).eval()
    _perturb(G, generator)
    augment_pipe = dnnlib.util.construct_class_by_name(
        class_name="training.augment.AugmentPipe", xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1,
        xfrac=1, brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1).train().requires_grad_(False)
    augment_pipe.p.copy_(torch.as_tensor(0.2))
    return G, D, G_ema, augment_pipe


def _ada_snapshot(path: Path, networks, training_set_kwargs: dict, protocol: int | None) -> None:
    """As training_loop.py writes network-snapshot-*.pkl."""
    G, D, G_ema, augment_pipe = networks
    snapshot_data = dict(training_set_kwargs=dict(training_set_kwargs))
    for name, module in [("G", G), ("D", D), ("G_ema", G_ema), ("augment_pipe", augment_pipe)]:
        snapshot_data[name] = copy.deepcopy(module).eval().requires_grad_(False).cpu()
    with open(path, "wb") as file:
        if protocol is None:
            pickle.dump(snapshot_data, file)
        else:
            LegacyNumpyPickler(file, protocol=protocol).dump(snapshot_data)


def _ada_render(G, seeds, truncation: float, label: int | None) -> list:
    import torch
    images = []
    with torch.no_grad():
        for seed in seeds:
            z = _nvlabs_z(seed, G.z_dim)
            c = torch.zeros([1, G.c_dim])
            if label is not None:
                c[:, label] = 1
            images.append(G(z, c, truncation_psi=truncation, noise_mode="const", force_fp32=True))
    return images


def _compare_modules(a, b) -> dict:
    """Largest difference of same-named parameters and buffers, and names present in one only."""
    left = dict(list(a.named_parameters()) + list(a.named_buffers()))
    right = dict(list(b.named_parameters()) + list(b.named_buffers()))
    common = sorted(set(left) & set(right))
    worst = 0.0
    for name in common:
        if left[name].shape != right[name].shape:
            return {"max_abs": float("inf"), "mismatch": f"shape of {name}"}
        if left[name].numel():
            worst = max(worst, float((left[name].float() - right[name].float()).abs().max()))
    return {"max_abs": worst, "only_in_first": sorted(set(left) - set(right)),
            "only_in_second": sorted(set(right) - set(left)), "tensors": len(common)}


def _max_diff(first: list, second: list) -> float:
    return max(float((a - b).abs().max()) for a, b in zip(first, second))


def ada_worker(repo: Path, work: Path, resolution: int, seeds: list[int], truncation: float) -> dict:
    stubbed = install_ada_shims()
    _clean_worker_path(repo)
    _quiet_warnings()
    import torch
    torch.set_num_threads(1)
    import dnnlib
    import legacy
    from torch_utils import custom_ops, misc

    plugin_calls = []
    original_get_plugin = custom_ops.get_plugin

    def get_plugin(module_name, *args, **kwargs):
        plugin_calls.append(module_name)
        return original_get_plugin(module_name, *args, **kwargs)
    custom_ops.get_plugin = get_plugin

    def load(path: Path) -> dict:
        with dnnlib.util.open_url(str(path)) as file:  # as generate.py opens a network
            return legacy.load_network_pkl(file)

    cases, notes = [], {"shims": stubbed, "python": sys.version.split()[0], "torch": torch.__version__}
    specs = [
        ("ada-pkl unconditional", "ada-uncond.pkl", dict(c_dim=0, mapping_layers=8, num_fp16_res=0,
                                                         conv_clamp=None), None, None, 101),
        ("ada-pkl conditional", "ada-cond.pkl", dict(c_dim=4, mapping_layers=2, num_fp16_res=4, conv_clamp=256),
         2, 3, 102),
        ("ada-pkl conv_clamp", "ada-clamp.pkl", dict(c_dim=0, mapping_layers=8, num_fp16_res=4, conv_clamp=256),
         None, None, 103),
    ]
    made = {}
    for case, filename, kwargs, label, protocol, seed in specs:
        started = time.time()
        networks = _ada_networks(dnnlib, resolution=resolution, seed=seed, **kwargs)
        G_ema = networks[2]
        extra = {}
        if case == "ada-pkl conv_clamp":
            extra = _exercise_clamp(G_ema, networks[0], dnnlib, misc, seeds, truncation)
        path = work / filename
        training_set_kwargs = dnnlib.EasyDict(class_name="training.dataset.ImageFolderDataset",
                                              path="/data/parity.zip", use_labels=bool(kwargs["c_dim"]),
                                              max_size=1000, xflip=False, resolution=resolution)
        _ada_snapshot(path, networks, training_set_kwargs, protocol)
        loaded = load(path)
        reference = _ada_render(loaded["G_ema"], seeds, truncation, label)
        in_memory = _ada_render(G_ema, seeds, truncation, label)
        training_g = _ada_render(loaded["G"], seeds, truncation, label)
        extra.update(reloaded_vs_in_memory=_max_diff(reference, in_memory),
                     G_vs_G_ema=_max_diff(reference, training_g), pickle_protocol=protocol or pickle.DEFAULT_PROTOCOL)
        images = work / (filename.rsplit(".", 1)[0] + ".ref.npy")
        _save_images(images, reference)
        cases.append(dict(case=case, file=str(path), images=str(images), seeds=seeds, truncation=truncation,
                          label=label, resolution=resolution, seconds=round(time.time() - started, 2),
                          reference="stylegan2-ada-pytorch legacy.load_network_pkl(...)['G_ema'](z, c, "
                                    "truncation_psi, noise_mode='const', force_fp32=True)", checks=extra))
        made[case] = (networks, label)

    for case, source, label in [("tf-stylegan2-pkl", "ada-pkl unconditional", None),
                                ("tf-stylegan2-pkl conditional", "ada-pkl conditional", 2)]:
        optional = label is not None  # a refusal of this one is reported, not failed
        started = time.time()
        (G, D, G_ema, _augment), _ = made[source]
        filename = "tf-stylegan2.pkl" if label is None else "tf-stylegan2-cond.pkl"
        path = work / filename
        write_tf_pickle(path, G, D, G_ema)
        loaded = load(path)
        reference = _ada_render(loaded["G_ema"], seeds, truncation, label)
        original = _ada_render(G_ema, seeds, truncation, label)
        checks = {"legacy_G_ema_params_vs_ada": _compare_modules(G_ema, loaded["G_ema"]),
                  "legacy_G_params_vs_ada": _compare_modules(G, loaded["G"]),
                  "legacy_D_params_vs_ada": _compare_modules(D, loaded["D"]),
                  "legacy_images_vs_ada_images": _max_diff(reference, original),
                  "source_case": source}
        images = work / (filename.rsplit(".", 1)[0] + ".ref.npy")
        _save_images(images, reference)
        cases.append(dict(case=case, file=str(path), images=str(images), seeds=seeds, truncation=truncation,
                          label=label, resolution=resolution, seconds=round(time.time() - started, 2),
                          reference="stylegan2-ada-pytorch legacy.load_network_pkl (its TF converter) then "
                                    "G_ema(z, c, truncation_psi, noise_mode='const', force_fp32=True)",
                          checks=checks, optional=optional))
    notes["compiled_op_builds_attempted"] = plugin_calls
    if plugin_calls:
        raise RuntimeError(f"stylegan2-ada-pytorch tried to build custom ops on CPU: {plugin_calls}")
    return {"project": "stylegan2-ada-pytorch", "repo": str(repo), "cases": cases, "notes": notes}


def _exercise_clamp(G_ema, G, dnnlib, misc, seeds, truncation) -> dict:
    """Large biases in an 8 px conv and the 16 px ToRGB, so that conv_clamp=256 changes the image; returns how
    much (the same weights without the clamp)."""
    import torch
    with torch.no_grad():
        for network in (G_ema, G):
            synthesis = network.synthesis
            conv = synthesis.b8.conv1
            conv.bias[: conv.bias.shape[0] // 2] += 400.0
            torgb = getattr(synthesis, "b16").torgb
            torgb.bias[0] += 300.0
            torgb.bias[1] -= 300.0
    kwargs = copy.deepcopy(G_ema.init_kwargs)
    kwargs.synthesis_kwargs.conv_clamp = None
    unclamped = type(G_ema)(**kwargs).eval().requires_grad_(False)
    misc.copy_params_and_buffers(G_ema, unclamped, require_all=True)
    clamped = _ada_render(G_ema, seeds, truncation, None)
    free = _ada_render(unclamped, seeds, truncation, None)
    return {"clamped_vs_unclamped_max_abs": _max_diff(clamped, free)}


# ----------------------------------------------------------------------------------------------------------
# NVlabs TF StyleGAN2 pickles, written from an stylegan2-ada-pytorch network (the inverse of legacy.py).

TF_BUILD_MODULE_SRC = ("raise RuntimeError('parity harness tripwire: the build_module_src of a TF "
                       "network pickle was executed')\n")


class TFNetworkState:
    """Pickled as dnnlib.tflib.network.Network with the given state (what that class's __getstate__ gives)."""

    def __init__(self, state: dict):
        self._state = state

    def __getstate__(self):
        return self._state


class LegacyNumpyPickler(pickle._Pickler):
    """A pickler (protocol 3 or lower) that spells numpy's numpy._core.* globals numpy.core.*, as files written
    under numpy 1.x do (TF StyleGAN pickles, and the published stylegan2-ada-pytorch ones)."""

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        if self.proto < 4 and (module == "numpy._core" or module.startswith("numpy._core.")):
            qualified = name or getattr(obj, "__qualname__", None) or obj.__name__
            self.write(pickle.GLOBAL + f"numpy.core{module[len('numpy._core'):]}\n{qualified}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _array(tensor) -> np.ndarray:
    """A C-contiguous float32 copy, keeping 0-d shapes (np.ascontiguousarray would make them [1])."""
    return np.array(tensor.detach().cpu().numpy(), dtype=np.float32, order="C", copy=True)


def _tf_conv(weight, flip: bool = False) -> np.ndarray:
    """PyTorch [out, in, kh, kw] -> TF [kh, kw, in, out] (flipped in both spatial axes for up-sampling)."""
    array = weight.detach().cpu().numpy().transpose(2, 3, 1, 0)
    if flip:
        array = array[::-1, ::-1]
    return np.array(array, dtype=np.float32, order="C", copy=True)


def _tf_modulated(scope: str, layer, flip: bool = False, noise: bool = True) -> list:
    variables = [(f"{scope}/weight", _tf_conv(layer.weight, flip)),
                 (f"{scope}/mod_weight", _array(layer.affine.weight.t())),
                 (f"{scope}/mod_bias", _array(layer.affine.bias - 1))]
    if noise:
        variables.append((f"{scope}/noise_strength", _array(layer.noise_strength)))
    variables.append((f"{scope}/bias", _array(layer.bias)))
    return variables


def _tf_generator(G, name: str) -> TFNetworkState:
    synthesis_kwargs = G.init_kwargs.synthesis_kwargs
    mapping = G.mapping
    kwargs = dict(num_channels=G.img_channels, resolution=G.img_resolution, label_size=G.c_dim,
                  latent_size=G.z_dim, dlatent_size=G.w_dim, mapping_layers=mapping.num_layers,
                  fmap_base=synthesis_kwargs.channel_base // 2, fmap_max=synthesis_kwargs.channel_max)
    if synthesis_kwargs.get("num_fp16_res"):
        kwargs["num_fp16_res"] = synthesis_kwargs.num_fp16_res
    if synthesis_kwargs.get("conv_clamp") is not None:
        kwargs["conv_clamp"] = synthesis_kwargs.conv_clamp

    mapping_vars = []
    if G.c_dim:
        mapping_vars += [("LabelEmbed/weight", _array(mapping.embed.weight.t())),
                         ("LabelEmbed/bias", _array(mapping.embed.bias))]
    for index in range(mapping.num_layers):
        layer = getattr(mapping, f"fc{index}")
        mapping_vars += [(f"Dense{index}/weight", _array(layer.weight.t())), (f"Dense{index}/bias", _array(layer.bias))]

    synthesis = G.synthesis
    noise_vars, layer_vars = [], []
    for res in synthesis.block_resolutions:
        block = getattr(synthesis, f"b{res}")
        scope = f"{res}x{res}"
        log2 = int(np.log2(res))
        if res == 4:
            noise_vars.append(("noise0", _array(block.conv1.noise_const[None, None])))
            layer_vars.append((f"{scope}/Const/const", _array(block.const[None])))
            layer_vars += _tf_modulated(f"{scope}/Conv", block.conv1)
        else:
            noise_vars.append((f"noise{2 * log2 - 5}", _array(block.conv0.noise_const[None, None])))
            noise_vars.append((f"noise{2 * log2 - 4}", _array(block.conv1.noise_const[None, None])))
            layer_vars += _tf_modulated(f"{scope}/Conv0_up", block.conv0, flip=True)
            layer_vars += _tf_modulated(f"{scope}/Conv1", block.conv1)
            if hasattr(block, "skip"):
                layer_vars.append((f"{scope}/Skip/weight", _tf_conv(block.skip.weight, flip=True)))
        if hasattr(block, "torgb"):
            layer_vars += _tf_modulated(f"{scope}/ToRGB", block.torgb, noise=False)

    def network(net_name, static_kwargs, func, variables, components=None):
        return TFNetworkState({"version": 4, "name": net_name, "static_kwargs": static_kwargs,
                               "components": components or {}, "build_module_src": TF_BUILD_MODULE_SRC,
                               "build_func_name": func, "variables": variables})

    num_ws = synthesis.num_ws
    components = {
        "synthesis": network("G_synthesis", dict(kwargs), "G_synthesis_stylegan2", noise_vars + layer_vars),
        "mapping": network("G_mapping", dict(kwargs, dlatent_broadcast=num_ws), "G_mapping", mapping_vars),
    }
    own = [("lod", np.float32(0.0).reshape(())), ("dlatent_avg", _array(mapping.w_avg))]
    own = [(key, np.asarray(value, dtype=np.float32)) for key, value in own]
    return network(name, kwargs, "G_main", own, components)


def _tf_discriminator(D) -> TFNetworkState:
    kwargs = D.init_kwargs
    static_kwargs = dict(num_channels=D.img_channels, resolution=D.img_resolution, label_size=D.c_dim,
                         fmap_base=kwargs.channel_base // 2, fmap_max=kwargs.channel_max, architecture="resnet",
                         mbstd_group_size=D.b4.mbstd.group_size, mbstd_num_features=D.b4.mbstd.num_channels)
    if kwargs.get("num_fp16_res"):
        static_kwargs["num_fp16_res"] = kwargs.num_fp16_res
    if kwargs.get("conv_clamp") is not None:
        static_kwargs["conv_clamp"] = kwargs.conv_clamp
    variables = []
    for res in D.block_resolutions:
        block = getattr(D, f"b{res}")
        scope = f"{res}x{res}"
        if hasattr(block, "fromrgb"):
            variables += [(f"{scope}/FromRGB/weight", _tf_conv(block.fromrgb.weight)),
                          (f"{scope}/FromRGB/bias", _array(block.fromrgb.bias))]
        variables += [(f"{scope}/Conv0/weight", _tf_conv(block.conv0.weight)),
                      (f"{scope}/Conv0/bias", _array(block.conv0.bias)),
                      (f"{scope}/Conv1_down/weight", _tf_conv(block.conv1.weight)),
                      (f"{scope}/Conv1_down/bias", _array(block.conv1.bias)),
                      (f"{scope}/Skip/weight", _tf_conv(block.skip.weight))]
    if D.c_dim:
        mapping = D.mapping
        static_kwargs.update(mapping_layers=mapping.num_layers, mapping_fmaps=mapping.w_dim, mapping_lrmul=0.01)
        variables += [("LabelEmbed/weight", _array(mapping.embed.weight.t())),
                      ("LabelEmbed/bias", _array(mapping.embed.bias))]
        for index in range(mapping.num_layers):
            layer = getattr(mapping, f"fc{index}")
            variables += [(f"Mapping{index}/weight", _array(layer.weight.t())),
                          (f"Mapping{index}/bias", _array(layer.bias))]
    epilogue = D.b4
    variables += [("4x4/Conv/weight", _tf_conv(epilogue.conv.weight)), ("4x4/Conv/bias", _array(epilogue.conv.bias)),
                  ("4x4/Dense0/weight", _array(epilogue.fc.weight.t())), ("4x4/Dense0/bias", _array(epilogue.fc.bias)),
                  ("Output/weight", _array(epilogue.out.weight.t())), ("Output/bias", _array(epilogue.out.bias))]
    return TFNetworkState({"version": 4, "name": "D", "static_kwargs": static_kwargs, "components": {},
                           "build_module_src": TF_BUILD_MODULE_SRC, "build_func_name": "D_stylegan2",
                           "variables": variables})


def write_tf_pickle(path: Path, G, D, G_ema) -> None:
    """(G, D, Gs) as the TF StyleGAN2 training loop pickles them, from stylegan2-ada-pytorch networks."""
    saved = {name: sys.modules.get(name) for name in ("dnnlib.tflib", "dnnlib.tflib.network")}
    tflib = types.ModuleType("dnnlib.tflib")
    network_module = types.ModuleType("dnnlib.tflib.network")
    TFNetworkState.__module__, TFNetworkState.__qualname__, TFNetworkState.__name__ = (
        "dnnlib.tflib.network", "Network", "Network")
    network_module.Network = TFNetworkState
    tflib.network = network_module
    sys.modules["dnnlib.tflib"], sys.modules["dnnlib.tflib.network"] = tflib, network_module
    try:
        data = (_tf_generator(G, "G"), _tf_discriminator(D), _tf_generator(G_ema, "Gs"))
        with open(path, "wb") as file:
            LegacyNumpyPickler(file, protocol=3).dump(data)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


# ----------------------------------------------------------------------------------------------------------
# rosinality stylegan2-pytorch worker.

def _rosinality_class(base, divisor: int | None):
    """The project's Generator, or a subclass whose channel table (an attribute its __init__ assigns and
    reads) is the official one divided by `divisor`; nothing else changes."""
    if divisor is None:
        return base

    class Scaled(base):
        @property
        def channels(self):
            return self._parity_channels

        @channels.setter
        def channels(self, table):
            object.__setattr__(self, "_parity_channels", {key: max(value // divisor, 8)
                                                          for key, value in table.items()})
    Scaled.__name__ = Scaled.__qualname__ = base.__name__
    return Scaled


def _randomise_rosinality(g, generator, zero_scale: float = 0.3) -> None:
    import torch
    with torch.no_grad():
        for name, parameter in g.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("noise.weight"):
                parameter.copy_(noise * zero_scale)
            elif name.endswith("modulation.bias"):
                parameter.copy_(1 + noise * zero_scale)  # bias_init 1, lr_mul 1
            elif name.startswith("style.") and name.endswith(".bias"):
                parameter.copy_(noise * zero_scale / g.style[1].lr_mul)  # used as bias * lr_mul
            elif re.search(r"(activate\.bias|to_rgb1\.bias|to_rgbs\.\d+\.bias)$", name):
                parameter.copy_(noise * zero_scale)


def _rosinality_render(g, seeds, truncation: float, latent_avg) -> list:
    import torch
    images = []
    with torch.no_grad():
        for seed in seeds:
            z = _nvlabs_z(seed, g.style_dim)
            images.append(g([z], truncation=truncation, truncation_latent=latent_avg, randomize_noise=False)[0])
    return images


def rosinality_worker(repo: Path, work: Path, resolution: int, seeds: list[int], truncation: float) -> dict:
    loads = install_rosinality_shims()
    _clean_worker_path(repo)
    _quiet_warnings()
    import argparse as argparse_module

    import torch
    from torch import optim
    torch.set_num_threads(1)
    import model
    import op
    op_upfirdn2d = sys.modules["op.upfirdn2d"]
    op_fused = sys.modules["op.fused_act"]

    # The CPU paths: the same results as the pure-torch functions they should dispatch to.
    x = torch.randn(1, 4, 6, 6)
    kernel = model.make_kernel([1, 3, 3, 1])
    cpu_paths = {
        "upfirdn2d_is_native": bool(torch.equal(op.upfirdn2d(x, kernel, up=2, pad=(2, 1)),
                                                op_upfirdn2d.upfirdn2d_native(x, kernel, 2, 2, 1, 1, 2, 1, 2, 1))),
        "fused_leaky_relu_is_leaky_relu": bool(torch.allclose(
            op_fused.fused_leaky_relu(x, torch.zeros(4)), torch.nn.functional.leaky_relu(x, 0.2) * 2 ** 0.5)),
        "extensions_stubbed": list(loads),
    }
    n_mlp = 8
    cases = []

    def build(cls, size, seed):
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        g = cls(size, LATENT, n_mlp, channel_multiplier=2).eval()
        _randomise_rosinality(g, generator)
        return g, generator

    def reload(cls, size, path):
        checkpoint = torch.load(path, map_location=lambda storage, loc: storage, weights_only=False)
        g = cls(size, LATENT, n_mlp, channel_multiplier=2).eval()
        g.load_state_dict(checkpoint["g_ema"])  # as generate.py loads it
        return g, checkpoint

    # Converted files: {'g_ema', 'latent_avg'} as convert_weight.py writes them.
    for case, filename, divisor, size, seed in [
            ("rosinality-pt converted", "rosinality-converted.pt", ROSINALITY_CHANNEL_DIVISOR, resolution, 201),
            ("rosinality-pt converted official channels", "rosinality-converted-official.pt", None,
             ROSINALITY_OFFICIAL_RESOLUTION, 202)]:
        started = time.time()
        cls = _rosinality_class(model.Generator, divisor)
        g_ema, generator = build(cls, size, seed)
        latent_avg = torch.randn(LATENT, generator=generator)
        path = work / filename
        torch.save({"g_ema": g_ema.state_dict(), "latent_avg": latent_avg}, path)
        loaded, checkpoint = reload(cls, size, path)
        reference = _rosinality_render(loaded, seeds, truncation, checkpoint["latent_avg"])
        checks = {"reloaded_vs_in_memory": _max_diff(reference, _rosinality_render(g_ema, seeds, truncation,
                                                                                   latent_avg)),
                  "channels": {str(key): value for key, value in loaded.channels.items() if key <= size}}
        images = work / (filename.rsplit(".", 1)[0] + ".ref.npy")
        _save_images(images, reference)
        cases.append(dict(case=case, file=str(path), images=str(images), seeds=seeds, truncation=truncation,
                          label=None, resolution=size, seconds=round(time.time() - started, 2),
                          reference="rosinality g_ema([z], truncation, truncation_latent=latent_avg, "
                                    "randomize_noise=False)", checks=checks))

    # A training checkpoint as train.py saves it (the official Discriminator: the project's own table).
    started = time.time()
    cls = _rosinality_class(model.Generator, ROSINALITY_CHANNEL_DIVISOR)
    g_ema, generator = build(cls, resolution, 203)
    g, _ = build(cls, resolution, 204)
    d = model.Discriminator(resolution, channel_multiplier=2)
    g_reg_ratio, d_reg_ratio = 4 / 5, 16 / 17
    g_optim = optim.Adam(g.parameters(), lr=0.002 * g_reg_ratio, betas=(0 ** g_reg_ratio, 0.99 ** g_reg_ratio))
    d_optim = optim.Adam(d.parameters(), lr=0.002 * d_reg_ratio, betas=(0 ** d_reg_ratio, 0.99 ** d_reg_ratio))
    g.train()
    fake, _ = g([torch.randn(2, LATENT, generator=generator)])
    torch.nn.functional.softplus(-d(fake)).mean().backward()
    g_optim.step()
    d_optim.step()
    g_optim.zero_grad()
    d_optim.zero_grad()
    args = argparse_module.Namespace(
        path="/data/parity-lmdb", arch="stylegan2", iter=800000, batch=16, n_sample=64, size=resolution, r1=10.0,
        path_regularize=2.0, path_batch_shrink=2, d_reg_every=16, g_reg_every=4, mixing=0.9, ckpt=None, lr=0.002,
        channel_multiplier=2, wandb=False, local_rank=0, augment=False, augment_p=0.0, ada_target=0.6,
        ada_length=500000, ada_every=256, distributed=False, latent=LATENT, n_mlp=n_mlp, start_iter=0)
    path = work / "rosinality-checkpoint.pt"
    torch.save({"g": g.state_dict(), "d": d.state_dict(), "g_ema": g_ema.state_dict(),
                "g_optim": g_optim.state_dict(), "d_optim": d_optim.state_dict(), "args": args,
                "ada_aug_p": 0.0}, path)
    loaded, checkpoint = reload(cls, resolution, path)
    # No average w in a training checkpoint: psi 1 (truncation_latent unused).
    reference = _rosinality_render(loaded, seeds, 1.0, None)
    g_training = cls(resolution, LATENT, n_mlp, channel_multiplier=2).eval()
    g_training.load_state_dict(checkpoint["g"])
    checks = {"reloaded_vs_in_memory": _max_diff(reference, _rosinality_render(g_ema, seeds, 1.0, None)),
              "g_vs_g_ema": _max_diff(reference, _rosinality_render(g_training, seeds, 1.0, None)),
              "file_bytes": path.stat().st_size}
    images = work / "rosinality-checkpoint.ref.npy"
    _save_images(images, reference)
    cases.append(dict(case="rosinality-pt checkpoint", file=str(path), images=str(images), seeds=seeds,
                      truncation=1.0, label=None, resolution=resolution, seconds=round(time.time() - started, 2),
                      reference="rosinality g_ema([z], randomize_noise=False) from ckpt['g_ema'] (psi 1: "
                                "a training checkpoint stores no average w)", checks=checks))
    if not (cpu_paths["upfirdn2d_is_native"] and cpu_paths["fused_leaky_relu_is_leaky_relu"]):
        raise RuntimeError(f"rosinality ops did not take their CPU paths: {cpu_paths}")
    return {"project": "rosinality", "repo": str(repo), "cases": cases,
            "notes": {"cpu_paths": cpu_paths, "python": sys.version.split()[0], "torch": torch.__version__}}


# ----------------------------------------------------------------------------------------------------------
# NVlabs' TensorFlow StyleGAN (v1) and StyleGAN2 workers: run by --tf-python (a Python with TensorFlow 2.x).

TF_PROJECTS = ("nvlabs-stylegan-tf", "nvlabs-stylegan2-tf")
TF_LATENT = 32  # latent_size = dlatent_size = mapping_fmaps (512 in the published networks)
TF_MAPPING_LAYERS = 2
# nf(stage) = min(fmap_base / 2**stage, fmap_max): 64 channels up to 16 px, 32 at 32 px, 16 at 64 px, 8 at 128 px.
TF_FMAP_BASE, TF_FMAP_MAX = 1024, 64
# fused_scale='auto' (v1's default) fuses the up-sampling conv of the blocks of 128 px and up.
TF_FUSED_RESOLUTION = 128
TF_CASES = {
    "nvlabs-stylegan-tf": ["tf-stylegan-pkl (official TF code)", "tf-stylegan-pkl (official TF code) psi 1",
                           "tf-stylegan-pkl fused", "tf-stylegan-pkl fused_scale=True"],
    "nvlabs-stylegan2-tf": ["tf-stylegan2-pkl (official TF code)", "tf-stylegan2-pkl (official TF code) psi 1",
                            "tf-stylegan2-pkl run_generator.py noise",
                            "tf-stylegan2-pkl conditional LabelConcat (official TF code)"],
}


def install_tf_shims() -> tuple[object, list[str]]:
    """TF 1.x code under TF 2.x: `tensorflow.compat.v1` (v2 behaviour disabled) imported as `tensorflow`, plus
    stand-ins where something the code imports at module level is missing. Returns (tf, what was shimmed)."""
    import tensorflow
    tf = tensorflow.compat.v1
    tf.disable_v2_behavior()
    sys.modules["tensorflow"] = tf
    shims = [f"tensorflow {tensorflow.__version__}: tensorflow.compat.v1 as `tensorflow`, disable_v2_behavior()"]

    # TF 1.x accepted a bool as a dimension (v1's noise inputs have shape [1, use_noise, 2**res, 2**res]);
    # TF 2.x's TensorShape refuses it. Bools in a python shape list become ints here; nothing else changes.
    original_get_variable = tf.get_variable
    converted = []

    def get_variable(name, shape=None, *args, **kwargs):
        if isinstance(shape, (list, tuple)) and any(isinstance(dim, bool) for dim in shape):
            shape = [int(dim) if isinstance(dim, bool) else dim for dim in shape]
            if name not in converted:
                converted.append(name)
        return original_get_variable(name, shape, *args, **kwargs)
    get_variable.__wrapped__ = original_get_variable
    get_variable.converted = converted  # the variables whose shape had a bool: reported in the notes
    tf.get_variable = get_variable
    shims.append("tf.get_variable: bool dimensions as int (TF 1.x read True as 1; "
                 "v1's noise{i} shape [1, use_noise, r, r])")
    if "contrib" not in vars(tf):  # NVlabs/stylegan2's tfutil.py: `import tensorflow.contrib; tf.contrib = ...`
        def _no_contrib(*_args, **_kwargs):
            raise RuntimeError("parity harness: tf.contrib is a stub (TF 2.x has none)")
        contrib = _stub_module("tensorflow.contrib",
                               memory_stats=types.SimpleNamespace(BytesInUse=_no_contrib, MaxBytesInUse=_no_contrib))
        tf.contrib = contrib
        shims.append("tensorflow.contrib: an empty stub (stylegan2's tfutil.py imports it; only the training "
                     "loop's memory_stats use it)")
    if not _importable("tensorboard"):  # dnnlib/tflib/autosummary.py imports it; only summaries use it
        _stub_module("tensorboard", summary=_stub_module("tensorboard.summary"))
        _stub_module("tensorboard.plugins")
        _stub_module("tensorboard.plugins.custom_scalar",
                     layout_pb2=_stub_module("tensorboard.plugins.custom_scalar.layout_pb2"))
        shims.append("tensorboard (dnnlib/tflib/autosummary.py imports it; only for training summaries)")
    shims += install_ada_shims(click=False)
    return tf, shims


def _tf_reference_ops() -> dict:
    """StyleGAN2's custom ops on their impl='ref' paths (plain TF ops): the functions of dnnlib/tflib/ops whose
    `impl` defaults to 'cuda' get the default 'ref' (networks_stylegan2.py never passes impl), and
    custom_ops.get_plugin (which compiles the .cu files) raises, so a CUDA path cannot be taken silently."""
    import inspect
    from dnnlib.tflib import custom_ops
    from dnnlib.tflib.ops import fused_bias_act, upfirdn_2d
    calls, patched = [], []

    def get_plugin(cuda_file, *_args, **_kwargs):
        calls.append(str(cuda_file))
        raise RuntimeError(f"parity harness: the CUDA plugin {cuda_file} was requested; impl='ref' was expected")
    custom_ops.get_plugin = get_plugin
    for module in (upfirdn_2d, fused_bias_act):
        for name, function in list(vars(module).items()):
            if not inspect.isfunction(function) or function.__module__ != module.__name__ or not function.__defaults__:
                continue
            positional = [p.name for p in inspect.signature(function).parameters.values()
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            defaulted = positional[-len(function.__defaults__):]
            if "impl" in defaulted:
                defaults = list(function.__defaults__)
                index = defaulted.index("impl")
                if defaults[index] == "cuda":
                    defaults[index] = "ref"
                    function.__defaults__ = tuple(defaults)
                    patched.append(f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    return {"impl_ref_defaults": sorted(patched), "cuda_plugin_requests": calls}


def _tf_init(seed: int) -> None:
    import dnnlib.tflib as tflib
    # allow_soft_placement: Network.run places its graph on /gpu:0; this machine has only a CPU.
    tflib.init_tf({"rnd.np_random_seed": seed, "rnd.tf_random_seed": seed, "allow_soft_placement": True,
                   "intra_op_parallelism_threads": 1, "inter_op_parallelism_threads": 1})


def _randomise_tf(tflib, network, rng, zero_scale: float = 0.3, mapping_lrmul: float = 0.01) -> list[str]:
    """Random values for the variables that start at a constant (biases, StyleMod and mod biases, noise
    strengths, the constant input, dlatent_avg) and fresh N(0, 1) noise inputs; the weights keep TF's own
    (seeded) initialisation. The mapping biases are divided by lrmul, by which TF multiplies them. Returns the
    names of the variables (lod aside) left at one constant value: none expected."""
    values = {}
    for name, var in network.vars.items():
        leaf = name.rsplit("/", 1)[-1]
        shape = var.shape.as_list()
        noise = rng.standard_normal(shape)
        if leaf == "lod":
            continue
        if re.fullmatch(r"G_mapping/Dense\d+/bias", name):
            value = noise * zero_scale / mapping_lrmul
        elif leaf in ("bias", "mod_bias", "noise_strength") or name.endswith("/Noise/weight"):
            value = noise * zero_scale
        elif leaf in ("dlatent_avg", "const") or re.fullmatch(r"G_synthesis/noise\d+", name):
            value = noise
        else:
            continue
        values[var] = np.asarray(value, dtype=np.float32).reshape(shape)
    tflib.set_vars(values)
    constant = []
    for name, value in zip(network.vars, tflib.run(list(network.vars.values()))):
        value = np.asarray(value)
        if not name.endswith("lod") and (np.all(value == value.flat[0]) if value.size > 1 else value in (0, 1)):
            constant.append(name)
    return constant


def _perturb_tf(tflib, network, rng, scale: float = 0.5) -> None:
    """Make the training G differ from Gs (its moving average), so that a reader picking G is caught."""
    names = list(network.trainables)
    values = tflib.run([network.trainables[name] for name in names])
    tflib.set_vars({network.trainables[name]: (value + rng.standard_normal(value.shape) * scale *
                                               max(float(np.std(value)), 1e-2)).astype(np.float32)
                    for name, value in zip(names, values)})


def _tf_render(tflib, Gs, seeds, truncation: float, label: int | None = None, noise: str = "const",
               **kwargs) -> np.ndarray:
    """Gs.run(z, labels, truncation_psi, randomize_noise=False) with z = RandomState(seed).randn(1, z_dim).
    noise 'run_generator': first the stored noise inputs re-drawn from the same RandomState, as StyleGAN2's
    run_generator.py generate-images does (on a clone, so that Gs keeps its own noise)."""
    network = Gs.clone(Gs.name + "_noise") if noise == "run_generator" else Gs
    noise_vars = [var for name, var in network.components.synthesis.vars.items() if name.startswith("noise")]
    label_size = Gs.input_shapes[1][1]
    images = []
    for seed in seeds:
        rnd = np.random.RandomState(seed)
        z = rnd.randn(1, *Gs.input_shape[1:])
        labels = None
        if label_size:
            labels = np.zeros([1, label_size], dtype=np.float32)
            labels[0, label] = 1
        if noise == "run_generator":
            tflib.set_vars({var: rnd.randn(*var.shape.as_list()) for var in noise_vars})
        images.append(network.run(z, labels, truncation_psi=truncation, randomize_noise=False, **kwargs))
    return np.concatenate(images, axis=0).astype(np.float32)


def _tf_case(work: Path, case: str, filename: str, images: np.ndarray, seeds, truncation, resolution, reference,
             checks, started, label=None, noise="const", optional=False) -> dict:
    path = work / (case.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "") + ".ref.npy")
    np.save(path, images)
    return dict(case=case, file=str(work / filename), images=str(path), seeds=seeds, truncation=truncation,
                label=label, noise=noise, resolution=resolution, seconds=round(time.time() - started, 2),
                reference=reference, checks=checks, optional=optional)


def _np_max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def tf_stylegan_worker(repo: Path, work: Path, resolution: int, seeds: list[int], truncation: float) -> dict:
    """NVlabs stylegan (TF, v1): G_style / G_synthesis / D_basic of training/networks_stylegan.py."""
    tf, shims = install_tf_shims()
    _clean_worker_path(repo)
    _quiet_warnings()
    import dnnlib.tflib as tflib
    _tf_init(1000)
    rng = np.random.RandomState(300)
    cases = []

    def build(size, fused_scale):
        # As training/training_loop.py builds G and D and clones Gs; fused_scale given only where set.
        extra = {} if fused_scale == "auto" else {"fused_scale": fused_scale}
        G = tflib.Network("G", func_name="training.networks_stylegan.G_style", num_channels=3, resolution=size,
                          label_size=0, latent_size=TF_LATENT, dlatent_size=TF_LATENT,
                          mapping_layers=TF_MAPPING_LAYERS, mapping_fmaps=TF_LATENT, fmap_base=TF_FMAP_BASE,
                          fmap_max=TF_FMAP_MAX, **extra)
        D = tflib.Network("D", func_name="training.networks_stylegan.D_basic", num_channels=3, resolution=size,
                          label_size=0, fmap_base=TF_FMAP_BASE, fmap_max=TF_FMAP_MAX, **extra)
        constant = _randomise_tf(tflib, G, rng)
        Gs = G.clone("Gs")
        _perturb_tf(tflib, G, rng)
        return G, D, Gs, constant

    def save_and_load(path, networks, protocol):
        with open(path, "wb") as file:  # training/misc.py save_pkl (the training loop's snapshots)
            pickle.dump(networks, file, protocol=protocol)
        with open(path, "rb") as file:  # pretrained_example.py: _G, _D, Gs = pickle.load(f)
            return pickle.load(file)

    reference = ("NVlabs stylegan (TF): Gs of pickle.load((G, D, Gs)) .run(z, None, truncation_psi, "
                 "randomize_noise=False) (G_style's default truncation_cutoff=8)")
    for case, filename, size, fused_scale, protocol in [
            ("tf-stylegan-pkl (official TF code)", "tf-stylegan.pkl", resolution, "auto", pickle.HIGHEST_PROTOCOL),
            ("tf-stylegan-pkl fused", "tf-stylegan-fused.pkl", TF_FUSED_RESOLUTION, "auto", 4),
            ("tf-stylegan-pkl fused_scale=True", "tf-stylegan-fused-true.pkl", resolution, True, 3)]:
        started = time.time()
        G, D, Gs, constant = build(size, fused_scale)
        path = work / filename
        _G, _D, loaded = save_and_load(path, (G, D, Gs), protocol)
        images = _tf_render(tflib, loaded, seeds, truncation)
        num_layers = loaded.components.synthesis.input_shape[1]
        checks = {"reloaded_vs_in_memory": _np_max_diff(images, _tf_render(tflib, Gs, seeds, truncation)),
                  "G_vs_Gs": _np_max_diff(images, _tf_render(tflib, _G, seeds, truncation)),
                  "variables_left_constant": constant, "pickle_protocol": protocol, "num_layers": num_layers,
                  "fused_scale": fused_scale}
        if fused_scale is not False:  # True or 'auto': how much fusing changes the image (0: none fused)
            checks["unfused_vs_fused"] = _np_max_diff(images, _tf_render(tflib, loaded, seeds, truncation,
                                                                         fused_scale=False))
        if case == "tf-stylegan-pkl fused":
            # The fused layer's 3x3 kernel spatially flipped: what a converter flipping it would render.
            flipped = loaded.clone("Gs_flipped")
            name = f"G_synthesis/{size}x{size}/Conv0_up/weight"
            tflib.set_vars({flipped.vars[name]: tflib.run(flipped.vars[name])[::-1, ::-1]})
            checks["fused_kernel_flipped_vs_reference"] = _np_max_diff(images, _tf_render(tflib, flipped, seeds,
                                                                                          truncation))
            checks["cutoff_8_vs_all_layers"] = _np_max_diff(images, _tf_render(
                tflib, loaded, seeds, truncation, truncation_cutoff=num_layers))
        cases.append(_tf_case(work, case, filename, images, seeds, truncation, size, reference, checks, started))
        if case == "tf-stylegan-pkl (official TF code)":
            started = time.time()
            cases.append(_tf_case(work, case + " psi 1", filename, _tf_render(tflib, loaded, seeds, 1.0), seeds,
                                  1.0, size, reference + " (psi 1: no truncation)", {}, started))
    return {"project": "nvlabs-stylegan-tf", "repo": str(repo), "cases": cases,
            "notes": {"shims": shims, "python": sys.version.split()[0], "numpy": np.__version__,
                      "bool_dimension_variables": sorted(set(tf.get_variable.converted))}}


def tf_stylegan2_worker(repo: Path, work: Path, resolution: int, seeds: list[int], truncation: float) -> dict:
    """NVlabs stylegan2 (TF): G_main / G_mapping / G_synthesis_stylegan2 / D_stylegan2 (config f: 'skip' G,
    'resnet' D), custom ops on their 'ref' paths."""
    tf, shims = install_tf_shims()
    _clean_worker_path(repo)
    _quiet_warnings()
    import dnnlib.tflib as tflib
    import pretrained_networks
    ops = _tf_reference_ops()
    _tf_init(2000)
    rng = np.random.RandomState(400)
    cases = []

    def build(label_size):
        # As run_training.py (config-f) and training/training_loop.py build G, D and Gs.
        G = tflib.Network("G", func_name="training.networks_stylegan2.G_main", num_channels=3,
                          resolution=resolution, label_size=label_size, latent_size=TF_LATENT,
                          dlatent_size=TF_LATENT, mapping_layers=TF_MAPPING_LAYERS, mapping_fmaps=TF_LATENT,
                          fmap_base=TF_FMAP_BASE, fmap_max=TF_FMAP_MAX)
        D = tflib.Network("D", func_name="training.networks_stylegan2.D_stylegan2", num_channels=3,
                          resolution=resolution, label_size=label_size, fmap_base=TF_FMAP_BASE,
                          fmap_max=TF_FMAP_MAX)
        constant = _randomise_tf(tflib, G, rng)
        Gs = G.clone("Gs")
        _perturb_tf(tflib, G, rng)
        return G, D, Gs, constant

    reference = ("NVlabs stylegan2 (TF): Gs of pretrained_networks.load_networks(path) .run(z, None, "
                 "truncation_psi, randomize_noise=False)")
    for case, filename, label in [("tf-stylegan2-pkl (official TF code)", "tf2-stylegan2.pkl", None),
                                  ("tf-stylegan2-pkl conditional LabelConcat (official TF code)",
                                   "tf2-stylegan2-labelconcat.pkl", 2)]:
        started = time.time()
        G, D, Gs, constant = build(0 if label is None else 4)
        path = work / filename
        with open(path, "wb") as file:  # training/misc.py save_pkl
            pickle.dump((G, D, Gs), file, protocol=pickle.HIGHEST_PROTOCOL)
        _G, _D, loaded = pretrained_networks.load_networks(str(path))  # as run_generator.py loads a network
        images = _tf_render(tflib, loaded, seeds, truncation, label)
        checks = {"reloaded_vs_in_memory": _np_max_diff(images, _tf_render(tflib, Gs, seeds, truncation, label)),
                  "G_vs_Gs": _np_max_diff(images, _tf_render(tflib, _G, seeds, truncation, label)),
                  "variables_left_constant": constant, "pickle_protocol": pickle.HIGHEST_PROTOCOL}
        optional = label is not None  # singan imports no LabelConcat network: a refusal is reported
        cases.append(_tf_case(work, case, filename, images, seeds, truncation, resolution,
                              reference if label is None else reference.replace("None", "one-hot labels"),
                              checks, started, label=label, optional=optional))
        if label is None:
            started = time.time()
            cases.append(_tf_case(work, case + " psi 1", filename, _tf_render(tflib, loaded, seeds, 1.0), seeds,
                                  1.0, resolution, reference + " (psi 1: no truncation)", {}, started))
            started = time.time()
            redrawn = _tf_render(tflib, loaded, seeds, truncation, noise="run_generator")
            cases.append(_tf_case(work, "tf-stylegan2-pkl run_generator.py noise", filename, redrawn, seeds,
                                  truncation, resolution,
                                  "as run_generator.py generate-images: rnd = RandomState(seed); z = rnd.randn(1, "
                                  "z_dim); the noise inputs set to rnd.randn(...) in order; Gs.run(z, None, "
                                  "truncation_psi, randomize_noise=False)",
                                  {"vs_stored_noise": _np_max_diff(redrawn, images)}, started, noise="random"))
    if ops["cuda_plugin_requests"]:
        raise RuntimeError(f"stylegan2 (TF) requested CUDA plugins: {ops['cuda_plugin_requests']}")
    return {"project": "nvlabs-stylegan2-tf", "repo": str(repo), "cases": cases,
            "notes": {"shims": shims, "ops": ops, "python": sys.version.split()[0], "numpy": np.__version__,
                      "bool_dimension_variables": sorted(set(tf.get_variable.converted))}}


WORKERS = {"stylegan2-ada-pytorch": ada_worker, "rosinality": rosinality_worker,
           "nvlabs-stylegan-tf": tf_stylegan_worker, "nvlabs-stylegan2-tf": tf_stylegan2_worker}
# Top-level modules of the reference checkouts, none of which may be imported where singan reads the files.
REFERENCE_MODULES = {"dnnlib", "torch_utils", "legacy", "training", "model", "op", "swagan", "convert_weight",
                     "pretrained_networks", "pretrained_example", "run_generator",
                     "tensorflow"}  # singan reads TF pickles without TensorFlow


def run_worker(project: str, repo: Path, work: Path, args) -> dict:
    """The reference side in a child process; returns its manifest (or an error entry)."""
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "manifest.json"
    manifest.unlink(missing_ok=True)
    python = args.tf_python if project in TF_PROJECTS else sys.executable
    command = [python, str(Path(__file__).resolve()), "--worker", project, "--worker-repo", str(repo),
               "--worker-out", str(work), "--resolution", str(args.resolution), "--seeds", args.seeds,
               "--truncation", str(args.truncation)]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    if project in TF_PROJECTS:
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.time()
    try:
        result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"project": project, "repo": str(repo), "error": f"timed out after {WORKER_TIMEOUT} s", "cases": []}
    if result.returncode != 0 or not manifest.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        return {"project": project, "repo": str(repo), "error": "\n".join(tail), "cases": []}
    data = json.loads(manifest.read_text())
    data["seconds"] = round(time.time() - started, 2)
    return data


def worker_main(args) -> int:
    work = Path(args.worker_out)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    data = WORKERS[args.worker](Path(args.worker_repo), work, args.resolution, seeds, args.truncation)
    (work / "manifest.json").write_text(json.dumps(data, indent=2, default=str))
    return 0


# ----------------------------------------------------------------------------------------------------------
# singan's side.

def singan_images(path: str | Path, seeds: list[int], truncation: float, label: int | None = None,
                  noise: str = "const") -> list:
    """The foreign file imported by singan and rendered for `seeds`: NVlabs' z, the stored (constant) noise
    (noise "random": drawn after z from the seed's RandomState, as StyleGAN2's run_generator.py), truncation psi,
    the one-hot class `label` of a conditional network. Returns float tensors [1, C, H, W]."""
    import torch
    sys.path[:0] = [str(REPOSITORY)] if str(REPOSITORY) not in sys.path else []
    from singan.api import gan_import
    from tasks.gan.draws import Draws
    from tasks.gan.generate import generated_images
    # The file converted in memory, as every `singan gan` task given a file does.
    generator = gan_import.open_foreign(path, device="cpu").generator
    draws = Draws(seed_compat="nvlabs", noise=noise, label=label)
    with torch.no_grad():
        return [image.float().cpu() for _seed, image in generated_images(generator, seeds, truncation=truncation,
                                                                         draws=draws)]


def compare(case: dict) -> dict:
    """Run singan on the case's file and compare with the reference images."""
    import torch
    reference = torch.from_numpy(np.load(case["images"]))
    row = {"case": case["case"], "file": case["file"], "seeds": case["seeds"], "truncation": case["truncation"],
           "label": case["label"], "noise": case.get("noise", "const"), "resolution": case["resolution"],
           "reference": case["reference"],
           "reference_checks": case.get("checks", {}), "reference_max_abs_value": float(reference.abs().max())}
    started = time.time()
    try:
        images = singan_images(case["file"], case["seeds"], case["truncation"], case["label"],
                               case.get("noise", "const"))
        ours = torch.cat(images, 0)
    except Exception as error:  # noqa: BLE001  (reported per case; the table goes on)
        # singan's own one-line refusal of a file it does not support, or anything else (an error).
        refused = type(error).__name__ == "ForeignFileError"
        row.update(status="refused" if refused else "error", optional=bool(case.get("optional")),
                   error=f"{type(error).__name__}: {error}".splitlines()[0][:300],
                   seconds=round(time.time() - started, 2))
        return row
    row["seconds"] = round(time.time() - started, 2)
    if ours.shape != reference.shape:
        row.update(status="fail", error=f"shape {list(ours.shape)} != reference {list(reference.shape)}")
        return row
    difference = (ours - reference).abs()
    scale = max(1.0, row["reference_max_abs_value"])
    row.update(max_abs=float(difference.max()), mean_abs=float(difference.mean()),
               max_relative=float(difference.max()) / scale, tolerance=TOLERANCE * scale)
    row["status"] = "ok" if row["max_abs"] <= row["tolerance"] else "fail"
    return row


def print_table(rows: list[dict]) -> None:
    width = max([44] + [len(row["case"]) for row in rows])
    header = (f"{'format':<{width}} {'seeds':>5} {'psi':>4} {'max |diff|':>11} {'mean |diff|':>11} {'max |ref|':>9} "
              f"status")
    print(header)
    print("-" * len(header))
    for row in rows:
        if "max_abs" in row:
            print(f"{row['case']:<{width}} {len(row['seeds']):>5} {row['truncation']:>4g} {row['max_abs']:>11.3e} "
                  f"{row['mean_abs']:>11.3e} {row['reference_max_abs_value']:>9.3g} {row['status']}")
        else:
            seeds = len(row["seeds"]) if "seeds" in row else "-"
            truncation = f"{row['truncation']:g}" if "truncation" in row else "-"
            largest = f"{row['reference_max_abs_value']:.3g}" if "reference_max_abs_value" in row else "-"
            print(f"{row['case']:<{width}} {seeds:>5} {truncation:>4} "
                  f"{'-':>11} {'-':>11} {largest:>9} {row['status']}"
                  f"{' (optional)' if row.get('optional') else ''}: {row.get('error', '')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-repo", action="append", default=[], metavar="PATH",
                        help="a checkout of stylegan2-ada-pytorch, rosinality stylegan2-pytorch, NVlabs stylegan "
                             "(TF) or NVlabs stylegan2 (TF) (repeatable)")
    parser.add_argument("--resolution", type=int, default=32, help="output size of the networks (default 32)")
    parser.add_argument("--seeds", default="0,1,2,3", help="comma-separated seeds (default 0,1,2,3)")
    parser.add_argument("--truncation", type=float, default=0.7, help="truncation psi (default 0.7)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"folder for the files and results.json "
                                                                f"(default {DEFAULT_OUT})")
    parser.add_argument("--tf-python", default=None, metavar="PATH",
                        help="a Python with TensorFlow 2.x (tensorflow.compat.v1), which runs the NVlabs TF "
                             "StyleGAN / StyleGAN2 checkouts; without it their cases are skipped")
    parser.add_argument("--only", default=None, metavar="REGEX", help="compare only the cases matching this")
    parser.add_argument("--reference-only", action="store_true", help="build the reference files, skip singan")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-repo", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    if not args.reference_repo:
        parser.error("give at least one --reference-repo PATH")
    if args.resolution < 16 or args.resolution & (args.resolution - 1):
        parser.error("--resolution must be a power of two, at least 16")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"resolution": args.resolution, "seeds": args.seeds, "truncation": args.truncation,
               "tolerance": f"{TOLERANCE:g} x max(1, max |reference|)", "references": [], "rows": []}
    for repo in args.reference_repo:
        project = detect_project(repo)
        if project is None:
            print(f"{repo}: not a checkout of stylegan2-ada-pytorch, rosinality stylegan2-pytorch, NVlabs stylegan "
                  f"(TF) or NVlabs stylegan2 (TF); skipped")
            results["references"].append({"repo": repo, "error": "unrecognised checkout"})
            continue
        if project in TF_PROJECTS and not args.tf_python:
            note = "needs TensorFlow: give --tf-python PATH (a Python with tensorflow 2.x)"
            print(f"{repo}: {project}; skipped ({note})")
            results["references"].append({"project": project, "repo": repo, "skipped": note})
            results["rows"] += [{"case": case, "status": "skipped", "error": note} for case in TF_CASES[project]
                                if not args.only or re.search(args.only, case)]
            continue
        print(f"{repo}: {project}; building the reference networks ...", flush=True)
        manifest = run_worker(project, Path(repo).resolve(), out / project, args)
        results["references"].append({key: value for key, value in manifest.items() if key != "cases"})
        if manifest.get("error"):
            print("  reference side failed:\n    " + manifest["error"].replace("\n", "\n    "))
        for case in manifest["cases"]:
            if args.only and not re.search(args.only, case["case"]):
                continue
            if args.reference_only:
                results["rows"].append({"case": case["case"], "status": "reference only", "file": case["file"],
                                        "reference_checks": case.get("checks", {})})
                continue
            row = compare(case)
            results["rows"].append(row)
    print()
    if not args.reference_only:
        print_table(results["rows"])
    for reference in results["references"]:
        notes = reference.get("notes", {})
        if notes:
            print(f"\n{reference['project']} ({reference['repo']}): {json.dumps(notes)}")
    for row in results["rows"]:
        checks = row.get("reference_checks")
        if checks:
            print(f"  {row['case']}: reference checks {json.dumps(checks, default=str)}")
    # singan read every file with no reference code importable or imported in this process.
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in REFERENCE_MODULES)
    results["reference_modules_in_singan_process"] = leaked
    if leaked:
        print(f"\nreference modules imported in the singan process: {leaked}")
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwrote {out / 'results.json'}")
    failed = [row for row in results["rows"] if row.get("status") in ("fail", "error")
              or (row.get("status") == "refused" and not row.get("optional"))]
    if failed:
        print(f"failed: {', '.join(row['case'] for row in failed)}")
    errors = [ref for ref in results["references"] if ref.get("error")]
    return 1 if failed or errors or leaked else 0


if __name__ == "__main__":
    sys.exit(main())
