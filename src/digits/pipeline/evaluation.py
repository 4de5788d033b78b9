"""Test-set metrics computed from predicted probabilities (no TensorFlow needed here)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from digits import NUM_CLASSES
from digits.errors import DigitsError

_EPS = 1e-7


def check_probs(probs: np.ndarray, n: int, what: str) -> None:
    """Refuse model outputs that are not n rows of finite probabilities over ten classes."""
    if probs.shape != (n, NUM_CLASSES):
        raise DigitsError(f"{what}: predictions have shape {probs.shape}, expected ({n}, {NUM_CLASSES})")
    if not np.isfinite(probs).all():
        raise DigitsError(f"{what}: predictions contain NaN or infinity (diverged training?)")


def metrics_from_probs(y: np.ndarray, probs: np.ndarray) -> tuple[dict, dict, np.ndarray]:
    """Summary metrics, per-class metrics and the 10×10 confusion matrix (rows = actual)."""
    check_probs(probs, len(y), "model")
    pred = probs.argmax(axis=1)
    p_true = np.clip(probs[np.arange(len(y)), y], _EPS, 1.0)
    labels = list(range(NUM_CLASSES))
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    macro = precision_recall_fscore_support(y, pred, labels=labels, average="macro", zero_division=0)
    summary = {
        "accuracy": float(np.mean(pred == y)),
        "loss": float(-np.mean(np.log(p_true))),
        "precision_macro": float(macro[0]),
        "recall_macro": float(macro[1]),
        "f1_macro": float(macro[2]),
        "errors": int(np.sum(pred != y)),
        "n": int(len(y)),
    }
    per_class = {str(c): {"precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
                          "support": int(support[c])} for c in labels}
    return summary, per_class, confusion_matrix(y, pred, labels=labels)


def confusion_csv(cm: np.ndarray) -> str:
    """The confusion matrix as CSV of counts: one row per actual digit, one column per predicted."""
    head = "actual," + ",".join(f"pred_{c}" for c in range(cm.shape[1]))
    rows = [f"{i}," + ",".join(str(int(v)) for v in row) for i, row in enumerate(cm)]
    return "\n".join([head, *rows]) + "\n"


def predictions_csv(y: np.ndarray, pred: np.ndarray) -> str:
    """Per-sample `actual,predicted` rows, the input of DVC's confusion template."""
    lines = ["actual,predicted", *(f"{a},{p}" for a, p in zip(y.tolist(), pred.tolist(), strict=True))]
    return "\n".join(lines) + "\n"
