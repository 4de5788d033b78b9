"""Stage scripts as users run them: bad params and bad inputs stop early, in one line, writing nothing."""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT

PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
ARGS = {
    "fetch": ["--out", "out/raw.npz"],
    "preprocess": ["--raw", "in/raw.npz", "--out-dir", "out"],
    "train": ["--train", "in/train.npz", "--val", "in/val.npz", "--model", "out/m.keras",
              "--provenance", "out/p.json", "--live", "out/live"],
    "check": ["--model", "in/m.keras", "--train", "in/train.npz", "--val", "in/val.npz",
              "--tflite", "out/m.tflite", "--provenance", "out/p.json", "--metrics", "out/c.json"],
    "evaluate": ["--test", "in/test.npz", "--model", "in/m.keras", "--tflite", "in/m.tflite",
                 "--metrics", "out/t.json", "--per-class", "out/pc.json", "--confusion", "out/cm.csv",
                 "--predictions", "out/p.csv", "--probs", "out/probs.npz"],
    "wild_render": ["--test", "in/test.npz", "--out", "out/wild"],
    "wild": ["--rendered", "in/wild", "--tflite", "in/m.tflite", "--real", "in/real", "--metrics", "out/w.json",
             "--predictions", "out/w.csv", "--grids", "out/wild"],
    "numbers_render": ["--test", "in/test.npz", "--out", "out/numbers"],
    "numbers_bench": ["--rendered", "in/numbers", "--tflite", "in/m.tflite", "--real", "in/real", "--metrics",
                      "out/n.json", "--predictions", "out/n.csv", "--sheets", "out/numbers"],
    "plots": ["--train", "in/train.npz", "--test", "in/test.npz", "--probs", "in/probs.npz",
              "--confusion", "in/cm.csv", "--live", "in/live", "--out-dir", "out"],
}


# a stage's params section, where the names differ
SECTION = {"numbers_bench": "numbers", "numbers_render": "numbers", "wild_render": "wild"}


def run_stage(tmp: Path, stage: str, params: dict, *, in_process: bool = True) -> subprocess.CompletedProcess:
    """Run a stage script in `tmp` as dvc does (`python stages/X.py ...`); by default in this
    process (runpy, as `__main__`): the same code, without paying for the imports each time."""
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp / "in").mkdir(exist_ok=True)
    (tmp / "out").mkdir(exist_ok=True)
    script = ROOT / "stages" / f"{stage}.py"
    if not in_process:
        env = {**os.environ, "MNIST_MIRROR": ""}
        return subprocess.run([sys.executable, str(script), *ARGS[stage]], cwd=tmp,
                              env=env, capture_output=True, text=True, timeout=300)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setenv("MNIST_MIRROR", "")
        mp.setattr(sys, "argv", [str(script), *ARGS[stage]])
        mp.syspath_prepend(str(ROOT / "stages"))  # `import _env`, as python does for a script
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(sys.argv, code, out.getvalue(), err.getvalue())


def assert_one_line_failure(res: subprocess.CompletedProcess, stage: str, fragment: str, tmp: Path) -> None:
    assert res.returncode == 1, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{stage}: error: ") and fragment in lines[0]
    assert list((tmp / "out").iterdir()) == []


@pytest.mark.parametrize("stage, section_update, fragment", [
    ("fetch", {"timeout": 5}, "fetch.timeout: unknown key"),
    ("fetch", {"attempts": 0}, "fetch.attempts: Input should be greater than or equal to 1"),
    ("preprocess", {"val_fraction": 0}, "preprocess.val_fraction"),
    ("preprocess", {"seed": "abc"}, "preprocess.seed"),
    ("train", {"epochs": -1}, "train.epochs"),
    ("train", {"model": "resnet"}, "train.model"),
    ("train", {"optimiser": "sgd"}, "train.optimiser: unknown key"),
    ("evaluate", {"batch_size": 1.5}, "evaluate.batch_size"),
    ("plots", {"grid_rows": 0}, "plots.grid_rows"),
    ("wild", {"per_condition": 0}, "wild.per_condition"),
    ("wild_render", {"per_condition": 0}, "wild.per_condition"),
    ("wild_render", {"uci": "yes"}, "wild.uci"),
    ("wild", {"conditions": ["blur"]}, "wild.conditions: unknown key"),
    ("numbers_bench", {"touching": 1.5}, "numbers.touching"),
    ("numbers_bench", {"count": 3}, "numbers.count"),
    ("numbers_render", {"touching": -0.1}, "numbers.touching"),
])
def test_bad_param_stops_before_work(tmp_path, stage, section_update, fragment):
    params = {k: dict(v) for k, v in PARAMS.items()}
    params[SECTION.get(stage, stage)].update(section_update)
    res = run_stage(tmp_path, stage, params)
    assert_one_line_failure(res, stage, fragment, tmp_path)


def test_a_stage_process_exits_1_with_one_line(tmp_path):
    """The same as a real process (the others above run in this one): exit status and stderr."""
    params = {k: dict(v) for k, v in PARAMS.items()}
    params["fetch"].update({"timeout": 5})
    res = run_stage(tmp_path, "fetch", params, in_process=False)
    assert_one_line_failure(res, "fetch", "fetch.timeout: unknown key", tmp_path)


def _save(path: Path, **arrays) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("x, y, fragment", [
    (np.zeros((10, 28, 27), np.uint8), np.arange(10), "expected shape (N, 28, 28)"),
    (np.zeros((10, 28, 28), np.float64), np.arange(10), "expected dtype uint8"),
    (np.zeros((10, 28, 28), np.uint8), np.arange(10) + 3, "labels must be in 0..9"),
    (np.zeros((10, 28, 28), np.uint8), np.arange(10) - 1, "labels must be in 0..9"),
    (np.zeros((10, 28, 28), np.uint8), np.arange(10) + 0.5, "expected integer labels"),
])
def test_preprocess_refuses_bad_raw_arrays(tmp_path, x, y, fragment):
    (tmp_path / "in").mkdir()
    good_x, good_y = np.zeros((20, 28, 28), np.uint8), np.arange(20) % 10
    _save(tmp_path / "in/raw.npz", x_train=x, y_train=y, x_test=good_x, y_test=good_y)
    res = run_stage(tmp_path, "preprocess", PARAMS)
    assert_one_line_failure(res, "preprocess", fragment, tmp_path)


@pytest.mark.parametrize("x, y, fragment", [
    (np.full((10, 28, 28), np.nan, np.float32), np.arange(10), "NaN"),
    (np.zeros((10, 28, 28), np.float32), np.arange(10) - 1, "labels must be in 0..9"),
    (np.zeros((10, 784), np.float32), np.arange(10), "expected shape (N, 28, 28)"),
    (np.zeros((10, 28, 28), np.uint8), np.arange(10), "expected dtype float32"),
])
def test_evaluate_refuses_bad_test_arrays(tmp_path, x, y, fragment):
    (tmp_path / "in").mkdir()
    _save(tmp_path / "in/test.npz", x=x, y=y)
    res = run_stage(tmp_path, "evaluate", PARAMS)
    assert_one_line_failure(res, "evaluate", fragment, tmp_path)


def test_check_refuses_bad_labels_before_describing_them(tmp_path):
    (tmp_path / "in").mkdir()
    _save(tmp_path / "in/train.npz", x=np.zeros((20, 28, 28), np.float32), y=np.arange(20) % 10 - 1)
    _save(tmp_path / "in/val.npz", x=np.zeros((20, 28, 28), np.float32), y=np.arange(20) % 10)
    res = run_stage(tmp_path, "check", PARAMS)
    assert_one_line_failure(res, "check", "labels must be in 0..9", tmp_path)


def test_check_refuses_a_missing_or_corrupt_model(tmp_path):
    (tmp_path / "in").mkdir()
    for split in ("train", "val"):
        _save(tmp_path / f"in/{split}.npz", x=np.zeros((20, 28, 28), np.float32), y=np.arange(20) % 10)
    res = run_stage(tmp_path, "check", PARAMS)
    assert_one_line_failure(res, "check", "in/m.keras: no such model file", tmp_path)
    (tmp_path / "in/m.keras").write_bytes(b"PK\x03\x04 truncated")
    res = run_stage(tmp_path, "check", PARAMS)
    assert_one_line_failure(res, "check", "in/m.keras: cannot load model", tmp_path)


def test_missing_and_corrupt_inputs(tmp_path):
    res = run_stage(tmp_path, "preprocess", PARAMS)
    assert_one_line_failure(res, "preprocess", "in/raw.npz: no such file", tmp_path)
    (tmp_path / "in/raw.npz").write_bytes(b"PK\x03\x04 truncated")
    res = run_stage(tmp_path, "preprocess", PARAMS)
    assert_one_line_failure(res, "preprocess", "not a readable .npz file", tmp_path)


@pytest.mark.parametrize("stage", ["wild", "numbers_bench"])
def test_benchmark_stages_refuse_a_missing_model_and_dev_set(tmp_path, stage):
    (tmp_path / "in").mkdir()
    _save(tmp_path / "in/test.npz", x=np.zeros((20, 28, 28), np.float32), y=np.arange(20) % 10)
    res = run_stage(tmp_path, stage, PARAMS)
    assert_one_line_failure(res, stage, "in/m.tflite: no such model", tmp_path)
    (tmp_path / "in/m.tflite").write_bytes(b"x")
    res = run_stage(tmp_path, stage, PARAMS)
    assert_one_line_failure(res, stage, "in/real: no labels.csv", tmp_path)
    (tmp_path / "in/real").mkdir()
    (tmp_path / "in/real/labels.csv").write_text("file,label\n")
    # each reads what its render stage wrote
    rendered, missing, listing = {"wild": ("wild", "no rendered conditions (run wild_render", "noise"),
                                  "numbers_bench": ("numbers", "no rendered numbers (run numbers_render",
                                                    "synthetic")}[stage]
    res = run_stage(tmp_path, stage, PARAMS)
    assert_one_line_failure(res, stage, f"in/{rendered}: {missing}", tmp_path)
    (tmp_path / "in" / rendered / listing).mkdir(parents=True)
    (tmp_path / "in" / rendered / listing / "labels.csv").write_text("file,label,index\n")
    res = run_stage(tmp_path, stage, PARAMS)
    assert_one_line_failure(res, stage, "not a loadable TFLite model", tmp_path)


def _bar_digits(tmp: Path) -> None:
    """in/test.npz: 40 "digits", each a bar (something to draw), labelled 0-9 in turn."""
    (tmp / "in").mkdir()
    x = np.zeros((40, 28, 28), np.float32)
    x[:, 6:22, 12:16] = 1.0
    _save(tmp / "in/test.npz", x=x, y=np.arange(40) % 10)


def _files(out: Path) -> dict[Path, bytes]:
    """Every file under `out`, by its path below it."""
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _same_with_one_worker(tmp: Path, stage: str, params: dict, section: str, out: Path) -> None:
    """The stage run again with one worker writes `out` byte for byte as its run with two did."""
    first = _files(out)
    params[section]["workers"] = 1
    assert run_stage(tmp, stage, params).returncode == 0
    assert _files(out) == first


def test_numbers_render_writes_the_numbers_and_blank_pages(tmp_path):
    """The stage as dvc runs it: synthetic/ and blank/ with their labels.csv (a label is text,
    its leading 0 kept) and files, the same bytes with one worker and with two."""
    _bar_digits(tmp_path)
    params = {k: dict(v) for k, v in PARAMS.items()}
    params["numbers"].update(count=30, blanks=3, workers=2)
    res = run_stage(tmp_path, "numbers_render", params)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out/numbers"
    rows = (out / "synthetic/labels.csv").read_text().splitlines()
    assert rows[0] == "file,label,index,condition,touching" and len(rows) == 1 + 30
    labels = [r.split(",")[1] for r in rows[1:]]
    assert all(lab.isdigit() and 2 <= len(lab) <= 10 for lab in labels) and any(lab[0] == "0" for lab in labels)
    assert len(list((out / "synthetic/images").iterdir())) == 30
    assert len(list((out / "blank/images").iterdir())) == 3
    assert "33 files" in res.stdout and "wrote out/numbers" in res.stdout
    _same_with_one_worker(tmp_path, "numbers_render", params, "numbers", out)


def test_wild_render_writes_a_directory_per_condition(tmp_path):
    """The stage as dvc runs it: a directory per condition with labels.csv and its files, the
    same bytes with one worker and with two; a corrupt test.npz writes nothing."""
    _bar_digits(tmp_path)
    params = {k: dict(v) for k, v in PARAMS.items()}
    params["wild"].update(per_condition=10, blanks=2, uci=False, workers=2)
    res = run_stage(tmp_path, "wild_render", params)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out/wild"
    dirs = sorted(p.name for p in out.iterdir())
    assert len(dirs) == 26 + 1 and "blank" in dirs and "mpo" in dirs
    rows = (out / "faint/labels.csv").read_text().splitlines()
    assert rows[0] == "file,label,index" and len(rows) == 1 + 10
    assert len(list((out / "faint/images").iterdir())) == 10
    assert "files" in res.stdout and "wrote out/wild" in res.stdout
    _same_with_one_worker(tmp_path, "wild_render", params, "wild", out)
    (tmp_path / "in/test.npz").write_bytes(b"PK\x03\x04 truncated")
    shutil.rmtree(out)
    res = run_stage(tmp_path, "wild_render", params)
    assert_one_line_failure(res, "wild_render", "not a readable .npz file", tmp_path)


@pytest.mark.parametrize("stage", sorted(ARGS))
def test_stage_without_the_package_says_what_to_do(tmp_path, stage):
    """dvc.yaml runs whichever `python` is on PATH: one without the project installed (here the
    same interpreter with -E -s -S: no site-packages, no PYTHONPATH) must stop with one line naming
    the fix, not a ModuleNotFoundError traceback."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    (tmp_path / "out").mkdir()
    res = subprocess.run([sys.executable, "-E", "-s", "-S", str(ROOT / "stages" / f"{stage}.py"), *ARGS[stage]],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{stage}: error: cannot import the digits package")
    assert ". .venv/bin/activate" in lines[0] and "make setup" in lines[0]
    assert res.stdout == "" and list((tmp_path / "out").iterdir()) == []
