"""Installation: the lock agrees with pyproject.toml and is what is installed, one TensorFlow
build per platform, and the Makefile's choice of Python interpreter."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from conftest import ROOT

LOCKS = ("requirements.lock", "requirements-gpu.lock")


def pins(text: str) -> dict[tuple[str, str], str]:
    """{(name, marker): version} of a lock written by `uv pip compile` (hashes and comments dropped)."""
    out = {}
    for entry in re.sub(r"\\\n", " ", text).splitlines():
        entry = entry.split("#", 1)[0].strip()
        if not entry:
            continue
        req = Requirement(re.sub(r"\s--hash=\S+", "", entry))
        (version,) = [s.version for s in req.specifier if s.operator == "=="]
        out[(canonicalize_name(req.name), str(req.marker or ""))] = version
    return out


def find_uv() -> str | None:
    return shutil.which("uv") or next((str(p) for p in [ROOT / ".tools/uv/bin/uv"] if p.exists()), None)


def test_the_lock_pins_the_versions_that_made_the_committed_metrics():
    """models/provenance.json names the versions the committed model was trained with."""
    import json

    made_with = json.loads((ROOT / "models/provenance.json").read_text())["versions"]
    linux = {name: v for (name, marker), v in pins((ROOT / "requirements.lock").read_text()).items()
             if not marker or Marker(marker).evaluate({"sys_platform": "linux", "platform_machine": "x86_64"})}
    for lib, version in made_with.items():
        if lib not in ("python", "digits"):
            assert linux.get(lib) == version, f"{lib}: lock {linux.get(lib)}, committed metrics made with {version}"


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed (make setup puts one in .tools/uv): "
                                               "the lock cannot be re-resolved to compare")
def test_the_locks_agree_with_pyproject(tmp_path):
    """`make lock` on a copy gives the same pins: nothing in pyproject.toml is missing from
    or at odds with the committed locks (hashes aside: PyPI may add a wheel to a release)."""
    for name in ("Makefile", "pyproject.toml", *LOCKS):
        shutil.copy(ROOT / name, tmp_path / name)
    res = subprocess.run(["make", "-s", "lock", f"UV={find_uv()}"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in LOCKS:
        committed, fresh = pins((ROOT / name).read_text()), pins((tmp_path / name).read_text())
        stale = sorted(set(committed.items()) ^ set(fresh.items()))
        assert not stale, f"{name} is stale (run make lock and commit it): " + \
            "; ".join(f"{'+' if p in fresh.items() else '-'}{p[0][0]}=={p[1]} {p[0][1]}" for p in stale)


def test_this_environment_is_exactly_the_lock():
    """What `make setup` installed: every pin for this platform, at its version, and nothing else."""
    stamps = sorted(Path(sys.prefix).glob(".installed-*"))
    if not stamps:
        pytest.skip(f"{sys.prefix} was not set up by make setup (no .installed-* stamp)")
    lock = stamps[0].read_text().split()[0]
    wanted = {name: v for (name, marker), v in pins((ROOT / lock).read_text()).items()
              if not marker or Marker(marker).evaluate()}
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {n: (v, installed.get(n)) for n, v in wanted.items() if installed.get(n) != v}
    assert not wrong, f"not as pinned in {lock} (pinned, installed): {wrong}"
    extra = set(installed) - set(wanted) - {"digits", "pip"}
    assert not extra, f"installed but not in {lock}: {sorted(extra)}"


PLATFORMS = {  # the markers' view of each platform
    "Linux x86-64": ("linux", "x86_64"), "Windows x86-64": ("win32", "AMD64"),
    "macOS arm64": ("darwin", "arm64"), "Linux aarch64": ("linux", "aarch64"),
    "macOS x86-64": ("darwin", "x86_64"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_one_tensorflow_build_per_platform(platform):
    deps = [Requirement(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    sys_platform, machine = PLATFORMS[platform]
    env = {"sys_platform": sys_platform, "platform_machine": machine}
    builds = [d.name for d in deps if d.name.startswith("tensorflow") and (d.marker is None or d.marker.evaluate(env))]
    # CPU-only wheel where TensorFlow has one; elsewhere `tensorflow` (an Intel Mac then fails to
    # install with "no matching distribution", which the README explains)
    assert builds == (["tensorflow-cpu"] if platform in ("Linux x86-64", "Windows x86-64") else ["tensorflow"])


def test_requires_python_is_the_makefiles_supported_list():
    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    supported = re.search(r"^SUPPORTED := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert supported == ["3.11", "3.12", "3.13"]
    assert [v for v in ("3.10", *supported, "3.14") if f"{v}.0" in spec] == supported


# --- the Makefile's interpreter: `make -n` with fake interpreters on a PATH of their own --------

MAKE = shutil.which("make")


def fake_python(bindir: Path, name: str, version: str | None) -> Path:
    """An executable that answers the Makefile's probes as Python `version` would (None: a
    pyenv shim for an inactive version, which fails to run)."""
    path = bindir / name
    body = ('echo "pyenv: $0: command not found" >&2; exit 127' if version is None else
            f'case "$2" in *executable*) echo "{version} $0";; *) echo "{version}";; esac')
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path):
    """The Makefile and its inputs, a bin directory of fakes as the whole PATH, an empty HOME."""
    for name in ("Makefile", "pyproject.toml", *LOCKS):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "bin").mkdir()
    return tmp_path


def make_n(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": str(project / "bin"), "HOME": str(project)}
    return subprocess.run([MAKE, "-n", "setup", *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=60)


needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


@needs_make
def test_make_takes_the_first_supported_python_it_finds(project):
    bindir = project / "bin"
    fake_python(bindir, "python3.11", None)  # a shim that does not run: skipped
    want = fake_python(bindir, "python3.12", "3.12")
    fake_python(bindir, "python3.13", "3.13")
    fake_python(bindir, "python3", "3.10")
    res = make_n(project)
    assert res.returncode == 0, res.stderr
    assert f"setup: Python 3.12 ({want})" in res.stdout
    assert f"venv --quiet --seed --python {want} .venv" in res.stdout


@needs_make
def test_make_skips_unsupported_versions(project):
    fake_python(project / "bin", "python3", "3.10")
    want = fake_python(project / "bin", "python", "3.13")
    res = make_n(project, "INSTALLER=pip")
    assert res.returncode == 0, res.stderr
    assert f"{want} -m venv .venv" in res.stdout


@needs_make
def test_make_says_which_versions_are_supported_when_none_is_found(project):
    fake_python(project / "bin", "python3", "3.10")
    fake_python(project / "bin", "python3.14", "3.14")  # not a candidate name, and not supported
    res = make_n(project)
    assert res.returncode != 0
    assert "no supported Python found: digits needs Python 3.11, 3.12, 3.13" in res.stderr
    assert "set PY=" in res.stderr


@needs_make
def test_make_uses_PY_and_refuses_an_unsupported_one(project):
    fake_python(project / "bin", "python3.11", "3.11")
    mine = fake_python(project / "bin", "mypython", "3.13")
    res = make_n(project, f"PY={mine}")
    assert res.returncode == 0, res.stderr
    assert f"setup: Python 3.13 ({mine})" in res.stdout
    old = fake_python(project / "bin", "oldpython", "3.10")
    res = make_n(project, f"PY={old}")
    assert res.returncode != 0
    assert f"PY={old} is Python 3.10; digits supports Python 3.11, 3.12, 3.13" in res.stderr


@needs_make
def test_make_installs_from_the_lock_with_either_installer(project):
    fake_python(project / "bin", "python3.11", "3.11")
    uv = make_n(project)
    assert "uv pip sync --quiet --python .venv/bin/python --require-hashes requirements.lock" in uv.stdout
    pip = make_n(project, "INSTALLER=pip")
    assert ".venv/bin/python -m pip install --quiet --no-compile --require-hashes -r requirements.lock" in pip.stdout
    gpu = make_n(project, "GPU=1")
    assert "--require-hashes requirements-gpu.lock" in gpu.stdout


@needs_make
def test_make_repro_stops_before_training_without_the_development_sets(tmp_path):
    """The benchmark stages read ../shared/data beside the clone: without it `make repro` says
    so at once (a set-up already done, so nothing is installed) instead of after training."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml", *LOCKS):
        shutil.copy(ROOT / name, clone / name)
    subprocess.run(["git", "init", "-q"], cwd=clone, check=True)
    (clone / ".venv/bin").mkdir(parents=True)
    (clone / ".venv/bin/dvc").write_text("#!/bin/sh\necho dvc ran\n")
    (clone / ".venv/bin/dvc").chmod(0o755)
    (clone / ".venv/.installed-requirements").write_text("done\n")  # newer than the lock
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    res = subprocess.run([MAKE, "repro", "UV=/bin/true"], cwd=clone, env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode != 0
    assert "../shared/data/real-digits/labels.csv is missing" in res.stdout + res.stderr
    assert "dvc ran" not in res.stdout
    for name in ("real-digits", "real-numbers"):  # with them, dvc runs
        (tmp_path / "shared/data" / name).mkdir(parents=True)
        (tmp_path / "shared/data" / name / "labels.csv").write_text("file,label\n")
    res = subprocess.run([MAKE, "repro", "UV=/bin/true"], cwd=clone, env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "dvc ran" in res.stdout
