"""The load figures in the README's Serving section are those `python bench/serve_load.py` wrote."""

from __future__ import annotations

import json
import re

from conftest import ROOT


def test_readme_load_table_is_bench_results_serve_load_json():
    doc = json.loads((ROOT / "bench/results/serve_load.json").read_text())
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Serving.*?(?=^## )", readme, flags=re.M | re.S).group(0)
    assert "`python bench/serve_load.py`" in section and doc["command"] == "python bench/serve_load.py"
    rows = {ln.split(" | ")[0].lstrip("| "): ln for ln in section.splitlines() if ln.startswith("| ")}

    def row(prefix: str) -> str:
        return next(v for k, v in rows.items() if k.startswith(prefix))

    a, b, server, page = doc["canvas_png"], doc["phone_photo"], doc["server"], doc["page_first_load"]
    canvas = row("280×280 canvas PNG")
    assert f"{a['rps']:.0f} requests/s" in canvas and f"p99 {a['p99_ms']:,.0f} ms" in canvas
    assert f"{a['clients']} clients" in canvas
    assert f"{a['errors']} of {a['requests']}" in row("— errors")
    photo = row("4-megapixel phone photo")
    assert f"{b['rps']:.1f} requests/s" in photo and f"p50 {b['p50_ms']:.0f} ms" in photo
    assert f"{server['start_to_ready_s']:.1f} s ({server['all_workers_ready_s']:.1f} s)" in row("start to ready")
    rss = [v["rss_mb"] for k, v in doc["rss_after_load"].items() if k != "server"]
    assert " and ".join(f"{v:.0f}" for v in rss) + " MB" in row("RSS per worker")
    assert f"{page['kb']:.1f} kB" in row("the page's first load")
    # each row says met or not met as the JSON does (a row with two targets is met when both are)
    met = doc["met"]
    for prefix, ok in [("280×280", met["canvas_rps"] and met["canvas_p99_ms"]), ("— errors", met["canvas_errors"]),
                       ("4-megapixel", met["photo_rps"] and met["photo_p50_ms"]),
                       ("start to ready", met["start_to_ready_s"]), ("RSS per worker", met["rss_per_worker_mb"]),
                       ("the page's first load", met["page_first_load_kb"])]:
        said = row(prefix).rstrip(" |").rsplit(" | ", 1)[1]
        assert ("not met" not in said) == ok, (prefix, said)
