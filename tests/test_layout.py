"""The wings' import contracts (pyproject.toml [tool.importlinter]) hold, and each one fails
when a module crosses its boundary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path, src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}  # ahead of the editable install
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_contracts_hold():
    res = _lint(ROOT, ROOT / "src")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "4 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("recognize/normalize.py", "import keras", "the recogniser needs no pipeline"),
    ("recognize/predict.py", "from digits.pipeline import wild", "the recogniser needs no pipeline"),
    ("pipeline/data.py", "from digits.review import gate", "the pipeline imports neither review"),
    ("storage.py", "from digits.recognize import tflite", "the shared modules belong to no wing"),
    ("review/gate.py", "from digits import cli", "nothing imports the CLI"),
    ("recognize/__init__.py", "from digits.serve import app", "the recogniser needs no pipeline"),
    ("recognize/normalize.py", "import fastapi", "the recogniser needs no pipeline"),
    ("pipeline/data.py", "import digits.serve.app", "the pipeline imports neither review"),
    ("serve/app.py", "from digits import cli", "nothing imports the CLI"),
])
def test_each_contract_fails_when_broken(tmp_path, module, line, contract):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    target = tmp_path / "src/digits" / module
    target.write_text(target.read_text() + f"\n{line}  # crossing a boundary\n")
    res = _lint(tmp_path, tmp_path / "src")
    assert res.returncode == 1, res.stdout[-3000:]
    assert f"{contract}" in res.stdout and "BROKEN" in res.stdout
    assert "1 broken" in res.stdout
