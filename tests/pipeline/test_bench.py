"""Smoke test of bench/train_speed.py --quick: it runs end to end and writes complete JSON
(on the real MNIST when MNIST_MIRROR names it, else on the synthetic mirror)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, env_with


@pytest.mark.slow  # a minute of training: `make test-slow`
def test_train_speed_quick(tmp_path, mnist_source):
    out = tmp_path / "speed.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench/train_speed.py"), "--quick", "--out", str(out)],
                         cwd=ROOT, env=env_with(mnist_source), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert set(doc["models"]) == {"reference", "ours", "mlp"}
    for name in ("reference", "ours"):
        m = doc["models"][name]
        assert len(m["test_accuracy_per_epoch"]) == 1 and 0 <= m["final_test_accuracy"] <= 1
        assert m["train_seconds_total"] > 0 and m["peak_rss_mib"] > 100
    for m in doc["models"].values():
        inf = m["inference"]
        assert inf["keras_batch1024_images_per_s"] > 0 and inf["litert_single_image_ms_median"] > 0
    assert "ours/reference time to 99.2%" in res.stdout
