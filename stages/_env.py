"""Imported first by every stage script: dvc.yaml runs whichever `python` is on PATH, and
outside the project's environment the package is missing. Say what to do in one line."""

import sys
from pathlib import Path

try:
    import digits  # noqa: F401
except ImportError:
    print(f"{Path(sys.argv[0]).stem}: error: cannot import the digits package with {sys.executable}: "
          "activate the project's environment first (`. .venv/bin/activate`, after `make setup`)",
          file=sys.stderr)
    sys.exit(2)
