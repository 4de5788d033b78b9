"""`digits check-metrics`: refuse a change that makes the model worse.

Compares the workspace metrics with absolute floors (gate.yaml) and with a baseline git
revision through `dvc metrics diff`, metric by metric, with a direction and tolerance. When a
check fails, it names the library versions that differ between the baseline's provenance
(models/provenance.json at the baseline revision) and this run's, so version drift can be
told from the change under test.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from digits.errors import DigitsError

PROVENANCE = "models/provenance.json"  # git-tracked (cache: false in dvc.yaml), written by train


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    better: Literal["higher", "lower"]
    tolerance: float = Field(ge=0.0)


class GateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    checks: dict[str, dict[str, Check]]
    floors: dict[str, dict[str, float]] = {}


def load_config(path: str | Path) -> GateConfig:
    """Read and validate gate.yaml."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return GateConfig.model_validate(raw)
    except FileNotFoundError:
        raise DigitsError(f"{path}: not found") from None
    except (yaml.YAMLError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) + ": " + first["msg"] if first else str(exc)
        raise DigitsError(f"{path}: invalid ({where})") from None


@dataclass(frozen=True)
class Row:
    metric: str
    baseline: float | None
    current: float | None
    verdict: str
    ok: bool
    floor: bool = False  # an absolute floor, not a comparison with the baseline

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def judge(metric: str, old: float | None, new: float | None, check: Check) -> Row:
    """One metric against its baseline: a regression beyond tolerance fails."""
    if new is None:
        return Row(metric, old, None, "missing in workspace", False)
    if not math.isfinite(new):
        return Row(metric, old, new, "not a finite number", False)
    if old is None:
        return Row(metric, None, new, "no baseline (new metric)", True)
    worse = (old - new) if check.better == "higher" else (new - old)
    if worse > check.tolerance:
        return Row(metric, old, new, f"REGRESSION (worse by {worse:.4g} > {check.tolerance:g})", False)
    if worse < 0:
        return Row(metric, old, new, "better", True)
    return Row(metric, old, new, "same" if worse == 0 else f"within tolerance ({check.tolerance:g})", True)


def floor_row(metric: str, current: float | None, floor: float) -> Row:
    """One metric against its absolute floor."""
    if current is None:
        return Row(f"{metric} >= {floor:g}", None, None, "missing in workspace", False, floor=True)
    ok = current >= floor
    return Row(f"{metric} >= {floor:g}", floor, current, "ok" if ok else "BELOW FLOOR", ok, floor=True)


def _dvc() -> str:
    exe = Path(sys.executable).with_name("dvc")
    return str(exe) if exe.exists() else (shutil.which("dvc") or "dvc")


def _git_has(rev: str, cwd: Path) -> bool:
    res = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=cwd,
                         capture_output=True, text=True)
    return res.returncode == 0


def metrics_diff(rev: str | None, files: list[str], cwd: Path) -> dict[str, dict[str, dict]]:
    """`dvc metrics diff --all --json [rev]` for `files`: {file: {key: {old, new}}}."""
    cmd = [_dvc(), "metrics", "diff", "--all", "--json"]
    if rev:
        cmd.append(rev)
    cmd += ["--targets", *files]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise DigitsError(f"dvc metrics diff failed: {' '.join(res.stderr.split())[:400]}")
    out = res.stdout.strip()
    return json.loads(out) if out else {}


def _flatten(d: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            flat.update(_flatten(v, key))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            flat[key] = float(v)
    return flat


def workspace_metrics(files: list[str], cwd: Path) -> dict[str, dict[str, float]]:
    """The metric files as they are in the workspace, flattened like DVC does."""
    out = {}
    for f in files:
        path = cwd / f
        try:
            out[f] = _flatten(json.loads(path.read_text()))
        except FileNotFoundError:
            out[f] = {}
        except json.JSONDecodeError as exc:
            raise DigitsError(f"{path}: not valid JSON ({exc.msg})") from None
    return out


def check_metrics(config: GateConfig, model: str, baseline: str | None, cwd: Path) -> tuple[list[Row], list[str]]:
    """Rows for every floor and every baseline check, and notes for the user."""
    files = sorted(set(config.checks) | {k.split(":", 1)[0] for k in config.floors.get(model, {})})
    current = workspace_metrics(files, cwd)
    notes: list[str] = []
    if not any(current.values()):
        raise DigitsError(f"no metrics in the workspace ({', '.join(files)}): run dvc repro first")
    rows = []
    floors = config.floors.get(model)
    if floors is None:
        notes.append(f"no floors for model {model!r} in the gate file")
    for key, floor in (floors or {}).items():
        f, metric = key.split(":", 1)
        rows.append(floor_row(key, current.get(f, {}).get(metric), floor))

    if baseline is None:
        notes.append("no baseline revision given: floors only")
    elif not _git_has(baseline, cwd):
        notes.append(f"baseline {baseline!r} is not a commit here (first run?): floors only")
    else:
        diff = metrics_diff(baseline, files, cwd)
        same = all(v.get("old") == v.get("new") for f in diff.values() for v in f.values())
        if same and diff:
            notes.append(f"workspace metrics are identical to {baseline}")
        for f, checks in config.checks.items():
            for metric, check in checks.items():
                old = diff.get(f, {}).get(metric, {}).get("old")
                rows.append(judge(f"{f}:{metric}", old, current.get(f, {}).get(metric), check))
    return rows, notes


def table(rows: list[Row]) -> str:
    """The verdict table: metric, baseline, current, change, verdict."""
    def num(v: float | None, signed: bool = False) -> str:
        return "-" if v is None else (f"{v:+.4f}" if signed else f"{v:.4f}")

    head = ("metric", "baseline", "current", "change", "verdict")
    body = [(r.metric, num(r.baseline), num(r.current), num(r.change, True), r.verdict) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 4) else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths)), *(fmt.format(*b) for b in body)])


def _versions(doc: object) -> dict[str, str] | None:
    versions = doc.get("versions") if isinstance(doc, dict) else None
    return {str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else None


def baseline_versions(rev: str, cwd: Path, path: str = PROVENANCE) -> dict[str, str] | None:
    """The library versions in the provenance committed at `rev`; None when it has none."""
    res = subprocess.run(["git", "show", f"{rev}:./{path}"], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        return None
    try:
        return _versions(json.loads(res.stdout))
    except json.JSONDecodeError:
        return None


def current_versions(cwd: Path, path: str = PROVENANCE) -> tuple[dict[str, str], str]:
    """This run's library versions (the workspace provenance, else those installed) and where from."""
    try:
        found = _versions(json.loads((cwd / path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError):
        found = None
    if found is not None:
        return found, f"{path} in the workspace"
    from digits.pipeline.provenance import library_versions

    return library_versions(), "the libraries installed here (no workspace provenance)"


def version_drift(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    """(library, baseline version, current version) for every library whose version differs;
    None where a library is absent on one side (tensorflow-cpu on one, tensorflow on the other)."""
    return [(lib, old.get(lib), new.get(lib)) for lib in sorted(set(old) | set(new)) if old.get(lib) != new.get(lib)]


def drift_report(baseline: str, cwd: Path, path: str = PROVENANCE) -> list[str]:
    """Lines saying which library versions differ between the baseline's run and this one."""
    old = baseline_versions(baseline, cwd, path)
    if old is None:
        return [f"no library versions in {path} at {baseline}: version drift not checked"]
    new, where = current_versions(cwd, path)
    drift = version_drift(old, new)
    if not drift:
        return [f"library versions are the same as the baseline's ({path} at {baseline} vs {where}): "
                "the difference is not version drift"]
    width = max(len(lib) for lib, _, _ in drift)
    lines = [f"library versions differ between the baseline ({path} at {baseline}) and this run ({where}):"]
    lines += [f"  {lib:<{width}}  {a or 'absent'} -> {b or 'absent'}" for lib, a, b in drift]
    lines.append("the failure may come from these versions, not only from the change: "
                 "`make setup` installs the locked ones (requirements.lock)")
    return lines


@dataclass(frozen=True)
class Verdict:
    """The gate's outcome as data: what `digits check-metrics` prints and `digits report` shows."""
    model: str
    baseline: str | None
    rows: list[Row]
    notes: list[str]
    drift: list[str]  # library versions that differ from the baseline's; only when a comparison failed

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def summary(self) -> str:
        if self.failed:
            return f"FAIL: {len(self.failed)} of {len(self.rows)} checks failed (model {self.model})"
        return f"ok: {len(self.rows)} checks passed (model {self.model})"


def verdict(*, gate_file: str | Path, params_file: str | Path, baseline: str | None, cwd: Path) -> Verdict:
    """Every floor and baseline check for the model in params_file, and what to say about them."""
    from digits.pipeline.params import load_section

    config = load_config(cwd / gate_file)
    model = load_section("train", cwd / params_file).model
    rows, notes = check_metrics(config, model, baseline, cwd)
    drift: list[str] = []
    if any(not r.ok for r in rows) and baseline is not None and any(not r.floor for r in rows):
        drift = drift_report(baseline, cwd)  # compared with a baseline commit
    return Verdict(model, baseline, rows, notes, drift)


def run(*, gate_file: str | Path, params_file: str | Path, baseline: str | None, cwd: Path) -> int:
    """Print the verdict table; 0 when everything holds, 1 on any regression or floor breach."""
    v = verdict(gate_file=gate_file, params_file=params_file, baseline=baseline, cwd=cwd)
    for note in v.notes:
        print(f"check-metrics: {note}")
    print(table(v.rows))
    for line in v.drift:
        print(f"check-metrics: {line}")
    print(f"check-metrics: {v.summary}")
    return 0 if v.ok else 1
