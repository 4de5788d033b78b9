"""`digits report`: what a change did to the model, as GitHub-flavoured Markdown for a pull request.

The gate's verdict comes first (`digits.review.gate`, the same checks `digits check-metrics`
enforces), then the metrics table against the baseline, the params that changed
(`dvc params diff`), the per-class F1 that moved (metrics/per_class.json against the baseline's),
the wild and numbers benchmarks, and the confusion matrix and training curves as images. Every
baseline file is read from git (`git show REV:path`): the metric files are git-tracked
(`cache: false` in dvc.yaml). Written to a file, the images are copied beside it, so the
report reads the same on disk and, uploaded by CML (`cml comment update --publish`), on the
pull request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from digits.errors import DigitsError
from digits.review.gate import Row, Verdict, _dvc, _git_has, verdict

PER_CLASS = "metrics/per_class.json"
WILD = "metrics/wild.json"
NUMBERS = "metrics/numbers.json"
IMAGES = (("confusion matrix", "metrics/plots/confusion_matrix.png"),
          ("training curves", "metrics/plots/training_curves.png"))
MOVED = 5e-5  # a change smaller than this does not show at 4 decimals: not "moved"


def cell(value: object) -> str:
    """Text safe inside a GFM table cell: pipes escaped, no line breaks."""
    return " ".join(str(value).split()).replace("|", "\\|")


def md_table(head: list[str], rows: list[list[str]], right: Collection[int] = ()) -> list[str]:
    """A GFM table; columns in `right` are right-aligned (numbers)."""
    align = ["---:" if i in right else "---" for i in range(len(head))]
    lines = ["| " + " | ".join(cell(h) for h in head) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        if len(row) != len(head):
            raise ValueError(f"table row of {len(row)} cells under {len(head)} headings: {row}")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return lines


def num(v: float | None, signed: bool = False) -> str:
    return "–" if v is None else (f"{v:+.4f}" if signed else f"{v:.4f}")


def code(text: str) -> str:
    return f"`{text}`"


# ---------------------------------------------------------------- reading the two sides


def git_json(rev: str, path: str, cwd: Path) -> dict | None:
    """A JSON file as committed at `rev`; None when it is not there (or not JSON)."""
    res = subprocess.run(["git", "show", f"{rev}:./{path}"], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        return None
    try:
        doc = json.loads(res.stdout)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def workspace_json(path: str, cwd: Path) -> dict | None:
    try:
        doc = json.loads((cwd / path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise DigitsError(f"{cwd / path}: unreadable ({exc})") from None
    return doc if isinstance(doc, dict) else None


def dig(doc: dict | None, key: str) -> object:
    """doc["a"]["b"] for key "a.b"; None where any part is missing."""
    for part in key.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def number(doc: dict | None, key: str) -> float | None:
    v = dig(doc, key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def short_sha(rev: str, cwd: Path) -> str:
    res = subprocess.run(["git", "rev-parse", "--short", f"{rev}^{{commit}}"], cwd=cwd, capture_output=True, text=True)
    return res.stdout.strip() or "?"


def params_diff(rev: str, cwd: Path) -> tuple[list[tuple[str, object, object]], str | None]:
    """(param, baseline value, workspace value) for every param that changed, from
    `dvc params diff --json REV`; and a note when DVC could not tell."""
    res = subprocess.run([_dvc(), "params", "diff", "--json", rev], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        return [], f"`dvc params diff` failed: {' '.join(res.stderr.split())[:300]}"
    out = res.stdout.strip()
    doc = json.loads(out) if out else {}
    changed = []
    for file, params in sorted(doc.items()):
        for key, v in sorted(params.items()):
            if v.get("old") != v.get("new"):
                changed.append((key if file == "params.yaml" else f"{file}:{key}", v.get("old"), v.get("new")))
    return changed, None


# ---------------------------------------------------------------- sections


@dataclass(frozen=True)
class Line:
    """A benchmark row: label, both sides as numbers (for the change) and as text."""
    label: str
    old: float | None
    new: float | None
    old_text: str | None = None
    new_text: str | None = None

    def cells(self, with_baseline: bool) -> list[str]:
        new = self.new_text if self.new_text is not None else num(self.new)
        if not with_baseline:
            return [self.label, new]
        old = self.old_text if self.old_text is not None else num(self.old)
        change = num(self.new - self.old, signed=True) if self.old is not None and self.new is not None else "–"
        return [self.label, old, new, change]


def _rate(key: str) -> Callable[[dict | None], tuple[float | None, str | None]]:
    return lambda d: (number(d, key), None)


def _worst(d: dict | None) -> tuple[float | None, str | None]:
    v, name = number(d, "min_condition_accuracy"), dig(d, "worst_condition.name")
    return v, (f"{v:.4f} ({name})" if v is not None and name else None)


def _dev_wild(d: dict | None) -> tuple[float | None, str | None]:
    v, n, errors = number(d, "dev_set.accuracy"), number(d, "dev_set.n"), number(d, "dev_set.errors")
    if v is None or n is None or errors is None:
        return v, None
    return v, f"{v:.4f} ({int(n - errors)} of {int(n)})"


def _dev_numbers(d: dict | None) -> tuple[float | None, str | None]:
    correct, n = number(d, "dev_set.correct"), number(d, "dev_set.n")
    if correct is None or not n:
        return None, None
    return correct / n, f"{correct / n:.4f} ({int(correct)} of {int(n)})"


WILD_ROWS: tuple[tuple[str, Callable[[dict | None], tuple[float | None, str | None]]], ...] = (
    ("overall accuracy (synthetic)", _rate("overall.accuracy")),
    ("answered (synthetic)", _rate("overall.answered")),
    ("worst condition", _worst),
    ("development set (real)", _dev_wild),
    ("UCI 8x8 (real)", _rate("uci_8x8.accuracy")),
    ("blank pages refused", _rate("blank.refused")),
)
NUMBERS_ROWS: tuple[tuple[str, Callable[[dict | None], tuple[float | None, str | None]]], ...] = (
    ("exact (synthetic)", _rate("overall.exact")),
    ("per digit (synthetic)", _rate("overall.per_digit")),
    ("exact, digits apart", _rate("apart.exact")),
    ("exact, digits touching", _rate("touching.exact")),
    ("development set (real)", _dev_numbers),
)


def benchmark_lines(old: dict | None, new: dict | None, rows) -> list[Line]:
    out = []
    for label, get in rows:
        o, o_text = get(old)
        n, n_text = get(new)
        if o is None and n is None:
            continue
        out.append(Line(label, o, n, o_text, n_text))
    return out


def moved_conditions(old: dict | None, new: dict | None) -> list[Line]:
    """The wild conditions whose accuracy moved, worst change first."""
    old_c, new_c = dig(old, "conditions") or {}, dig(new, "conditions") or {}
    lines = []
    for name in sorted(set(old_c) | set(new_c)):
        o, n = number(old_c, f"{name}.accuracy"), number(new_c, f"{name}.accuracy")
        if o is None or n is None or abs(n - o) >= MOVED:
            lines.append(Line(f"condition {code(name)}", o, n))
    return sorted(lines, key=lambda ln: (ln.new - ln.old) if ln.old is not None and ln.new is not None else 0.0)


def per_class_moved(old: dict | None, new: dict | None) -> list[Line]:
    """Classes whose F1 moved (by at least what shows at 4 decimals), worst change first."""
    lines = []
    for cls in sorted(set(old or {}) | set(new or {}), key=lambda c: (len(c), c)):
        o, n = number(old, f"{cls}.f1"), number(new, f"{cls}.f1")
        if o is None and n is None:
            continue
        if o is None or n is None or abs(n - o) >= MOVED:
            lines.append(Line(code(cls), o, n))
    return sorted(lines, key=lambda ln: (ln.new - ln.old) if ln.old is not None and ln.new is not None else 0.0)


def verdict_cell(r: Row) -> str:
    return r.verdict if r.ok else f"**{r.verdict}**"


def headline(v: Verdict, compared: bool) -> list[str]:
    """The first lines: pass or fail, against what, and every failing check with its reason."""
    against = f"against {code(v.baseline)}" if compared else "with no baseline (floors only)"
    if v.ok:
        lines = [f"## ✅ PASS: the metrics gate holds {against}", "",
                 f"{len(v.rows)} checks passed (model {code(v.model)})."]
    else:
        lines = [f"## ❌ FAIL: the metrics gate fails {against}", "",
                 f"{len(v.failed)} of {len(v.rows)} checks failed (model {code(v.model)}):"]
        for r in v.failed:
            if r.current is None:
                lines.append(f"- {code(r.metric)}: {r.verdict}")
            elif r.floor:
                lines.append(f"- {code(r.metric)}: {r.verdict}: {num(r.current)}")
            else:
                lines.append(f"- {code(r.metric)}: {r.verdict}: {num(r.baseline)} → {num(r.current)}")
    if not compared:
        lines += ["", f"**No baseline**: {'; '.join(v.notes) or 'none given'}. "
                      "Only the absolute floors in `gate.yaml` are checked; there are no changes to show."]
    return lines


def render(v: Verdict, cwd: Path, images: list[tuple[str, str | None, str]]) -> str:
    """The whole report. `images`: (title, path as the report links it or None, source path)."""
    compared = v.baseline is not None and _git_has(v.baseline, cwd)
    rev = v.baseline if compared else None
    out = headline(v, compared)
    if v.drift:
        out += ["", "<details><summary>Library versions</summary>", "", "```", *v.drift, "```", "</details>"]
    other_notes = [n for n in v.notes if compared]
    if other_notes:
        out += ["", *(f"> {n}" for n in other_notes)]

    out += ["", f"### Metrics {'against ' + code(rev) if rev else '(floors only)'}", ""]
    out += md_table(["metric", "baseline / floor", "current", "change", "verdict"],
                    [[code(r.metric), num(r.baseline), num(r.current), num(r.change, signed=True), verdict_cell(r)]
                     for r in v.rows], right={1, 2, 3})

    if rev:
        changed, note = params_diff(rev, cwd)
        out += ["", "### Params changed", ""]
        if note:
            out.append(note)
        elif changed:
            out += md_table(["param", code(rev), "this change"],
                            [[code(k), json.dumps(o), json.dumps(n)] for k, o, n in changed])
        else:
            out.append(f"No params changed against {code(rev)}.")

        out += ["", "### Per-class F1 that moved", ""]
        old_pc, new_pc = git_json(rev, PER_CLASS, cwd), workspace_json(PER_CLASS, cwd)
        if new_pc is None:
            out.append(f"`{PER_CLASS}` is not in the workspace.")
        elif old_pc is None:
            out.append(f"`{PER_CLASS}` is not in {code(rev)}: nothing to compare.")
        else:
            lines = per_class_moved(old_pc, new_pc)
            out += (md_table(["class", "baseline F1", "current F1", "change"], [ln.cells(True) for ln in lines],
                             right={1, 2, 3}) if lines else ["No class's F1 moved."])

    for title, path, rows in (("Wild benchmark", WILD, WILD_ROWS), ("Numbers benchmark", NUMBERS, NUMBERS_ROWS)):
        new = workspace_json(path, cwd)
        old = git_json(rev, path, cwd) if rev else None
        out += ["", f"### {title} ({code(path)})", ""]
        if new is None:
            out.append(f"Not in the workspace{' (nor at ' + code(rev) + ')' if rev and old is None else ''}: "
                       f"no {title.lower()} to show.")
            continue
        lines = benchmark_lines(old, new, rows)
        if rev and path == WILD:
            lines += moved_conditions(old, new)
        head = ["measure", "baseline", "current", "change"] if rev else ["measure", "current"]
        if rev and old is None:
            out.append(f"New in this change: not in {code(rev)}.")
            out.append("")
        out += md_table(head, [ln.cells(bool(rev)) for ln in lines], right={1, 2, 3} if rev else {1})

    out += ["", "### Plots", ""]
    for title, link, source in images:
        out.append(f"![{title}]({link})" if link else f"_{title}: `{source}` is not in the workspace._")
    base = f"{code(rev)} ({short_sha(rev, cwd)})" if rev else "none"
    out += ["", f"<sub>`digits report` · baseline {base} · images are files beside "
                "this report; in CI, `cml comment update --publish report.md` uploads them.</sub>", ""]
    return "\n".join(out)


def place_images(cwd: Path, out: Path | None) -> list[tuple[str, str | None, str]]:
    """Copy the figures beside the report (`<report stem>-<name>.png`) and return how the report
    links them; printed to stdout, it links them where they are."""
    placed = []
    for title, source in IMAGES:
        src = cwd / source
        if not src.is_file():
            placed.append((title, None, source))
        elif out is None:
            placed.append((title, source, source))
        else:
            dest = out.parent / f"{out.stem}-{src.name}"
            shutil.copyfile(src, dest)
            placed.append((title, dest.name, source))
    return placed


def run(*, gate_file: str | Path, params_file: str | Path, baseline: str | None, cwd: Path,
        out: str | Path | None) -> int:
    """Write the report to `out` (images beside it) or print it. 0 once written, whatever the
    verdict: `digits check-metrics` is what fails a build."""
    v = verdict(gate_file=gate_file, params_file=params_file, baseline=baseline, cwd=cwd)
    target = Path(out) if out is not None else None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    text = render(v, cwd, place_images(cwd, target))
    if target is None:
        print(text, end="")
    else:
        target.write_text(text, encoding="utf-8")
        print(f"report: {'FAIL' if not v.ok else 'ok'}: wrote {target} and its images beside it")
    return 0
