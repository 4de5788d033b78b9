"""The docs stay in step with the code: every module and stage listed, every pointer to a
README section or a script resolves, and the figures quoted equal the files they cite."""

from __future__ import annotations

import json
import re
import subprocess

import yaml

from conftest import ROOT

README = (ROOT / "README.md").read_text()
HEADINGS = [h.strip() for h in re.findall(r"^#{1,4} (.+)$", README, flags=re.M)]


def _section(title: str) -> str:
    m = re.search(rf"^#+ {re.escape(title)}.*?$(.*?)(?=^#+ |\Z)", README, flags=re.M | re.S)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def test_layout_lists_every_module_and_every_stage():
    layout = _section("Layout")
    for module in sorted((ROOT / "src/digits").rglob("*.py")):
        assert re.search(rf"(^|\s){re.escape(module.stem)}(\s|$)", layout, flags=re.M), \
            f"README Layout does not list src/digits/{module.name}"
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]:
        assert f"{stage}.py" in layout, f"README Layout does not list stages/{stage}.py"


def _pointers() -> list[tuple[str, str]]:
    """(file, section) for every `README: "X"` or `README, "X"` outside the README."""
    files = [ROOT / "gate.yaml", ROOT / ".ci/run", ROOT / "Makefile", *ROOT.glob("docs/*.md"),
             *ROOT.glob("src/digits/**/*.py"), *ROOT.glob("stages/*.py"), *ROOT.glob("bench/*.py")]
    out = []
    for f in files:
        for title in re.findall(r'README[:,]\s+"([^"]+)"', f.read_text()):
            out.append((str(f.relative_to(ROOT)), title))
    return out


def test_pointers_to_readme_sections_resolve():
    pointers = _pointers()
    assert ("gate.yaml", "The wild benchmark") in pointers  # the scan finds them
    for where, title in pointers:
        assert any(h.startswith(title) for h in HEADINGS), f'{where}: README has no section "{title}"'


def test_cited_scripts_exist():
    for f in [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("src/digits/**/*.py"), ROOT / "gate.yaml"]:
        for path in re.findall(r"\b((?:bench|stages|tests)/[\w/]+\.py)\b", f.read_text()):
            assert (ROOT / path).is_file(), f"{f.relative_to(ROOT)} cites {path}, which does not exist"


def test_experiments_start_by_activating_the_environment():
    """The stages run whichever `python` is on PATH: the README's experiment commands work
    in the order typed only if the environment is activated before the first dvc command."""
    block = re.search(r"```bash\n(.*?)```", _section("Experiments"), flags=re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in block.splitlines() if ln.strip()]
    assert commands[0] == ". .venv/bin/activate"
    assert any(c.startswith("dvc exp run") for c in commands[1:])


def test_training_time_is_the_committed_runs():
    """The README quotes the committed run: after a user's own `make repro` the workspace's
    provenance holds their machine's time, so the committed one is read from git."""
    res = subprocess.run(["git", "show", "HEAD:models/provenance.json"], cwd=ROOT, capture_output=True, text=True)
    committed = res.stdout if res.returncode == 0 else (ROOT / "models/provenance.json").read_text()
    seconds = json.loads(committed)["training"]["seconds"]
    assert f"took {round(seconds)} s (`models/provenance.json`" in README


def test_benchmark_table_is_bench_results_train_speed_json():
    doc = json.loads((ROOT / "bench/results/train_speed.json").read_text())["models"]
    assert doc["ours"]["params"]["precision"] in _section("Speed: the benchmark")  # the label says which
    row = {name: next(ln for ln in README.splitlines() if ln.startswith(prefix))
           for name, prefix in (("reference", "| keras-io reference"), ("ours", "| ours, default"))}
    for name, line in row.items():
        m = doc[name]
        assert f"{m['train_seconds_total']:.1f} s" in line
        assert f"{100 * m['final_test_accuracy']:.2f} %" in line
        assert f"{m['inference']['keras_batch1024_images_per_s']:,.0f} img/s" in line
    assert f"{doc['ours']['seconds_to_target']:.1f} s" in row["ours"]


def test_predict_doc_real_digit_figures_are_bench_results_real_digits_json():
    doc = json.loads((ROOT / "bench/results/real_digits.json").read_text())
    text = (ROOT / "docs/predict.md").read_text()
    names = {"overall": "overall", "photo": "photo", "screenshot": "phone screenshot",
             "drawing dark-on-light": "drawing, dark on light", "drawing light-on-dark": "drawing, light on dark"}
    for key, label in names.items():
        acc = doc["accuracy"][key]
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {label}"))
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        assert cells[1:] == [str(acc["n"]), f"{100 * acc['naive']:.1f}%", f"{100 * acc['normalize']:.1f}%"], line
    assert f"costs {round(doc['ms_per_image']['normalize'])} ms per image" in text
    u = doc["uncertain"]
    assert f"flagged ({u['wrong_flagged']}/{u['wrong']})" in text
    assert f"({u['right_flagged']}/{u['right']})" in text
    for f in doc["failures"]["normalize"]:
        assert f"{f['confidence']:.2f}" in text and f["file"].removesuffix(".png") in text

