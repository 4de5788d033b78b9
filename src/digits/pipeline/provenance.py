"""What a trained model was made from: params, data checksums, library versions, label map."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from digits import IMAGE_SIZE, NUM_CLASSES, __version__
from digits.pipeline.mnist import pinned_files
from digits.storage import sha256_file

_LIBS = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scikit-learn", "dvc", "dvclive", "ai-edge-litert")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape training and inference."""
    out = {"python": platform.python_version(), "digits": __version__}
    for lib in _LIBS:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return out


def provenance(*, params: dict, inputs: list[str], extra: dict) -> dict:
    """The provenance record saved beside a model."""
    return {
        "params": params,
        "data": {
            "inputs_sha256": {str(Path(p)): sha256_file(p) for p in inputs},
            "mnist_idx_sha256": {f.name: f.sha256 for f in pinned_files()},  # $MNIST_PINS in tests
        },
        "input": {"shape": [None, IMAGE_SIZE, IMAGE_SIZE], "dtype": "float32", "range": [0.0, 1.0],
                  "convention": "light ink on black, digit fit in 20x20 and centred by mass (MNIST)"},
        "labels": {str(i): str(i) for i in range(NUM_CLASSES)},
        "versions": library_versions(),
        **extra,
    }
