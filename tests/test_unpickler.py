"""The restricted reader of other projects' weight files: what it reads back, and what it refuses."""

import argparse
import bz2
import collections
import gzip
import io
import lzma
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from singan.errors import ForeignFileError
from singan.unpickler import (ALLOWED_GLOBALS, Namespace, PersistentObject, TFNetwork, read_foreign,
                              read_foreign_bytes)


def fake_module(monkeypatch, dotted: str, **members) -> types.ModuleType:
    """A module (and its parents) in sys.modules, so pickle can name our fakes as another project's classes."""
    parts = dotted.split(".")
    for index in range(1, len(parts)):
        monkeypatch.setitem(sys.modules, ".".join(parts[:index]), types.ModuleType(".".join(parts[:index])))
    module = types.ModuleType(dotted)
    for name, member in members.items():
        member.__module__, member.__qualname__ = dotted, name
        setattr(module, name, member)
    monkeypatch.setitem(sys.modules, dotted, module)
    return module


def torch_zip(data_pkl: bytes, storages: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
        for key, raw in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
    return buffer.getvalue()


def saved(value, **options) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer, **options)
    return buffer.getvalue()


# numpy


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("array", [
    np.arange(12, dtype="f4").reshape(3, 4), np.arange(5, dtype="f2"), np.arange(-3, 3, dtype="i8"),
    np.array([True, False, True]), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(4, dtype=">i4"),
    np.arange(12.0).reshape(3, 4)[:, ::2], np.zeros((0, 3), dtype="u1"), np.array(2.5, dtype="c8"),
], ids=lambda array: f"{array.dtype.str}{array.shape}")
def test_numpy_arrays_round_trip(array, protocol):
    back = read_foreign_bytes(pickle.dumps({"array": array}, protocol=protocol))["array"]
    # numpy itself gives big-endian data back in native order (except through protocol 5)
    assert isinstance(back, np.ndarray) and back.shape == array.shape
    assert back.dtype.newbyteorder("<") == array.dtype.newbyteorder("<")
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("scalar", [np.float32(1.5), np.float64(-2.25), np.int64(7), np.bool_(True), np.uint8(3)])
def test_numpy_scalars_round_trip(scalar):
    back = read_foreign_bytes(pickle.dumps([scalar], protocol=4))[0]
    assert back == scalar and back.dtype == scalar.dtype


# torch inside plain pickles: the legacy storage payload


@pytest.mark.parametrize("protocol", [2, 4])
def test_tensors_and_parameters_in_a_plain_pickle(protocol):
    base = torch.arange(24.0).reshape(4, 6)
    value = {"parameter": torch.nn.Parameter(torch.ones(2, 3)), "half": torch.ones(3, dtype=torch.float16),
             "long": torch.arange(4), "flags": torch.tensor([True, False]), "view": base[1:, 2::2],
             "row": base[2], "whole": base, "transposed": base.t(), "repeated": torch.arange(3.0).expand(2, 3)}
    back = read_foreign_bytes(pickle.dumps(value, protocol=protocol))
    for key, tensor in value.items():
        assert type(back[key]) is torch.Tensor and not back[key].requires_grad
        assert back[key].dtype == tensor.dtype and torch.equal(back[key], tensor.detach()), key
    # views of part of a storage get their own copies, so they keep no larger storage alive
    for key in ("view", "row", "transposed"):
        assert back[key].is_contiguous() and back[key].untyped_storage().nbytes() == back[key].nbytes, key
    # a tensor that repeats elements stays a view: copying it would let a small file ask for any memory
    assert back["repeated"].stride() == (0, 1) and back["repeated"].untyped_storage().nbytes() == 12


def test_two_tensors_sharing_one_storage():
    storage = torch.arange(10.0)
    back = read_foreign_bytes(pickle.dumps([storage[:5], storage[5:], storage]))
    assert torch.equal(back[0], storage[:5]) and torch.equal(back[1], storage[5:]) and torch.equal(back[2], storage)


# torch files


def test_a_torch_zip_state_dict_with_metadata_namespace_and_float(tmp_path):
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    state = module.state_dict()
    path = tmp_path / "checkpoint.pt"
    torch.save({"g_ema": state, "args": argparse.Namespace(size=256, n_mlp=8), "ada_aug_p": 0.25,
                "latent_avg": torch.randn(4)}, path)
    back = read_foreign(path)
    assert list(back["g_ema"]) == list(state) and back["g_ema"]._metadata == state._metadata
    assert all(torch.equal(back["g_ema"][key], value) for key, value in state.items())
    assert isinstance(back["args"], Namespace) and back["args"].size == 256 and vars(back["args"])["n_mlp"] == 8
    assert back["args"].as_dict() == {"size": 256, "n_mlp": 8} and back["ada_aug_p"] == 0.25


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.bool])
def test_torch_files_of_every_dtype_zip_and_legacy(dtype):
    tensor = (torch.arange(12) % 3).to(dtype).reshape(3, 4)
    for options in ({}, {"_use_new_zipfile_serialization": False}):
        back = read_foreign_bytes(saved({"t": tensor, "view": tensor[:, 1:3]}, **options))
        assert back["t"].dtype == dtype and torch.equal(back["t"], tensor) and torch.equal(back["view"], tensor[:, 1:3])


def test_a_legacy_torch_file_state_dict(tmp_path):
    state = torch.nn.Conv2d(2, 3, 3).state_dict()
    path = tmp_path / "legacy.pt"
    torch.save({"g": state}, path, _use_new_zipfile_serialization=False)
    back = read_foreign(path)["g"]
    assert list(back) == list(state) and all(torch.equal(back[key], state[key]) for key in state)


# NVlabs TensorFlow pickles


class FakeNetwork:
    """Pickles as dnnlib.tflib.network.Network does: a state dict through __getstate__."""

    def __init__(self, name, variables, components=None):
        self.state = {"version": 4, "name": name, "static_kwargs": {"resolution": 8}, "components": components or {},
                      "build_module_src": "import os\nos.system('touch BUILT')\n", "build_func_name": "G_main",
                      "variables": variables}

    def __getstate__(self):
        return self.state

    def __setstate__(self, state):
        self.state = state


def tf_pickle(monkeypatch) -> tuple[bytes, dict]:
    fake_module(monkeypatch, "dnnlib.tflib.network", Network=FakeNetwork)
    rng = np.random.default_rng(0)
    mapping = FakeNetwork("G_mapping", [("Dense0/weight", rng.standard_normal((4, 4), dtype="f4")),
                                        ("Dense0/bias", np.zeros(4, "f4"))])
    synthesis = FakeNetwork("G_synthesis", [("4x4/Conv/weight", rng.standard_normal((3, 3, 4, 4), dtype="f4")),
                                            ("noise0", np.ones((1, 1, 4, 4), "f4")), ("lod", np.float32(0))])
    generator = FakeNetwork("G", [("dlatent_avg", np.arange(4, dtype="f4"))],
                            {"mapping": mapping, "synthesis": synthesis})
    discriminator = FakeNetwork("D", [("Output/bias", np.zeros(1, "f4"))])
    expected = {"dlatent_avg": generator.state["variables"][0][1]}
    expected.update({f"mapping/{name}": value for name, value in mapping.state["variables"]})
    expected.update({f"synthesis/{name}": value for name, value in synthesis.state["variables"]})
    return pickle.dumps((generator, discriminator, generator), protocol=4), expected


@pytest.mark.parametrize("compress, suffix", [(lambda data: data, ".pkl"), (lzma.compress, ".pkl.xz"),
                                              (gzip.compress, ".pkl.gz"), (bz2.compress, ".pkl.bz2")])
def test_a_tensorflow_network_pickle(monkeypatch, tmp_path, compress, suffix):
    data, expected = tf_pickle(monkeypatch)
    path = tmp_path / f"network{suffix}"
    path.write_bytes(compress(data))
    monkeypatch.chdir(tmp_path)
    generator, discriminator, average = read_foreign(path)
    assert isinstance(generator, TFNetwork) and generator.name == "G" and average is generator
    assert generator.static_kwargs == {"resolution": 8} and generator.build_func_name == "G_main"
    assert set(generator.components) == {"mapping", "synthesis"} and "os.system" in generator.build_module_src
    tensors = generator.tensors()
    assert set(tensors) == set(expected) and all(type(tensors[key]) is np.ndarray for key in tensors)
    assert all(np.array_equal(tensors[key], value) for key, value in expected.items())
    assert discriminator.tensors().keys() == {"Output/bias"} and not (tmp_path / "BUILT").exists()


# stylegan2-ada-pytorch persistent objects


def ada_pickle(monkeypatch) -> tuple[bytes, torch.nn.Module]:
    def _reconstruct_persistent_obj(meta):
        raise AssertionError("the real loader would run module_src here")

    fake_module(monkeypatch, "torch_utils.persistence", _reconstruct_persistent_obj=_reconstruct_persistent_obj)

    class Persistent:
        """Reduces like a persistent class: the module's __dict__, children as further persistent objects."""

        def __init__(self, module, class_name):
            self.module, self.class_name = module, class_name

        def __reduce__(self):
            state = dict(vars(self.module))
            state["_modules"] = {name: Persistent(child, f"training.networks.{type(child).__name__}")
                                 for name, child in self.module._modules.items()}
            state["_init_kwargs"] = {"w_dim": 4}
            state["weight_gain"] = np.float32(0.5)
            meta = {"type": "class", "version": 6, "module_src": "import os\nos.system('touch RAN')\n",
                    "class_name": self.class_name, "state": state}
            return _reconstruct_persistent_obj, (meta,)

    generator = torch.nn.Module()
    generator.mapping = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 4))
    generator.synthesis = torch.nn.Module()
    generator.synthesis.const = torch.nn.Parameter(torch.randn(4, 2, 2))
    generator.synthesis.register_buffer("resample_filter", torch.tensor([1.0, 3.0, 3.0, 1.0]))
    generator.synthesis.register_buffer("scratch", torch.zeros(2), persistent=False)
    snapshot = {"G_ema": Persistent(generator, "training.networks.Generator"), "training_set_kwargs": {"res": 8}}
    return pickle.dumps(snapshot, protocol=4), generator


def test_a_stylegan2_ada_pickle(monkeypatch, tmp_path):
    data, generator = ada_pickle(monkeypatch)
    monkeypatch.chdir(tmp_path)
    network = read_foreign_bytes(data)["G_ema"]
    assert isinstance(network, PersistentObject) and network.class_name == "training.networks.Generator"
    assert network.version == 6 and "os.system" in network.module_src and not (tmp_path / "RAN").exists()
    assert network.init_kwargs == {"w_dim": 4} and network.attribute("weight_gain") == 0.5
    assert network.attribute("training") is True and network.attribute("missing", 3) == 3
    assert set(network.children()) == {"mapping", "synthesis"}
    expected = generator.state_dict()
    found = network.state_dict()
    assert list(found) == list(expected) and all(torch.equal(found[key], expected[key].detach()) for key in expected)


# refusals


class Runs:
    """An object whose unpickling would run a shell command."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def containers(payload: bytes) -> dict[str, bytes]:
    """The same pickle in every container the reader opens."""
    return {"plain": payload, "xz": lzma.compress(payload), "gz": gzip.compress(payload),
            "zip": torch_zip(payload)}


def legacy_file(value) -> bytes:
    """torch's legacy layout around `value`: magic number, protocol, system information, object, no storages."""
    header = b"".join(pickle.dumps(part, protocol=2) for part in (0x1950A86A20F9469CFC6C, 1001, {}))
    return header + pickle.dumps(value, protocol=2) + pickle.dumps([], protocol=2)


def legacy_payload_with(value) -> bytes:
    """A plain pickle whose storage payload (torch.storage._load_from_bytes) holds `value` as its object."""
    payload = legacy_file(value)
    return (b"\x80\x04\x8c\rtorch.storage\x94\x8c\x10_load_from_bytes\x94\x93\x94"
            + b"B" + struct.pack("<I", len(payload)) + payload + b"\x85R.")


def test_the_legacy_helpers_make_readable_files():
    assert read_foreign_bytes(legacy_file({"a": [1, 2]})) == {"a": [1, 2]}
    with pytest.raises(ForeignFileError, match="holds no storage"):
        read_foreign_bytes(legacy_payload_with([1]))


@pytest.mark.parametrize("container", ["plain", "xz", "gz", "zip", "legacy", "nested"])
def test_a_shell_command_is_refused_by_name_and_never_runs(tmp_path, monkeypatch, container):
    monkeypatch.chdir(tmp_path)
    evil = Runs(os.system, "touch MARKER")
    data = {"legacy": legacy_file, "nested": legacy_payload_with}.get(container, lambda value: containers(
        pickle.dumps(value, protocol=2))[container])({"g_ema": evil})
    with pytest.raises(ForeignFileError, match=r"refused: .*(posix|os)\.system.*nothing from the file was run"):
        read_foreign_bytes(data)
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("target, name", [
    (collections.Counter, "collections.Counter"), (__import__("subprocess").Popen, "subprocess.Popen"),
    (eval, "builtins.eval"), (getattr, "builtins.getattr"), (__import__("builtins").exec, "builtins.exec"),
])
@pytest.mark.parametrize("container", ["plain", "xz", "gz", "zip"])
def test_unknown_globals_are_refused_by_name(target, name, container):
    data = containers(pickle.dumps([Runs(target, "1")], protocol=4))[container]
    with pytest.raises(ForeignFileError, match=rf"refused: the file asks to run {name},"):
        read_foreign_bytes(data)


def test_the_opcode_scan_refuses_before_find_class_is_asked(monkeypatch):
    """A global refused by the scan never reaches the unpickler (nothing is built before the refusal)."""
    import singan.unpickler as unpickler
    built = []
    monkeypatch.setattr(unpickler.RestrictedUnpickler, "find_class", lambda self, *name: built.append(name))
    with pytest.raises(ForeignFileError, match="posix.system"):
        read_foreign_bytes(pickle.dumps([np.ones(2), Runs(os.system, "true")], protocol=4))
    assert built == []


@pytest.mark.parametrize("data, reason", [
    (b"\x80\x02\x82\x01.", "extension registry"),  # EXT1
    (b"\x80\x02\x83\x01\x00.", "extension registry"),  # EXT2
    # STACK_GLOBAL whose strings come from a list the scan cannot follow
    (b"\x80\x04]\x94(\x8c\x05posix\x8c\x06systeme0h\x00\x8c\x01x\x93.", "cannot be checked"),
    (b"\x80\x04\x8c\x05posix\x8c\x06system\x8c\x01x0\x93.", "cannot be checked"),  # POP in between
    (b"\x80\x02X\x01\x00\x00\x00xQ.", "persistent objects outside a torch file"),  # BINPERSID
    (b"\x80\x02cposix\nsystem\n.", "posix.system"),  # GLOBAL
    (b"\x80\x02(cposix\nsystem\nX\x04\x00\x00\x00trueo.", "posix.system"),  # OBJ
    (b"\x80\x02(X\x04\x00\x00\x00trueiposix\nsystem\n.", "posix.system"),  # INST
    (b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93.", "posix.system"),  # through the memo
])
def test_hand_written_opcodes_are_refused(data, reason):
    with pytest.raises(ForeignFileError, match=reason):
        read_foreign_bytes(data)


def test_numpy_object_arrays_and_tampered_dtypes_are_refused():
    with pytest.raises(ForeignFileError, match="refused: .*dtype 'O8'"):
        read_foreign_bytes(pickle.dumps(np.array([1, "x"], dtype=object), protocol=4))
    # numpy's own dtype BUILD would accept flags that make raw bytes read as Python objects
    flagged = pickle.dumps(np.zeros(2), protocol=4).replace(b"J\xff\xff\xff\xffK\x00t", b"J\xff\xff\xff\xffK?t")
    with pytest.raises(ForeignFileError, match="refused: .*flags"):
        read_foreign_bytes(flagged)
    with pytest.raises(ForeignFileError, match="refused: .*dtype"):
        read_foreign_bytes(pickle.dumps(np.zeros(2, dtype=[("a", "f4")]), protocol=4))


def test_changing_a_tensors_state_is_refused():
    """torch's own Tensor.__setstate__ would point the tensor at any memory (it does not check bounds)."""
    data = pickle.dumps(torch.ones(2), protocol=2)
    tampered = data[:-1] + b"(K\x00K\x00K\x01\x85K\x01\x85tb."  # BUILD (0, 0, (1,), (1,)) on the tensor
    with pytest.raises(ForeignFileError, match="refused: the file tries to change the state of a Tensor"):
        read_foreign_bytes(tampered)


def test_a_storage_view_beyond_its_storage_is_refused():
    data = saved({"t": torch.ones(4)})
    archive = zipfile.ZipFile(io.BytesIO(data))
    data_pkl = archive.read("archive/data.pkl").replace(b"K\x04\x85", b"K\x09\x85")  # size 9 over 4 elements
    storages = {"0": archive.read("archive/data/0")}
    with pytest.raises(ForeignFileError, match="beyond its storage"):
        read_foreign_bytes(torch_zip(data_pkl, storages))


# files that are cut short or of another kind


@pytest.mark.parametrize("kind", ["plain", "xz", "gz", "zip", "legacy", "tensorflow"])
def test_truncated_files_give_one_line(monkeypatch, kind):
    tensor = {"w": torch.arange(64.0)}
    data = {"plain": pickle.dumps(tensor), "xz": lzma.compress(pickle.dumps(tensor)),
            "gz": gzip.compress(pickle.dumps(tensor)), "zip": saved(tensor),
            "legacy": saved(tensor, _use_new_zipfile_serialization=False),
            "tensorflow": kind == "tensorflow" and tf_pickle(monkeypatch)[0]}[kind]
    for cut in sorted({1, 7, len(data) // 3, len(data) // 2, len(data) - 9, len(data) - 1}):
        with pytest.raises(ForeignFileError) as caught:
            read_foreign_bytes(data[:cut])
        assert "\n" not in str(caught.value) and str(caught.value), (kind, cut)


@pytest.mark.parametrize("data, reason", [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "not a pickle, torch or compressed pickle file"),
    (b"", "empty"), (b"weights = [1, 2, 3]\n", "not a pickle"),
])
def test_other_formats_are_named(data, reason):
    with pytest.raises(ForeignFileError, match=reason):
        read_foreign_bytes(data)


def test_a_zip_that_is_not_a_torch_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ForeignFileError, match="not a torch file"):
        read_foreign_bytes(buffer.getvalue())


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(ForeignFileError, match="^not found$"):
        read_foreign(tmp_path / "missing.pkl")
    with pytest.raises(ForeignFileError, match="^not a file$"):
        read_foreign(tmp_path)


def test_the_allow_list_is_explicit_and_read_only():
    assert ("torch._utils", "_rebuild_tensor_v2") in ALLOWED_GLOBALS and ("posix", "system") not in ALLOWED_GLOBALS
    assert all(module.split(".")[0] in {"numpy", "torch", "dnnlib", "torch_utils", "collections", "argparse",
                                        "builtins", "__builtin__", "_codecs"} for module, _ in ALLOWED_GLOBALS)
    with pytest.raises(TypeError):
        ALLOWED_GLOBALS[("os", "system")] = os.system


SEEDS = [pickle.dumps({"a": np.arange(6, dtype="f4").reshape(2, 3), "s": np.float32(2), "t": torch.arange(5.0)[1:],
                       "p": torch.nn.Parameter(torch.ones(2))}, protocol=4),
         pickle.dumps({"a": np.arange(3, dtype="i8"), "t": torch.ones(3)}, protocol=2),
         saved({"g": collections.OrderedDict(w=torch.ones(2, 2)), "args": argparse.Namespace(size=4)}),
         saved({"g": torch.ones(3)}, _use_new_zipfile_serialization=False)]


def mutated(seed_and_changes) -> bytes:
    seed, changes = seed_and_changes
    data = bytearray(SEEDS[seed])
    for position, value in changes:
        data[position % len(data)] = value
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200), st.binary(max_size=200).map(lambda tail: b"\x80\x04" + tail),
    st.tuples(st.integers(0, len(SEEDS) - 1),
              st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4)).map(mutated)))
def test_random_or_damaged_bytes_only_ever_raise_foreign_file_errors(data):
    try:
        read_foreign_bytes(data)
    except ForeignFileError as error:
        assert "\n" not in str(error)


def test_a_compression_bomb_is_refused_before_it_takes_the_memory(monkeypatch):
    import lzma

    import singan.unpickler as unpickler

    monkeypatch.setattr(unpickler, "MAX_DECOMPRESSED", 10**6)
    bomb = lzma.compress(bytes(10**7))  # 10 MB of zeros in about 1.5 kB
    with pytest.raises(ForeignFileError, match="unpacks to more than 0.0 GB"):
        read_foreign_bytes(bomb)
