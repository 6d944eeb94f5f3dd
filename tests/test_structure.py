"""The code's shape: dependencies point one way, and a few rules that keep the package portable and safe."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "singan").rglob("*.py")) + sorted((ROOT / "tasks").rglob("*.py"))

# Layers from the bottom up: a module may import its own layer and the ones below it.
LAYERS = [
    ("base", ["singan.errors", "singan.files", "singan.config", "singan.device", "singan.events",
              "singan.images", "singan.pyramid", "singan.metrics", "singan.imagefolder", "singan.gan_config",
              "singan"]),
    ("nn", ["singan.nn"]),
    ("models", ["singan.models"]),
    ("training", ["singan.training", "singan.checkpoint", "singan.runs", "singan.gan_checkpoint"]),
    ("tasks", ["tasks"]),
    ("api", ["singan.api", "singan.gan_api"]),
    ("cli", ["singan.cli", "singan.__main__"]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, f"{name} belongs to no layer"
    return best[0]


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_dependencies_point_one_way(path):
    own = layer_of(module_name(path))
    for name in imports(path):
        if name.split(".")[0] in ("singan", "tasks"):
            assert layer_of(name) <= own, f"{module_name(path)} ({LAYERS[own][0]}) imports {name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_only_the_cli_uses_typer_and_rich(path):
    if module_name(path).startswith("singan.cli"):
        return
    assert not {name.split(".")[0] for name in imports(path)} & {"typer", "rich", "click"}


def unsafe_torch_loads(tree: ast.AST) -> list[int]:
    """Lines that use torch.load other than as a call with weights_only=True (which reads no code)."""
    safe = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
            keyword.arg == "weights_only" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
            for keyword in node.keywords
        ):
            safe.add(id(node.func))
    lines = []
    for node in ast.walk(tree):
        is_attribute = (isinstance(node, ast.Attribute) and node.attr == "load"
                        and isinstance(node.value, ast.Name) and node.value.id == "torch")
        if is_attribute and id(node) not in safe:
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "torch" and any(a.name == "load" for a in node.names):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_no_hard_coded_devices_pickles_or_eval(path):
    text = path.read_text()
    for forbidden in (".cuda(", "pickle"):
        assert forbidden not in text, f"{module_name(path)} contains {forbidden}"
    unsafe = unsafe_torch_loads(ast.parse(text))
    assert not unsafe, f"{module_name(path)} calls torch.load without weights_only=True on line(s) {unsafe}"
    # the builtins, not a module's .eval()
    assert not re.search(r"(?<![.\w])(eval|exec)\(", text), f"{module_name(path)} runs code from text"


@pytest.mark.parametrize("source, unsafe", [
    ("torch.load(path, weights_only=True)", False),
    ("torch.load(path, map_location='cpu', weights_only=True)", False),
    ("torch.load(path)", True),
    ("torch.load(path, weights_only=False)", True),
    ("torch.load(path, weights_only=flag)", True),
    ("reader = torch.load", True),
    ("from torch import load", True),
])
def test_the_torch_load_rule_itself(source, unsafe):
    assert bool(unsafe_torch_loads(ast.parse(source))) is unsafe
