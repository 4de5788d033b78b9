"""`digits report` in a clone of a temporary git+DVC repo (the way CI sees a pull request: the
baseline is origin/main), built as tests/review/test_gate.py builds its repos."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_gate import GOOD, git, new_repo, only_test_json, write_metrics

from conftest import ROOT
from digits.review.report import md_table

DIGITS = str(Path(sys.executable).with_name("digits"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16  # the report copies the figures; it never decodes them
PER_CLASS = {str(c): {"f1": 0.995 + c / 10000, "precision": 0.995, "recall": 0.995, "support": 1000}
             for c in range(10)}
WILD = {"overall": {"accuracy": 0.9852, "answered": 0.999, "n": 4800},
        "min_condition_accuracy": 0.935, "worst_condition": {"name": "blur", "accuracy": 0.935},
        "dev_set": {"accuracy": 1.0, "n": 144, "errors": 0}, "blank": {"n": 100, "refused": 0.85},
        "conditions": {"blur": {"accuracy": 0.935}, "faint": {"accuracy": 0.99}}}


def write_json(repo: Path, path: str, doc: dict) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(json.dumps(doc))


@pytest.fixture
def clone(tmp_path: Path, empty_repo: Path) -> Path:
    """A clone of a repo whose main holds committed metrics, params and figures: CI's checkout,
    with the baseline as origin/main."""
    origin = new_repo(empty_repo, tmp_path / "origin")
    (origin / "dvc.yaml").write_text(yaml.safe_dump({
        "stages": {"train": {"cmd": "true", "params": ["train"]}},
        "metrics": ["metrics/test.json", "metrics/wild.json"]}))
    (origin / "params.yaml").write_text("train:\n  model: cnn\n  epochs: 14\n  lr: 0.003\n")
    (origin / "gate.yaml").write_text(yaml.safe_dump(only_test_json(ROOT / "gate.yaml")))
    write_metrics(origin, **GOOD)
    write_json(origin, "metrics/per_class.json", PER_CLASS)
    write_json(origin, "metrics/wild.json", WILD)
    (origin / "metrics/plots").mkdir(parents=True)
    for name in ("confusion_matrix.png", "training_curves.png"):
        (origin / "metrics/plots" / name).write_bytes(PNG)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "baseline")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    return work


def report(repo: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    res = subprocess.run([DIGITS, "report", *args, "-o", "report.md"], cwd=repo, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res, (repo / "report.md").read_text()


def lower_accuracy(repo: Path) -> None:
    """What a run with fewer epochs does: a lower accuracy, and a class or two worse."""
    params = (repo / "params.yaml").read_text().replace("epochs: 14", "epochs: 3")
    (repo / "params.yaml").write_text(params)
    write_metrics(repo, **{**GOOD, "accuracy": 0.9931})
    per_class = json.loads(json.dumps(PER_CLASS))
    per_class["7"]["f1"] -= 0.006
    write_json(repo, "metrics/per_class.json", per_class)


def test_lowered_accuracy_gives_a_report_that_says_first_that_it_fails_and_why(clone):
    lower_accuracy(clone)
    res, md = report(clone, "--baseline", "origin/main")
    first = md.splitlines()[:6]
    assert "FAIL" in first[0] and "`origin/main`" in first[0], first
    why = [ln for ln in first if ln.startswith("- ")]
    # the floor (0.995) and the comparison with origin/main (worse by 0.0031 > 0.0005)
    assert any("`metrics/test.json:accuracy >= 0.995`: BELOW FLOOR: 0.9931" in ln for ln in why), first
    assert any("`metrics/test.json:accuracy`: REGRESSION" in ln and "0.9962 → 0.9931" in ln for ln in why), first
    assert "2 of 4 checks failed" in "\n".join(first)
    assert "FAIL" in res.stdout
    # the rest: what changed, and why it may have
    assert re.search(r"^\| `train.epochs` \| 14 \| 3 \|$", md, flags=re.M), md
    assert re.search(r"^\| `7` \| 0\.9957 \| 0\.9897 \| -0\.0060 \|$", md, flags=re.M), md
    assert "| `3` |" not in md  # classes that did not move are left out
    # the figures, copied beside the report and linked by name
    for name in ("confusion_matrix.png", "training_curves.png"):
        assert (clone / f"report-{name}").read_bytes() == PNG
        assert f"](report-{name})" in md


def test_equal_metrics_pass_and_show_nothing_moved(clone):
    _, md = report(clone, "--baseline", "origin/main")
    assert md.startswith("## ✅ PASS: the metrics gate holds against `origin/main`")
    assert "No params changed" in md and "No class's F1 moved." in md
    assert "REGRESSION" not in md


def test_a_report_with_no_baseline_says_so(clone):
    lower_accuracy(clone)
    _, md = report(clone, "--baseline", "none")
    head = "\n".join(md.splitlines()[:8])
    assert "with no baseline (floors only)" in md.splitlines()[0]
    assert "**No baseline**" in head and "floors only" in head
    assert "REGRESSION" not in md and "Params changed" not in md and "Per-class" not in md
    assert "BELOW FLOOR" in head  # the floors still hold (or not)


def test_a_baseline_that_is_not_a_commit_is_reported_as_no_baseline(clone):
    _, md = report(clone, "--baseline", "no-such-branch")
    assert "**No baseline**: baseline 'no-such-branch' is not a commit here (first run?): floors only" in md


def table_blocks(md: str) -> list[list[str]]:
    blocks, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks


def cells(row: str) -> list[str]:
    assert row.startswith("| ") and row.endswith(" |"), row
    return re.split(r"(?<!\\)\|", row[1:-1])


def test_markdown_tables_are_well_formed(clone):
    lower_accuracy(clone)
    write_json(clone, "metrics/wild.json", {**WILD, "conditions": {**WILD["conditions"], "blur": {"accuracy": 0.9}}})
    write_json(clone, "metrics/numbers.json", {"overall": {"exact": 0.91, "per_digit": 0.97},
                                               "apart": {"exact": 0.95}, "touching": {"exact": 0.83},
                                               "dev_set": {"correct": 36, "n": 40}})
    _, md = report(clone, "--baseline", "origin/main")
    blocks = table_blocks(md)
    assert len(blocks) == 5  # metrics, params, per-class F1, wild, numbers
    for block in blocks:
        width = len(cells(block[0]))
        assert width >= 2
        assert all(re.fullmatch(r" -{3}:? ", c) for c in cells(block[1])), block[1]
        assert all(len(cells(row)) == width for row in block), block
        assert all(c.strip() for row in block for c in cells(row)), block  # no empty cell
        assert md.split("\n".join(block))[0].endswith("\n\n"), "a table must follow a blank line"
    assert "| condition `blur` | 0.9350 | 0.9000 | -0.0350 |" in md
    assert "| development set (real) | – | 0.9000 (36 of 40) | – |" in md


def test_the_benchmarks_are_reported_when_they_exist_and_said_absent_when_not(clone):
    (clone / "metrics/wild.json").unlink()
    _, md = report(clone, "--baseline", "origin/main")
    assert "### Wild benchmark (`metrics/wild.json`)\n\nNot in the workspace" in md
    assert "### Numbers benchmark (`metrics/numbers.json`)\n\nNot in the workspace (nor at `origin/main`)" in md


def test_printed_without_o_the_figures_are_linked_where_they_are(clone):
    res = subprocess.run([DIGITS, "report", "--baseline", "origin/main"], cwd=clone, capture_output=True, text=True)
    assert res.returncode == 0
    assert "![confusion matrix](metrics/plots/confusion_matrix.png)" in res.stdout
    assert not list(clone.glob("report*"))
    (clone / "metrics/plots/training_curves.png").unlink()
    res = subprocess.run([DIGITS, "report"], cwd=clone, capture_output=True, text=True)
    assert "_training curves: `metrics/plots/training_curves.png` is not in the workspace._" in res.stdout


def test_pipes_are_escaped_and_ragged_rows_refused():
    assert md_table(["a", "b"], [["x|y", "1"]], right={1}) == ["| a | b |", "| --- | ---: |", "| x\\|y | 1 |"]
    with pytest.raises(ValueError):
        md_table(["a", "b"], [["only one"]])


def test_report_is_a_subcommand():
    res = subprocess.run([DIGITS, "report", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--baseline" in res.stdout and "-o FILE" in res.stdout


def test_the_ci_report_script_runs_locally(clone):
    """.ci/report, the workflow's report step, in the clone: the report written, then printed."""
    (clone / ".ci").mkdir()
    shutil.copy(ROOT / ".ci/report", clone / ".ci/report")
    (clone / ".venv").symlink_to(Path(sys.executable).parents[1])
    lower_accuracy(clone)
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "REPORT")}
    res = subprocess.run(["bash", ".ci/report", "origin/main"], cwd=clone, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    md = (clone / "report.md").read_text()
    assert md.startswith("## ❌ FAIL") and md in res.stdout
    assert (clone / "report-confusion_matrix.png").is_file()
    posted = subprocess.run(["bash", ".ci/report", "--post"], cwd=clone, capture_output=True, text=True,
                            env={**env, "PATH": "/usr/bin:/bin"})  # no cml here
    assert posted.returncode == 1 and "cml is not on PATH" in posted.stderr
