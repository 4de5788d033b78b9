"""`digits check-metrics` against floors and a baseline revision, in a temporary git+DVC repo."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from digits.review.gate import Check, judge, run

DVC = str(Path(sys.executable).with_name("dvc"))


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def write_metrics(repo: Path, **values: float) -> None:
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / "metrics/test.json").write_text(json.dumps(values))


def new_repo(template: Path, path: Path) -> Path:
    """A copy of `template` at `path`: as if made there with git init and dvc init."""
    shutil.copytree(template, path, symlinks=True, dirs_exist_ok=True)
    return path


@pytest.fixture
def repo(tmp_path: Path, empty_repo: Path) -> Path:
    new_repo(empty_repo, tmp_path)
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - metrics/test.json\n")
    (tmp_path / "params.yaml").write_text("train:\n  model: cnn\n")
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump(only_test_json(ROOT / "gate.yaml")))
    return tmp_path


def only_test_json(path: Path) -> dict:
    """The project's gate, restricted to metrics/test.json (what these tests write)."""
    cfg = yaml.safe_load(path.read_text())
    cfg["checks"] = {f: c for f, c in cfg["checks"].items() if f == "metrics/test.json"}
    cfg["floors"] = {m: {k: v for k, v in fl.items() if k.startswith("metrics/test.json:")}
                     for m, fl in cfg["floors"].items()}
    return cfg


def test_the_committed_metrics_clear_the_projects_floors(capsys):
    """What CI enforces on this repository: every floor in gate.yaml, wild benchmark included."""
    code = run(gate_file="gate.yaml", params_file="params.yaml", baseline=None, cwd=ROOT)
    out = capsys.readouterr().out
    assert "metrics/wild.json:overall.accuracy" in out and "metrics/wild.json:min_condition_accuracy" in out
    assert code == 0, out


def commit_baseline(repo: Path, **values: float) -> None:
    write_metrics(repo, **values)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")


def gate(repo: Path, capsys, baseline: str | None = "HEAD") -> tuple[int, str]:
    code = run(gate_file="gate.yaml", params_file="params.yaml", baseline=baseline, cwd=repo)
    return code, capsys.readouterr().out


GOOD = {"accuracy": 0.9962, "f1_macro": 0.9961, "loss": 0.0130}


def test_equal_metrics_pass(repo, capsys):
    commit_baseline(repo, **GOOD)
    code, out = gate(repo, capsys)
    assert code == 0
    assert "identical to HEAD" in out
    assert "metric" in out and "baseline" in out and "verdict" in out
    assert out.count(" same") == 3


def test_lowered_metric_fails(repo, capsys):
    commit_baseline(repo, **GOOD)
    write_metrics(repo, **{**GOOD, "accuracy": 0.9950})
    code, out = gate(repo, capsys)
    assert code == 1
    line = next(ln for ln in out.splitlines() if "REGRESSION" in ln)
    assert line.startswith("metrics/test.json:accuracy ") and "-0.0012" in line
    assert "FAIL: 1 of 4" in out


def test_change_within_tolerance_and_improvement_pass(repo, capsys):
    commit_baseline(repo, **GOOD)
    write_metrics(repo, accuracy=0.9960, f1_macro=0.9970, loss=0.0120)
    code, out = gate(repo, capsys)
    assert code == 0
    assert "within tolerance" in out and "better" in out


def test_below_floor_fails_even_without_regression(repo, capsys):
    commit_baseline(repo, accuracy=0.9900, f1_macro=0.99, loss=0.03)
    code, out = gate(repo, capsys)  # equal to baseline, but the cnn floor is 0.995
    assert code == 1
    assert "BELOW FLOOR" in out


def test_mlp_has_its_own_floor(repo, capsys):
    (repo / "params.yaml").write_text("train:\n  model: mlp\n")
    commit_baseline(repo, accuracy=0.9780, f1_macro=0.978, loss=0.07)
    code, out = gate(repo, capsys)
    assert code == 0 and ">= 0.975" in out


def test_no_baseline_commit_checks_floors_only(repo, capsys):
    write_metrics(repo, **GOOD)  # nothing committed yet: HEAD does not exist
    code, out = gate(repo, capsys)
    assert code == 0
    assert "is not a commit here (first run?): floors only" in out


def test_metric_new_in_this_revision(repo, capsys):
    commit_baseline(repo, accuracy=0.9962, loss=0.013)
    write_metrics(repo, **GOOD)
    code, out = gate(repo, capsys)
    assert code == 0
    assert "no baseline (new metric)" in out


def test_missing_workspace_metrics_is_a_clear_error(repo, capsys):
    from digits.errors import DigitsError

    with pytest.raises(DigitsError, match="run dvc repro first"):
        gate(repo, capsys)


def test_judge_directions():
    hi, lo = Check(better="higher", tolerance=0.001), Check(better="lower", tolerance=0.01)
    assert judge("a", 0.99, 0.9895, hi).ok
    assert not judge("a", 0.99, 0.988, hi).ok
    assert judge("l", 0.10, 0.105, lo).ok
    assert not judge("l", 0.10, 0.12, lo).ok
    assert not judge("a", 0.99, float("nan"), hi).ok
    assert not judge("a", 0.99, None, hi).ok


def test_cli_exit_codes(repo):
    commit_baseline(repo, **GOOD)
    digits = str(Path(sys.executable).with_name("digits"))
    ok = subprocess.run([digits, "check-metrics"], cwd=repo, capture_output=True, text=True)
    assert ok.returncode == 0 and "check-metrics: ok" in ok.stdout
    write_metrics(repo, **{**GOOD, "loss": 0.05})
    bad = subprocess.run([digits, "check-metrics", "--baseline", "HEAD"], cwd=repo, capture_output=True, text=True)
    assert bad.returncode == 1 and "REGRESSION" in bad.stdout
    floors = subprocess.run([digits, "check-metrics", "--baseline", "none"], cwd=repo, capture_output=True, text=True)
    assert floors.returncode == 0 and "floors only" in floors.stdout
    usage = subprocess.run([digits, "check-metrics", "--bogus"], cwd=repo, capture_output=True, text=True)
    assert usage.returncode == 2


def test_the_measured_cross_cpu_difference_is_within_the_gates_tolerances():
    """The same params on two CPU types (bfloat16 runs of earlier sessions): 39 errors, loss
    0.1120 on one, 38 errors, loss 0.1118 on the other. Byte-identical metrics hold on one
    CPU type only, so the gate must pass that difference in either direction."""
    checks = {k: Check(**v) for k, v in yaml.safe_load((ROOT / "gate.yaml").read_text())
              ["checks"]["metrics/test.json"].items()}
    one = {"accuracy": 0.9961, "loss": 0.1120}
    other = {"accuracy": 0.9962, "loss": 0.1118}
    for old, new in ((one, other), (other, one)):
        for metric in ("accuracy", "loss"):
            assert judge(metric, old[metric], new[metric], checks[metric]).ok
    # ... while a real regression of a few errors does not pass.
    assert not judge("accuracy", 0.9962, 0.9955, checks["accuracy"]).ok


def write_provenance(repo: Path, **versions: str) -> None:
    (repo / "models").mkdir(exist_ok=True)
    (repo / "models/provenance.json").write_text(json.dumps({"params": {}, "versions": versions}))


BASE_VERSIONS = {"python": "3.11.7", "tensorflow-cpu": "2.20.0", "keras": "3.12.0", "numpy": "2.4.6"}


def test_a_failure_names_the_library_versions_that_differ_from_the_baselines(repo, capsys):
    write_provenance(repo, **BASE_VERSIONS)
    commit_baseline(repo, **GOOD)
    write_provenance(repo, **{**BASE_VERSIONS, "keras": "3.15.1", "tensorflow-cpu": "2.21.0"})
    write_metrics(repo, **{**GOOD, "loss": 0.05})
    code, out = gate(repo, capsys)
    assert code == 1
    assert "library versions differ between the baseline (models/provenance.json at HEAD)" in out
    drift = [ln.split() for ln in out.splitlines() if ln.startswith("check-metrics:   ")]
    assert drift == [["check-metrics:", "keras", "3.12.0", "->", "3.15.1"],
                     ["check-metrics:", "tensorflow-cpu", "2.20.0", "->", "2.21.0"]]  # numpy, python: same
    assert out.index("differ between") < out.index("FAIL:")


def test_another_tensorflow_build_shows_as_drift(repo, capsys):
    write_provenance(repo, **BASE_VERSIONS)
    commit_baseline(repo, **GOOD)
    arm = {k: v for k, v in BASE_VERSIONS.items() if k != "tensorflow-cpu"} | {"tensorflow": "2.20.0"}
    write_provenance(repo, **arm)  # e.g. an Apple-silicon run: `tensorflow`, not `tensorflow-cpu`
    write_metrics(repo, **{**GOOD, "accuracy": 0.9950})
    code, out = gate(repo, capsys)
    assert code == 1
    assert "tensorflow      absent -> 2.20.0" in out and "tensorflow-cpu  2.20.0 -> absent" in out


def test_same_versions_say_the_failure_is_not_version_drift(repo, capsys):
    write_provenance(repo, **BASE_VERSIONS)
    commit_baseline(repo, **GOOD)
    write_metrics(repo, **{**GOOD, "accuracy": 0.9950})
    code, out = gate(repo, capsys)
    assert code == 1
    assert "library versions are the same as the baseline's" in out and "not version drift" in out
    assert "differ between" not in out


def test_versions_are_not_reported_when_the_gate_passes_or_the_baseline_has_no_provenance(repo, capsys):
    write_provenance(repo, **BASE_VERSIONS)
    commit_baseline(repo, **GOOD)
    write_provenance(repo, **{**BASE_VERSIONS, "keras": "3.15.1"})
    code, out = gate(repo, capsys)  # metrics equal: versions do not matter
    assert code == 0 and "library versions" not in out
    git(repo, "rm", "-q", "--cached", "models/provenance.json")
    git(repo, "commit", "-q", "-m", "no provenance")
    write_metrics(repo, **{**GOOD, "accuracy": 0.9950})
    code, out = gate(repo, capsys)
    assert code == 1
    assert "no library versions in models/provenance.json at HEAD: version drift not checked" in out
