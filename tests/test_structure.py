"""The code's shape: dependencies point one way, and a few rules that keep the package portable and safe."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "singan").rglob("*.py")) + sorted((ROOT / "tasks").rglob("*.py"))

# Layers from the bottom up: a module may import its own layer and the ones below it.
LAYERS = [
    ("base", ["singan", "singan.errors", "singan.files", "singan.device", "singan.seeds", "singan.ranges",
              "singan.events", "singan.images", "singan.memory", "singan.tensorfile", "singan.pyramid",
              "singan.config", "singan.metrics", "singan.unpickler"]),
    ("nn", ["singan.nn"]),
    ("models", ["singan.models"]),
    ("losses and data", ["singan.losses", "singan.data"]),
    ("training", ["singan.training"]),
    ("runs", ["singan.runs"]),
    ("tasks", ["tasks"]),
    ("api", ["singan.api"]),
    ("cli", ["singan.cli", "singan.__main__"]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name: str) -> int:
    """The layer of a module: the one whose longest prefix names it ("singan" alone is the package root)."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or (prefix != "singan" and name.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    assert best is not None, f"{name} belongs to no layer"
    return best[0]


def is_module(name: str) -> bool:
    """Whether a dotted name is one of our modules or packages (not a function or class in one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    return imports_in(path.read_text())


def imports_in(source: str) -> set[str]:
    """The modules a source imports; `from singan import api` is the module singan.api, not the package."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names
                         if is_module(f"{node.module}.{alias.name}"))
    return names


def test_imports_of_modules_resolve_to_the_module():
    found = imports_in("from singan import api\nfrom singan.runs import gan\nfrom singan.errors import RunError\n")
    assert {"singan.api", "singan.runs.gan"} <= found and "singan.errors.RunError" not in found
    assert layer_of("singan") == 0 and layer_of("singan.api") == layer_of("singan.api.gan") > layer_of("tasks")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_dependencies_point_one_way(path):
    own = layer_of(module_name(path))
    for name in imports(path):
        if name.split(".")[0] in ("singan", "tasks"):
            assert layer_of(name) <= own, f"{module_name(path)} ({LAYERS[own][0]}) imports {name}"


def test_every_family_lives_in_its_packages():
    """No module at the package root is named after a family, and the training loop never asks which
    architecture it trains (that is the objective's business)."""
    assert not [path.name for path in (ROOT / "singan").glob("gan_*.py")]
    branches = re.compile(r"arch ==|arch in|\.arch\)")
    found = [f"{path.relative_to(ROOT)}:{number}" for path in sorted((ROOT / "singan" / "training").rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), start=1) if branches.search(line)]
    assert not found


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


# The one module that may read pickles: the restricted reader of other projects' weight files. Others may
# name it (to import it), and nothing else with "pickle" in it.
PICKLE_READER = "singan.unpickler"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_no_hard_coded_devices_pickles_or_eval(path):
    text = path.read_text()
    own = module_name(path) == PICKLE_READER
    assert ".cuda(" not in text, f"{module_name(path)} contains .cuda("
    assert own or "pickle" not in text.replace(PICKLE_READER, ""), f"{module_name(path)} contains pickle"
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
