"""bench/wild_seeds.py end to end: the wild conditions rendered with other seeds, read with
a model whose answer is known (always LIKELY), on synthetic digits."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from conftest import LIKELY, ROOT, synthetic_digits


def bench(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench/wild_seeds.py"), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_wild_seeds_reads_every_condition_at_every_seed(tmp_path, models):
    x, y = synthetic_digits(200, seed=4)
    np.savez(tmp_path / "test.npz", x=(x / 255.0).astype(np.float32), y=y)
    out = tmp_path / "seeds.json"
    res = bench(tmp_path, "--model", str(models["good"]), "--test", str(tmp_path / "test.npz"), "--seeds", "3,5",
                "--per-condition", "10", "--conditions", "tight_28,underlined", "--workers", "1",
                "--metrics", str(tmp_path / "none.json"), "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert list(doc["seeds"]) == ["3", "5"] and list(doc["accuracy"]) == ["seed 3", "seed 5"]
    for seed, conds in doc["seeds"].items():
        assert list(conds) == ["tight_28", "underlined"]
        for name, c in conds.items():
            assert c["n"] == 10
            # the model answers LIKELY whatever it sees: every wrong answer is LIKELY (or a refusal)
            assert all(digit != label and digit in (LIKELY, None) for _, label, digit in c["wrong"])
            assert c["accuracy"] == round((c["n"] - len(c["wrong"])) / c["n"], 4)
            assert c["ci95"][0] <= c["accuracy"] <= c["ci95"][1]
            assert doc["accuracy"][f"seed {seed}"][name] == c["accuracy"]
    below = {c for c in ("tight_28", "underlined") if min(a[c] for a in doc["accuracy"].values()) < 0.96}
    assert set(doc["below_floor"]) == below and below  # a model that always says 7 fails
    assert (tmp_path / "seeds.png").stat().st_size > 1000


def test_wild_seeds_refuses_an_unknown_condition_in_one_line(tmp_path, models):
    out = tmp_path / "seeds.json"
    res = bench(tmp_path, "--model", str(models["good"]), "--conditions", "tight_28,nope", "--out", str(out))
    assert res.returncode == 1 and not out.exists()
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "unknown condition(s) nope" in res.stderr
