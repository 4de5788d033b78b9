"""Training through DVC on the small slice of test_pipeline_e2e.py, in a project of its own
reproduced up to `evaluate` (these tests retrain it: apart from the other file's project,
pytest-xdist runs the two side by side): training and the check's fit are deterministic (the
exported model byte for byte), and a training killed
mid-epoch leaves nothing half-written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from test_pipeline_e2e import BIN, _mnist, sh, small_project  # noqa: F401  (_mnist: autouse fixture)

pytestmark = pytest.mark.slow  # minutes: `make test-slow`


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    proj, out = small_project(tmp_path_factory, "evaluate")
    assert "Running stage 'train'" in out and "Running stage 'wild'" not in out
    return proj


def test_force_repro_twice_gives_identical_metrics(project):
    runs = []
    for _ in range(2):
        sh([str(BIN / "dvc"), "repro", "--force", "--single-item", "train", "check", "evaluate"], project)
        runs.append({f: (project / f).read_bytes() for f in ("metrics/test.json", "metrics/train/metrics.json",
                                                             "metrics/predictions.csv", "metrics/check.json",
                                                             "models/model.tflite")})
    assert runs[0] == runs[1]


def test_sigkill_mid_training_loses_nothing_and_repro_recovers(project):
    model = project / "models/model.keras"
    before = model.read_bytes()
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["epochs"] = 50  # long enough to be killed mid-epoch
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = subprocess.Popen([str(BIN / "dvc"), "repro", "train"], cwd=project, start_new_session=True,
                            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    step_file = None
    while time.time() < deadline:  # wait until at least one epoch has been logged
        hits = list((project / "metrics").glob(".tmp-*-train/plots/metrics/train/loss.tsv"))
        if hits and len(hits[0].read_text().splitlines()) >= 2:
            step_file = hits[0]
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert step_file is not None, "training never logged an epoch"
    # the declared outputs are the previous ones or absent, never partial
    assert not model.exists() or model.read_bytes() == before
    assert not (project / "models/model.tflite").exists() or (project / "models/model.tflite").stat().st_size > 0
    params["train"]["epochs"] = 2
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh([str(BIN / "dvc"), "repro", "evaluate"], project)
    assert model.is_file()
    assert not list((project / "metrics").glob(".tmp-*"))  # the killed run's temporary is gone
    status = sh([str(BIN / "dvc"), "status", "train", "evaluate"], project).stdout
    assert "up to date" in status
