import numpy as np
import pytest

from digits.errors import DigitsError
from digits.storage import atomic_path, load_npz, save_npz, write_json


def test_failed_write_keeps_previous_output(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_stale_temporary_from_killed_run_is_cleared(tmp_path):
    stale = tmp_path / ".tmp-abc123-model.keras"
    stale.write_text("partial")
    with atomic_path(tmp_path / "model.keras") as tmp:
        assert tmp.suffix == ".keras"
        tmp.write_text("full")
    assert not stale.exists()
    assert (tmp_path / "model.keras").read_text() == "full"


def test_atomic_directory_replaces_whole(tmp_path):
    target = tmp_path / "live"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_npz_round_trip_and_errors(tmp_path):
    path = tmp_path / "a.npz"
    save_npz(path, {"x": np.arange(6).reshape(2, 3)})
    assert load_npz(path, ("x",))["x"].tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(DigitsError, match="missing arrays"):
        load_npz(path, ("x", "y"))
    with pytest.raises(DigitsError, match="no such file"):
        load_npz(tmp_path / "nope.npz", ("x",))
    path.write_bytes(b"not a zip")
    with pytest.raises(DigitsError, match="not a readable .npz"):
        load_npz(path, ("x",))


def test_outputs_get_normal_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "m.json", {})
        with atomic_path(tmp_path / "d", directory=True) as tmp:
            (tmp / "f").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
