"""Every stage in dvc.yaml depends on every project file its script imports, directly or
through other modules: otherwise editing one leaves `dvc status` saying "up to date" while
the committed outputs are stale."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

PACKAGE = ROOT / "src" / "digits"


def _module_file(name: str) -> Path | None:
    """The file of a `digits...` module or of a helper beside the stage scripts, or None."""
    if (ROOT / "stages" / f"{name}.py").is_file():
        return ROOT / "stages" / f"{name}.py"
    if name != "digits" and not name.startswith("digits."):
        return None
    parts = name.split(".")[1:]
    base = PACKAGE.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[Path]:
    """Project files imported anywhere in `path` (top level or inside functions)."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            f = _module_file(name)
            if f is not None:
                found.add(f)
                # importing digits.a.b runs digits/__init__ and digits/a/__init__ first
                for parent in f.parents if PACKAGE in (f, *f.parents) else ():
                    if parent == PACKAGE.parent:
                        break
                    found.add(parent / "__init__.py")
    return found


def closure(script: Path) -> set[str]:
    seen: set[Path] = set()
    todo = [script]
    while todo:
        f = todo.pop()
        for g in _imports(f):
            if g not in seen:
                seen.add(g)
                todo.append(g)
    return {str(p.relative_to(ROOT)) for p in seen | {script}}


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_depends_on_everything_it_imports(stage):
    deps = {d if isinstance(d, str) else next(iter(d)) for d in STAGES[stage]["deps"]}
    needed = closure(ROOT / "stages" / f"{stage}.py")
    missing = sorted(needed - deps)
    assert not missing, f"dvc.yaml stage {stage!r} imports but does not depend on: {missing}"


def test_the_import_walk_sees_lazy_and_transitive_imports():
    needed = closure(ROOT / "stages" / "evaluate.py")
    assert "src/digits/loading.py" in needed  # imported inside main()
    assert "src/digits/layers.py" in needed  # through digits.loading
    assert "src/digits/pipeline/__init__.py" in needed  # a subpackage's __init__ runs first
