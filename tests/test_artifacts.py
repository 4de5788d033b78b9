"""The trained model is declared as DVC artifacts (dvc.yaml `artifacts:`): each one a model, with a
description and labels, whose path the train stage writes; and `dvc artifacts get` finds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

DVC = str(Path(sys.executable).with_name("dvc"))
PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())
ARTIFACTS = PIPELINE.get("artifacts") or {}


def outs(stage: str) -> set[str]:
    """The outputs of a stage in dvc.yaml (plain paths or {path: options})."""
    found = set()
    for kind in ("outs", "metrics", "plots"):
        for out in PIPELINE["stages"][stage].get(kind, []):
            found.add(out if isinstance(out, str) else next(iter(out)))
    return found


def test_the_keras_model_and_its_tflite_export_are_declared_as_model_artifacts():
    paths = {a["path"] for a in ARTIFACTS.values()}
    assert paths == {"models/model.keras", "models/model.tflite"}, ARTIFACTS
    for name, artifact in ARTIFACTS.items():
        assert artifact["type"] == "model", name
        assert isinstance(artifact.get("desc"), str) and len(artifact["desc"]) > 20, name
        assert artifact.get("labels") and all(isinstance(label, str) for label in artifact["labels"]), name
        stage = "check" if artifact["path"].endswith(".tflite") else "train"  # the export carries the check
        assert artifact["path"] in outs(stage), f"{name}: {artifact['path']} is not an output of the {stage} stage"


def test_dvc_reads_the_declaration_and_accepts_the_names(tmp_path):
    """DVC's own parser (names are checked against GTO's rules when read)."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text())
    code = ("from dvc.repo import Repo; import json; "
            "print(json.dumps({n: a.path for n, a in Repo('.').artifacts.read()['dvc.yaml'].items()}))")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert yaml.safe_load(res.stdout) == {n: a["path"] for n, a in ARTIFACTS.items()}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A git+DVC repo with the project's train outputs (small stand-in files, in its DVC cache)
    and its `artifacts:` block, tagged with a GTO version as a model registry does."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.org")
    git(repo, "config", "user.name", "ci")
    subprocess.run([DVC, "init", "-q"], cwd=repo, check=True)
    (repo / "models").mkdir()
    for artifact in ARTIFACTS.values():
        (repo / artifact["path"]).write_text(f"stand-in for {artifact['path']}\n")
    train = {"cmd": "true", "outs": sorted(a["path"] for a in ARTIFACTS.values())}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": train}, "artifacts": ARTIFACTS}))
    subprocess.run([DVC, "commit", "-q", "-f", "train"], cwd=repo, check=True, capture_output=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model")
    for name in ARTIFACTS:
        git(repo, "tag", "-a", f"{name}@v1.0.0", "-m", f"Registering artifact {name} version 1.0.0")
    return repo


def test_dvc_artifacts_get_downloads_each_artifact_offline(registry, tmp_path):
    """`dvc artifacts get` against a local repository (its own cache: no remote, no network)."""
    for name, artifact in ARTIFACTS.items():
        dest = tmp_path / f"got-{name}"
        res = subprocess.run([DVC, "artifacts", "get", str(registry), name, "--rev", "v1.0.0", "-o", str(dest)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert dest.read_text() == f"stand-in for {artifact['path']}\n"
