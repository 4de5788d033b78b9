"""`dvc plots show` / `dvc plots diff` as an HTML page that draws without internet.

DVC's page loads Vega, Vega-Lite and Vega-Embed from a CDN, so offline its Loss, Accuracy
and confusion-matrix plots stay blank. Here DVC renders with `--html-template` pointing at
a page without DVC's `{scripts}` placeholder (so no CDN tags) that loads one local file,
`vega-bundle.js`, written beside `index.html` from the vl-convert-python package (the Vega
project's own bundle of the three libraries).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from digits.errors import DigitsError
from digits.storage import write_text

BUNDLE = "vega-bundle.js"

# DVC fills {refresh_tag} and {plot_divs}; leaving out {scripts} drops its CDN <script> tags.
TEMPLATE = f"""<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <script src="{BUNDLE}"></script>
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def _vegalite_version(available: Sequence[str]) -> str | None:
    """The newest Vega-Lite 5.x the package ships: DVC writes its specs against the v5 schema."""
    v5 = [v for v in available if v.split(".")[0] == "5"]
    return max(v5, key=lambda v: tuple(int(p) for p in v.split("."))) if v5 else None


def vega_bundle() -> tuple[str, str]:
    """The JavaScript that defines window.vega, vegaLite and vegaEmbed; and a line of versions."""
    try:
        import vl_convert as vlc
    except ImportError:
        raise DigitsError("the vl-convert-python package is missing: run `make setup` "
                          "(or pip install -e .) in the project's environment") from None
    vl = _vegalite_version(vlc.get_vegalite_versions())
    versions = f"Vega {vlc.get_vega_version()}, Vega-Lite {vl or 'latest'}, Vega-Embed {vlc.get_vega_embed_version()}"
    return vlc.javascript_bundle(vl_version=vl), versions


def render(action: str, revisions: Sequence[str] = (), out_dir: str | Path = "dvc_plots",
           cwd: str | Path = ".") -> Path:
    """Run `dvc plots {show,diff}` into `out_dir` with the offline template; returns index.html."""
    if action not in ("show", "diff"):
        raise DigitsError(f"unknown plots action {action!r} (show or diff)")
    if action == "show" and revisions:
        raise DigitsError("`plots show` draws the workspace; to compare revisions use `plots diff REV...`")
    out = Path(cwd, out_dir)
    bundle, versions = vega_bundle()
    with tempfile.TemporaryDirectory(prefix="digits-plots-") as tmp:
        template = Path(tmp) / "template.html"
        template.write_text(TEMPLATE, encoding="utf-8")
        cmd = [sys.executable, "-m", "dvc", "plots", action, *revisions,
               "--html-template", str(template), "-o", str(out.resolve())]
        res = subprocess.run(cmd, cwd=cwd)
    if res.returncode != 0:
        raise DigitsError(f"`dvc plots {action}` exited {res.returncode} (its message is above)")
    index = out / "index.html"
    if not index.is_file():
        raise DigitsError(f"`dvc plots {action}` wrote no {index}")
    write_text(out / BUNDLE, bundle)
    print(f"plots: {index} loads {versions} from {out / BUNDLE}: it draws offline")
    return index
