"""The one restricted reader of pickles in the project: it reads the weight files other GAN projects publish
(NVlabs TensorFlow pickles, stylegan2-ada-pytorch .pkl files, torch .pt files) without running their code.

Their own loaders run source text stored in the file, so a weights file could run anything. Here every global
a pickle names is checked against ALLOWED_GLOBALS twice: by scanning all opcodes before anything is built,
then again in find_class. Each allowed name maps to an inert stand-in that only stores data, and the BUILD
opcode (which calls an object's __setstate__) is only allowed on those stand-ins: a tensor's own __setstate__
would point it at any memory."""

import bz2
import gzip
import io
import lzma
import math
import pickle
import pickletools
import re
import zipfile
from collections import deque
from functools import partial
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from singan.errors import ForeignFileError, one_line
from singan.memory import available_memory_bytes

TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch's legacy (non-zip) format
LEGACY_PROTOCOL = 1001
COMPRESSIONS = ((b"\xfd7zXZ\x00", lzma.LZMAFile), (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw)),
                (b"BZh", bz2.BZ2File))
NOT_RUN = "; nothing from the file was run"
# A compressed file may unpack to at most this much (the largest published StyleGAN files are under 400 MB).
MAX_DECOMPRESSED = 8 * 10**9
DECOMPRESSION_CHUNK = 1 << 20


def _check(condition, reason: str) -> None:
    if not condition:
        raise ForeignFileError(f"truncated or corrupt: {reason}")


def _refuse(reason: str):
    raise ForeignFileError(f"refused: {reason}{NOT_RUN}")


def _refuse_global(module: str, name: str):
    named = f"{module}.{name}".encode("unicode_escape").decode()[:120]  # one line, whatever the file wrote
    _refuse(f"the file asks to run {named}, which is not one of the inert pieces a weights file is made of")


def _set_attributes(target, state) -> None:
    """BUILD for the dict-like stand-ins: plain attributes only; a name the class has (a dunder, `items`,
    `keys`) would hide its method behind the file's value."""
    for part in state if isinstance(state, tuple) and len(state) == 2 else (state,):  # (dict, slots) form
        _check(part is None or isinstance(part, dict) and all(
            isinstance(key, str) and not key.startswith("__") and not hasattr(type(target), key) for key in part),
            "an object's state is not a dict of plain attributes")
        vars(target).update(part or {})


class AttributeDict(dict):
    """collections.OrderedDict (dicts keep their order): a state dict's `_metadata` arrives as an attribute."""
    __setstate__ = _set_attributes


class EasyDict(AttributeDict):
    """dnnlib's EasyDict: a dict whose keys also read as attributes."""

    def __getattr__(self, name):
        if name.startswith("__") or name not in self:
            raise AttributeError(name)
        return self[name]


class Namespace:
    """argparse.Namespace (rosinality's training options): a bag of attributes."""
    __setstate__ = _set_attributes

    def as_dict(self) -> dict:
        return dict(vars(self))

    def __repr__(self):
        return f"Namespace({', '.join(f'{key}={value!r}' for key, value in vars(self).items())})"


def _items(value) -> list:
    return list(value.items()) if isinstance(value, dict) else []


class TFNetwork:
    """dnnlib.tflib.network.Network. The original rebuilt its graph by running build_module_src; this one keeps
    the state as data. Class-level defaults stand in for a network the file never gave a state."""
    version = name = build_func_name = None
    build_module_src = ""
    static_kwargs = components = MappingProxyType({})
    variables = ()

    def __setstate__(self, state):
        _check(isinstance(state, dict), "a TensorFlow network without a state dict")
        self.version, self.name = state.get("version"), state.get("name")
        self.static_kwargs = dict(state.get("static_kwargs") or {})
        self.components = dict(state.get("components") or {})
        self.build_module_src = state.get("build_module_src", "")  # kept as text, never run
        self.build_func_name = state.get("build_func_name")
        variables = list(state.get("variables") or [])
        # A scalar variable comes out of TF's session as a numpy scalar, which the file keeps as such.
        _check(all(isinstance(item, (tuple, list)) and len(item) == 2
                   and isinstance(item[1], (np.ndarray, np.generic)) for item in variables)
               and all(isinstance(part, TFNetwork) for part in self.components.values()),
               f"TensorFlow network {str(self.name)[:40]!r} has malformed variables or components")
        self.variables = [(str(key), np.asarray(value)) for key, value in variables]

    def tensors(self) -> dict[str, np.ndarray]:
        """Every variable of the network and its components, named by component path: `mapping/Dense0/weight`."""
        found = {}
        self._collect("", found, set())
        return found

    def _collect(self, prefix: str, found: dict, path: set) -> None:
        if id(self) in path:  # a file may make a network its own component
            return
        found.update((prefix + key, value) for key, value in self.variables)
        for key, part in self.components.items():
            part._collect(f"{prefix}{key}/", found, path | {id(self)})


class PersistentObject:
    """torch_utils.persistence._reconstruct_persistent_obj(meta): stylegan2-ada-pytorch's networks. The
    original ran module_src to rebuild the class; this keeps it as text and the module's __dict__ as `state`."""
    class_name = module_src = ""
    version = None
    state = MappingProxyType({})

    def __init__(self, meta):
        _check(isinstance(meta, dict) and meta.get("type") == "class" and isinstance(meta.get("state") or {}, dict),
               "a persistent object whose record is not a class record")
        self.class_name, self.version = str(meta.get("class_name", "")), meta.get("version")
        self.module_src = meta.get("module_src", "")  # kept as text, never run
        self.state = dict(meta.get("state") or {})

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})

    def attribute(self, name: str, default=None):
        return self.state.get(name, default)

    def children(self) -> dict[str, "PersistentObject"]:
        return {key: child for key, child in _items(self.state.get("_modules"))
                if isinstance(child, PersistentObject)}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Parameters and persistent buffers of the whole tree with dotted names, as nn.Module.state_dict()."""
        found = {}
        self._collect("", found, set())
        return found

    def _collect(self, prefix: str, found: dict, path: set) -> None:
        if id(self) in path:
            return
        skipped = self.state.get("_non_persistent_buffers_set") or set()
        buffers = [(key, value) for key, value in _items(self.state.get("_buffers")) if key not in skipped]
        for key, value in _items(self.state.get("_parameters")) + buffers:
            if isinstance(value, torch.Tensor):
                found[prefix + key] = value
        for key, child in self.children().items():
            child._collect(f"{prefix}{key}.", found, path | {id(self)})


# numpy: numeric data only. numpy's own dtype BUILD accepts flags that make raw bytes read as Python objects,
# so the dtype is a checked record and the array's BUILD goes through NumericArray, which checks it first.
class NumpyDtype:
    """numpy.dtype(name, align, copy) for a plain bool/int/uint/float/complex type; `.dtype` is the real one."""
    __slots__ = ("dtype",)

    def __init__(self, name, align=False, copy=True):
        try:
            self.dtype = np.dtype(name) if isinstance(name, str) and re.fullmatch(r"[biufc]\d{1,2}", name) else None
        except TypeError:
            self.dtype = None
        if self.dtype is None:
            _refuse(f"the file holds numpy data of dtype {str(name)[:20]!r}, not a plain number type")

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[1] in ("<", ">", "|", "=")
                and state[2:5] == (None, None, None) and state[5:8] == (-1, -1, 0) and state[8:] in ((), (None,))):
            _refuse("the file gives a numpy dtype fields, sub-arrays or flags; only plain numbers are read")
        if state[1] in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(state[1])


def _dtype(value) -> np.dtype:
    _check(isinstance(value, NumpyDtype), "numpy data without a numpy dtype")
    return value.dtype


def _raw(data) -> bytes | bytearray:
    if isinstance(data, str):
        data = data.encode("latin1")  # how Python 2 pickles carried bytes
    _check(isinstance(data, (bytes, bytearray)), "numpy data that is not bytes")
    return data


def _sizes(value) -> tuple:
    _check(isinstance(value, (tuple, list)) and all(type(item) is int and item >= 0 for item in value),
           "a shape that is not a tuple of sizes")
    return tuple(value)


class NumericArray(np.ndarray):
    """A numpy array whose unpickling checks shape, dtype and data size before numpy's own __setstate__."""

    def __setstate__(self, state):
        _check(isinstance(state, tuple) and len(state) == 5, "a numpy array with a malformed state")
        version, shape, dtype, fortran, data = state
        shape, dtype, data = _sizes(shape), _dtype(dtype), _raw(data)
        _check(len(data) == math.prod(shape) * dtype.itemsize, "numpy data whose size does not match its shape")
        super().__setstate__((version, shape, dtype, bool(fortran), data))


NDARRAY = object()  # numpy.ndarray is only valid as _reconstruct's type: a tag, neither callable nor a class


def _reconstruct(kind, shape, typecode):
    _check(kind is NDARRAY and shape == (0,), "an array of a type other than numpy.ndarray")
    return np.ndarray.__new__(NumericArray, (0,), np.uint8)


def _frombuffer(data, dtype, shape, order, axis_order=None):
    """Protocol 5's form of an array: its bytes, dtype, shape and memory order."""
    data, dtype, shape = _raw(data), _dtype(dtype), _sizes(shape)
    _check(order in ("C", "F", "K") and len(data) == math.prod(shape) * dtype.itemsize, "a malformed numpy array")
    array = np.frombuffer(data, dtype=dtype)
    array = array if isinstance(data, bytearray) else array.copy()  # bytes are read-only
    if order == "K" and axis_order is not None:
        _check(sorted(axis_order) == list(range(len(shape))), "a malformed numpy axis order")
        return array.reshape(shape).transpose(axis_order)
    return array.reshape(shape, order="C" if order == "K" else order)


def _scalar(dtype, data):
    dtype, data = _dtype(dtype), _raw(data)
    _check(len(data) == dtype.itemsize, "a numpy scalar of the wrong size")
    return np.frombuffer(data, dtype=dtype)[0]


def _empty_bytes():
    """bytes() as protocol 2 writes b'' (protocol 2 also spells builtins as __builtin__); never bytes(size)."""
    return b""


def _latin1(text, encoding="latin1"):
    """_codecs.encode as protocol 2 uses it to carry bytes; no other codec."""
    _check(isinstance(text, str) and encoding in ("latin1", "latin-1"), "bytes in an unexpected encoding")
    return text.encode("latin1")


# torch
class StorageRecord:
    """One storage: raw bytes read once from the file, seen as its dtype (views of another storage share its
    root). A tensor viewing only part of it gets its own copy once it is filled, so no small tensor keeps a
    large storage alive."""
    __slots__ = ("dtype", "numel", "start", "root", "raw", "filled", "partial")

    def __init__(self, dtype, numel, limit, root=None, start=0):
        self.dtype, self.numel, self.start, self.root = dtype, numel, start, root or self
        if root is None:
            nbytes = numel * dtype.itemsize
            _check(nbytes <= limit, f"a storage of {nbytes} bytes where {limit} are left")
            self.raw, self.filled, self.partial = torch.empty(nbytes, dtype=torch.uint8), False, []
        else:
            _check(root.dtype == dtype and start + numel <= root.numel, "a storage view beyond its storage")

    def fill(self, source, little_endian: bool) -> None:
        view, done = memoryview(self.raw.numpy()), 0
        while done < len(view):
            count = source.readinto(view[done:])
            _check(count, "the data of a tensor ends early")
            done += count
        if not little_endian and self.dtype.itemsize > 1:
            elements = self.raw.view(-1, self.dtype.itemsize)
            elements.copy_(elements.flip(1))
        self.filled = True
        for tensor in self.partial:
            tensor.set_(tensor.clone(memory_format=torch.contiguous_format))
        self.partial = []


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """torch._utils._rebuild_tensor(_v2): a plain tensor, bounds checked (torch's set_ does not check them).
    A view of part of its storage, or out of order, becomes a contiguous copy; one that repeats elements
    (stride 0) stays a view, as copying it would let a small file ask for any amount of memory."""
    _check(isinstance(storage, StorageRecord), "a tensor without a storage")
    size, stride = _sizes(size), _sizes(stride)
    _check(type(offset) is int and offset >= 0 and len(size) == len(stride), "a tensor with a malformed shape")
    count = math.prod(size)
    _check(not count or offset + sum((n - 1) * s for n, s in zip(size, stride)) < storage.numel,
           "a tensor that reaches beyond its storage")
    root = storage.root
    tensor = torch.empty(0, dtype=storage.dtype).set_(root.raw.untyped_storage(), storage.start + offset,
                                                      size, stride)
    whole = root is storage and offset == 0 and count == storage.numel and tensor.is_contiguous()
    if whole or count > root.numel:
        return tensor
    if root.filled:
        return tensor.clone(memory_format=torch.contiguous_format)
    root.partial.append(tensor)
    return tensor


def _rebuild_parameter(data, requires_grad, hooks, state=None):
    """A parameter arrives as the plain tensor it wraps, without gradients or hooks."""
    _check(isinstance(data, torch.Tensor), "a parameter without a tensor")
    return data


def _load_from_bytes(data):
    """torch.storage._load_from_bytes: a storage in torch's legacy format, read by the same restricted reader."""
    _check(isinstance(data, bytes), "a storage payload that is not bytes")
    storage = read_legacy(io.BytesIO(data), nested=True)
    _check(isinstance(storage, StorageRecord), "a storage payload that holds no storage")
    return storage


STORAGE_ONLY = MappingProxyType({("torch", f"{name}Storage"): getattr(torch, dtype) for name, dtype in (
    ("Float", "float32"), ("Double", "float64"), ("Half", "float16"), ("BFloat16", "bfloat16"), ("Long", "int64"),
    ("Int", "int32"), ("Short", "int16"), ("Char", "int8"), ("Byte", "uint8"), ("Bool", "bool"))})  # dtype tags
NUMPY = {("multiarray", "_reconstruct"): _reconstruct, ("multiarray", "scalar"): _scalar,
         ("numeric", "_frombuffer"): _frombuffer}
ALLOWED_GLOBALS = MappingProxyType({
    **STORAGE_ONLY,
    **{(f"{core}.{module}", name): piece for core in ("numpy.core", "numpy._core")
       for (module, name), piece in NUMPY.items()},
    ("numpy", "ndarray"): NDARRAY, ("numpy", "dtype"): NumpyDtype,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor, ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentObject,
    ("dnnlib.util", "EasyDict"): EasyDict, ("dnnlib", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): AttributeDict, ("argparse", "Namespace"): Namespace,
    **{(module, kind.__name__): kind for module in ("builtins", "__builtin__") for kind in (set, frozenset)},
    ("builtins", "bytes"): _empty_bytes, ("__builtin__", "bytes"): _empty_bytes, ("_codecs", "encode"): _latin1,
})
BUILDABLE = {AttributeDict, EasyDict, Namespace, TFNetwork, NumpyDtype, NumericArray}  # their own __setstate__

STRING_PUSHES = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                 "BINUNICODE8"}
GETS, PUTS = {"GET", "BINGET", "LONG_BINGET"}, {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"}
UNKNOWN = object()  # a stack value the scan cannot know


def scan(stream, storages: bool, allowed) -> tuple[int, set]:
    """Walk every opcode of the pickle at the stream's position and refuse, by name, any global that is not
    allowed, before anything is built. Returns where the pickle ends and the memo entries it reads back. The
    scan follows strings through the memo, as picklers write STACK_GLOBAL's operands; any other way of
    building the names is refused."""
    recent, memo, reads = deque([UNKNOWN, UNKNOWN], maxlen=2), {}, set()
    for opcode, argument, _ in pickletools.genops(stream):
        name = opcode.name
        if name in STRING_PUSHES:
            recent.append(argument)
        elif name in GETS:
            reads.add(argument)
            recent.append(memo.get(argument, UNKNOWN))
        elif name in PUTS:
            memo[len(memo) if name == "MEMOIZE" else argument] = recent[-1]
        elif name not in ("PROTO", "FRAME"):
            _scan_opcode(name, argument, recent, storages, allowed)
            recent.append(UNKNOWN)
    return stream.tell(), reads


def _scan_opcode(name: str, argument, recent, storages: bool, allowed) -> None:
    if name in ("GLOBAL", "INST"):
        target = tuple(argument.split(" ", 1))
    elif name == "STACK_GLOBAL":
        target = tuple(recent)
        if not all(isinstance(part, str) for part in target):
            _refuse("the file builds the name of a global in a way that cannot be checked before it runs")
    elif name.startswith("EXT"):
        _refuse(f"the file uses the pickle extension registry ({name}), which no weights file needs")
    elif name in ("PERSID", "BINPERSID") and not storages:
        _refuse("the file asks for persistent objects outside a torch file")
    else:
        return
    if target not in allowed:
        _refuse_global(*target)


class SparseMemo(dict):
    """A memo that keeps only the entries the pickle reads back (the scan knows which), so that each large
    bytes payload is freed once its array or storage is built instead of living until the end."""

    def __init__(self, reads: set):
        super().__init__()
        self.reads, self.written = reads, set()

    def __setitem__(self, key, value):
        self.written.add(key)
        if key in self.reads:
            super().__setitem__(key, value)

    def __len__(self):  # MEMOIZE numbers entries by the memo's length
        return len(self.written)


class RestrictedUnpickler(pickle._Unpickler):
    """Builds only ALLOWED_GLOBALS' stand-ins (the scan has checked the names already; this is the second
    line), and serves storages through `storages` where the container is a torch file. It is pickle's own
    Python implementation of Unpickler, since only that one lets BUILD be limited to the stand-ins."""
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, stream, storages, allowed, reads):
        super().__init__(stream)
        self.storages, self.allowed, self.memo = storages, allowed, SparseMemo(reads)

    def load_build(self):
        state, target = self.stack.pop(), self.stack[-1]
        if type(target) not in BUILDABLE:
            _refuse(f"the file tries to change the state of a {type(target).__name__} after it was built")
        target.__setstate__(state)

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            _refuse_global(module, name)
        return self.allowed[(module, name)]

    def persistent_load(self, identity):
        if self.storages is None:
            _refuse("the file asks for persistent objects outside a torch file")
        return self.storages(identity)


def unpickle(stream, storages=None, allowed=ALLOWED_GLOBALS):
    """The pickle at the stream's position: scanned whole, then read; the stream is left just after it."""
    start = stream.tell()
    end, reads = scan(stream, storages is not None, allowed)
    stream.seek(start)
    value = RestrictedUnpickler(stream, storages, allowed, reads).load()
    stream.seek(end)
    return value


def _storage_identity(identity, length: int) -> tuple:
    """The fields of a persistent id ('storage', dtype tag, key, location, numel[, view])."""
    _check(isinstance(identity, tuple) and identity, "a persistent id that is not a tuple")
    if identity[0] not in ("storage", b"storage"):
        _refuse(f"the file asks for a persistent object of kind {str(identity[0])[:40]!r}; only storages are read")
    _check(len(identity) == length and isinstance(identity[1], torch.dtype) and isinstance(identity[2], str)
           and type(identity[4]) is int and identity[4] >= 0, "a malformed storage id")
    return identity


def _legacy_storage(records: dict, budget: list, identity) -> StorageRecord:
    """A storage of the legacy format, allocated now and filled after the object; all of them together may
    not claim more bytes than the file has left (`budget`), so a small file cannot ask for a large memory."""
    _, dtype, key, _, numel, view = _storage_identity(identity, 6)
    root = records.get(key)
    if root is None:
        root = records[key] = StorageRecord(dtype, numel, budget[0])
        budget[0] -= root.raw.numel()
    if view is None:
        _check(root.dtype == dtype, "a storage read with two dtypes")
        return root
    _check(isinstance(view, tuple) and len(view) == 3 and all(type(item) is int and item >= 0 for item in view[1:]),
           "a malformed storage view")
    return StorageRecord(dtype, view[2], 0, root=root, start=view[1])


def _remaining(stream) -> int:
    position = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return end - position


def read_legacy(stream, nested: bool = False):
    """torch's legacy format: pickles of the magic number, protocol and system information, the object, the
    list of storage keys, then each storage's element count and bytes. The object comes before the data, so
    storages are allocated first and filled after. A nested payload may hold storages only."""
    magic, protocol, info = (unpickle(stream, allowed={}) for _ in range(3))
    _check(magic == TORCH_MAGIC and protocol == LEGACY_PROTOCOL and isinstance(info, dict),
           "a legacy torch file with an unknown header")
    records = {}
    value = unpickle(stream, partial(_legacy_storage, records, [_remaining(stream)]),
                     STORAGE_ONLY if nested else ALLOWED_GLOBALS)
    keys = unpickle(stream, allowed={})
    _check(isinstance(keys, list) and len(keys) == len(records) and set(keys) == set(records),
           "storage keys that do not match the object")
    for key in keys:
        count = int.from_bytes(stream.read(8), "little")
        _check(count == records[key].numel, f"storage {key[:40]!r} holds {count} elements, not {records[key].numel}")
        records[key].fill(stream, info.get("little_endian", True))
    return value


def _zip_storage(archive, prefix: str, little_endian: bool, records: dict, identity) -> StorageRecord:
    _, dtype, key, _, numel = _storage_identity(identity, 5)
    if key not in records:
        member = archive.getinfo(f"{prefix}data/{key}")
        records[key] = StorageRecord(dtype, numel, member.file_size)
        with archive.open(member) as source:
            records[key].fill(source, little_endian)
            source.read(1)  # reading to the end checks the member's CRC
    _check(records[key].dtype == dtype, "a storage read with two dtypes")
    return records[key]


def read_zip(stream):
    """A torch zip file (torch.save's default): <prefix>/data.pkl and one member per storage."""
    with zipfile.ZipFile(stream) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ForeignFileError("a zip file that is not a torch file (it has no data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        order = archive.read(f"{prefix}byteorder") if f"{prefix}byteorder" in names else b"little"
        storages = partial(_zip_storage, archive, prefix, order.strip() != b"big", {})
        return unpickle(io.BytesIO(archive.read(pickles[0])), storages)


def _decompressed(reader) -> io.BytesIO:
    """All of a compressed stream in memory, written once in chunks (no second copy from joining), up to the
    limit: a few bytes of xz or gzip can unpack to any size, and the reading would take all the memory."""
    limit = _decompression_limit()
    buffer = io.BytesIO()
    with reader:
        while chunk := reader.read(DECOMPRESSION_CHUNK):
            buffer.write(chunk)
            if buffer.tell() > limit:
                raise ForeignFileError(f"refused: the file unpacks to more than {limit / 1e9:.1f} GB (no published "
                                       f"network is near that; the memory available bounds it){NOT_RUN}")
    buffer.seek(0)
    return buffer


def _decompression_limit() -> int:
    """MAX_DECOMPRESSED bytes, or half the memory available if that is less."""
    available = available_memory_bytes("cpu")
    return MAX_DECOMPRESSED if available is None else min(MAX_DECOMPRESSED, available // 2)


def _is_legacy_torch(stream) -> bool:
    """Whether the first pickle is torch's magic number (it fits in the first 64 bytes)."""
    head = stream.read(64)
    stream.seek(0)
    try:
        return unpickle(io.BytesIO(head), allowed={}) == TORCH_MAGIC
    except Exception:  # a longer first pickle, or anything else: not a legacy torch file
        return False


def _read_stream(stream, compressed: bool = True):
    head = stream.read(6)
    stream.seek(0)
    if not head:
        raise ForeignFileError("an empty file")
    for magic, opener in COMPRESSIONS:
        if head.startswith(magic):
            _check(compressed, "a compressed file inside a compressed file")
            return _read_stream(_decompressed(opener(stream)), compressed=False)
    if head.startswith(b"PK\x03\x04"):
        return read_zip(stream)
    if head[0] != 0x80:  # every pickle of protocol 2 or later starts with PROTO
        raise ForeignFileError(f"not a pickle, torch or compressed pickle file (it starts with {head[:4].hex(' ')})")
    return read_legacy(stream) if _is_legacy_torch(stream) else unpickle(stream)


def _guarded(stream):
    """Any failure of the formats' own code (zipfile, lzma, pickletools) is the file's fault: one line."""
    try:
        return _read_stream(stream)
    except (ForeignFileError, MemoryError):
        raise
    except Exception as error:
        raise ForeignFileError(f"truncated or corrupt: {one_line(error)}") from error


def read_foreign_bytes(data: bytes):
    """A weights file of another project, from memory: see read_foreign."""
    return _guarded(io.BytesIO(data))


def read_foreign(path):
    """A weights file of another project (a pickle, torch zip or legacy torch file, maybe xz, gzip or bz2
    compressed, recognised by content) as inert data; raises ForeignFileError with the reason alone."""
    path = Path(path)
    if not path.exists():
        raise ForeignFileError("not found")
    if not path.is_file():
        raise ForeignFileError("not a file")
    try:
        with path.open("rb") as stream:
            return _guarded(stream)
    except OSError as error:
        raise ForeignFileError(f"cannot be read: {one_line(error)}") from error
