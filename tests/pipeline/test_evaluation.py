import numpy as np
import pytest

from digits.errors import DigitsError
from digits.pipeline.evaluation import confusion_csv, metrics_from_probs, predictions_csv


def _onehot(pred, n_cls=10, p=0.9):
    probs = np.full((len(pred), n_cls), (1 - p) / (n_cls - 1), np.float32)
    probs[np.arange(len(pred)), pred] = p
    return probs


def test_metrics_values():
    y = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9])
    pred = y.copy()
    pred[-1] = 4  # one 9 called a 4
    summary, per_class, cm = metrics_from_probs(y, _onehot(pred))
    assert summary["accuracy"] == pytest.approx(11 / 12)
    assert summary["errors"] == 1 and summary["n"] == 12
    assert per_class["9"]["recall"] == pytest.approx(2 / 3)
    assert per_class["4"]["precision"] == pytest.approx(1 / 2)
    assert per_class["9"]["support"] == 3
    assert cm.shape == (10, 10) and cm.sum() == 12 and cm[9, 4] == 1 and np.trace(cm) == 11
    # loss: 11 samples at p=0.9 on the truth, one at p=0.1/9
    expected = -(11 * np.log(0.9) + np.log(0.1 / 9)) / 12
    assert summary["loss"] == pytest.approx(expected, rel=1e-5)


def test_bad_probs_are_refused():
    y = np.array([0, 1])
    with pytest.raises(DigitsError, match="shape"):
        metrics_from_probs(y, np.zeros((2, 9)))
    bad = _onehot(np.array([0, 1]))
    bad[0, 0] = np.nan
    with pytest.raises(DigitsError, match="NaN"):
        metrics_from_probs(y, bad)


def test_csv_formats():
    cm = np.eye(10, dtype=int) * 3
    lines = confusion_csv(cm).splitlines()
    assert lines[0].startswith("actual,pred_0,pred_1") and len(lines) == 11
    assert lines[3] == "2,0,0,3,0,0,0,0,0,0,0"
    assert predictions_csv(np.array([1, 2]), np.array([1, 7])) == "actual,predicted\n1,1\n2,7\n"
