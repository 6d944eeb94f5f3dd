"""The one safe reader and writer of tensor files, and the one check of what a file holds.

Weights are safetensors files: flat name -> tensor maps that cannot hold code. Foreign `.pth` files
(such as the FID Inception weights) are read with torch.load(weights_only=True), which refuses
anything but tensors and plain containers; no code from a file ever runs. JSON state
that belongs with the tensors (a trainer's counters) travels inside the file as UTF-8 bytes in one
uint8 tensor, so the file is complete on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as encode_safetensors

STATE_KEY = "state_json"


class TensorFileError(Exception):
    """A tensor file that cannot be used; callers put `reason` into a message naming the file and its role.

    kind: "missing" (no such file), "unreadable" (not a tensor file of its format) or "not_tensors";
    detail: what the reading library said, where it said something.
    """

    def __init__(self, kind: str, reason: str, detail: str = ""):
        super().__init__(reason)
        self.kind, self.reason, self.detail = kind, reason, detail or reason


def encode_tensors(tensors: dict[str, torch.Tensor], state: dict | None = None) -> bytes:
    """A safetensors file of `tensors` (copied to the CPU), with `state` as JSON when given."""
    flat = {key: value.detach().cpu().contiguous() for key, value in tensors.items()}
    if state is not None:
        text = json.dumps(state, sort_keys=True).encode("utf-8")
        flat[STATE_KEY] = torch.frombuffer(bytearray(text), dtype=torch.uint8)
    return encode_safetensors(flat)


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The name -> tensor map of a `.safetensors` file, or of any other file as a restricted PyTorch file."""
    path = Path(path)
    if not path.is_file():
        raise TensorFileError("missing", "not found" if not path.exists() else "not a file")
    tensors = _read_safetensors(path) if path.suffix == ".safetensors" else _read_pth(path)
    if not isinstance(tensors, dict) or not all(isinstance(value, torch.Tensor) for value in tensors.values()):
        raise TensorFileError("not_tensors", "does not hold a state dict of tensors")
    return tensors


def read_tensor_container(path: str | Path) -> dict:
    """What a weights file holds at its top level, read as safely as `read_tensors`: a dict whose values
    are tensors, or (in `.pth` files of other tools) dicts of tensors and plain bookkeeping values, such
    as BasicSR's {"params_ema": {...}, "params": {...}}."""
    path = Path(path)
    if not path.is_file():
        raise TensorFileError("missing", "not found" if not path.exists() else "not a file")
    values = _read_safetensors(path) if path.suffix == ".safetensors" else _read_pth(path)
    if not isinstance(values, dict):
        raise TensorFileError("not_tensors", f"holds a {type(values).__name__}, not a state dict of tensors")
    return values


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except Exception as error:  # header, size and I/O errors all mean "not a weights file"
        raise _unreadable_safetensors(error) from None


# The element types a safetensors header names (safetensors' own spelling).
SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
                      "U8": torch.uint8, "BOOL": torch.bool}


def read_tensor_layout(path: str | Path) -> dict[str, torch.Tensor]:
    """The names, shapes and dtypes a `.safetensors` file holds, as meta tensors (no data), from its header
    alone: a file can be checked against what is expected before anything of its claimed size is allocated.
    Other files are read whole."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return {key: value.to("meta") for key, value in read_tensors(path).items()}
    if not path.is_file():
        raise TensorFileError("missing", "not found" if not path.exists() else "not a file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            # The header's offsets are checked against the file's length when it is opened.
            slices = {key: handle.get_slice(key) for key in handle.keys()}
            return {key: torch.empty(piece.get_shape(), dtype=SAFETENSORS_DTYPES[piece.get_dtype()], device="meta")
                    for key, piece in slices.items()}
    except Exception as error:  # header, size, dtype and I/O errors all mean "not a weights file"
        raise _unreadable_safetensors(error) from None


def _unreadable_safetensors(error: Exception) -> TensorFileError:
    """What the safetensors library said, its first line, as our error."""
    reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    return TensorFileError("unreadable", f"unreadable as a safetensors file ({reason})", reason)


def _read_pth(path: Path) -> object:
    """A PyTorch file read with weights_only=True: anything but tensors and containers is refused."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # corrupt or hostile files fail in many ways; all mean "not weights"
        # torch's own message suggests weights_only=False, which we never do, so it is not passed on.
        raise TensorFileError("unreadable", "unreadable: not a PyTorch weights file, or it holds objects other "
                                            "than tensors (only plain tensors are read)") from None


def split_state(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict | None]:
    """The tensors without the JSON state `encode_tensors` stored, and that state (None when absent or unreadable)."""
    tensors = dict(tensors)
    encoded = tensors.pop(STATE_KEY, None)
    try:
        return tensors, json.loads(bytes(encoded.numpy()).decode("utf-8"))
    except (AttributeError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return tensors, None


def prefixed(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A module's state dict with every key under `prefix` (several modules in one file)."""
    return {prefix + key: value for key, value in module.state_dict().items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors whose keys start with `prefix`, keyed without it (a module's state dict)."""
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


@dataclass
class Mismatch:
    """How a file's tensors differ from the ones expected (names, shapes and dtypes, finite values)."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    reshaped: list[str] = field(default_factory=list)  # "name is (3, 4) float32, expected (3, 3) float32"
    non_finite: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.reshaped or self.non_finite)

    def describe(self) -> str:
        """One line: '2 missing tensor(s), e.g. a; 1 wrong shape tensor(s), e.g. b is (3,) float32, ...'."""
        parts = [f"{len(names)} {label} tensor(s), e.g. {names[0]}"
                 for label, names in (("missing", self.missing), ("unexpected", self.unexpected),
                                      ("wrong shape", self.reshaped), ("NaN or infinite", self.non_finite)) if names]
        return "; ".join(parts)


def compare_tensors(found: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                    match_dtype: bool = True) -> Mismatch:
    """What keeps `found` from loading where `expected` (tensors of the right shapes and dtypes) would."""
    mismatch = Mismatch(sorted(set(expected) - set(found)), sorted(set(found) - set(expected)))
    for key in sorted(set(expected) & set(found)):
        tensor, reference = found[key], expected[key]
        if tuple(tensor.shape) != tuple(reference.shape) or (match_dtype and tensor.dtype != reference.dtype):
            mismatch.reshaped.append(f"{key} is {tuple(tensor.shape)} {tensor.dtype}, expected "
                                     f"{tuple(reference.shape)} {reference.dtype}")
        # A layout read from a header (meta tensors) has no values to check.
        elif tensor.is_floating_point() and not tensor.is_meta and not torch.isfinite(tensor).all():
            mismatch.non_finite.append(key)
    return mismatch
