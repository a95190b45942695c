"""The sdist installs away from the repository: built by packaging/build_sdist, copied alone into an
empty directory, installed with pip into a fresh venv there (no index: the build requirements come
from the wheels that scripts/bootstrap keeps in .venv/wheels), and used for a device round trip
against the session's broker and `twinlink serve`. It compiles libtwinlink, the extension and the
tool from the sources it carries, so it takes minutes, not seconds."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parents[1]
WHEELS = ROOT / ".venv" / "wheels"
BUILD_TIMEOUT = 1800  # seconds: a cold compile of the core with LTO on two busy cores

ROUND_TRIP = r"""
import importlib.metadata, json, os, sys, time
import twinlink

broker, device_id, version = sys.argv[1:]
assert twinlink.__version__ == version, twinlink.__version__
assert importlib.metadata.version("twinlink") == version
assert twinlink.library_version() == version
package = os.path.dirname(twinlink.__file__)
with open("/proc/self/maps") as maps:
    libtwinlink = {line.split()[-1] for line in maps if "libtwinlink.so" in line}
assert libtwinlink and all(p.startswith(package + os.sep) for p in libtwinlink), libtwinlink

with twinlink.Device(device_id, broker=broker) as dev, twinlink.Client(broker) as app:
    accepted = dev.shadow.report({"installed": "sdist"}, timeout=10)
    assert accepted["state"]["reported"] == {"installed": "sdist"}, accepted
    app.shadow(device_id).desire({"led": "on"}, timeout=10)
    deadline = time.monotonic() + 10
    while dev.shadow.delta.get("led") != "on":
        assert time.monotonic() < deadline, "no delta reached the device"
        time.sleep(0.02)
print(json.dumps({"package": package, "libtwinlink": sorted(libtwinlink)}))
"""


def cmake_version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(\s*twinlink\s+VERSION\s+([0-9.]+)", text).group(1)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    result = subprocess.run(
        [str(PACKAGE / "packaging" / "build_sdist"), str(out)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.is_file(), result.stdout
    return path


def test_the_sdist_carries_the_sources_and_the_version(sdist):
    version = cmake_version()
    assert sdist.name == f"twinlink-{version}.tar.gz"
    top = f"twinlink-{version}/"
    with tarfile.open(sdist) as tar:
        names = set(tar.getnames())
        metadata = email.message_from_bytes(tar.extractfile(top + "PKG-INFO").read())
    for needed in ("pyproject.toml", "CMakeLists.txt", "native/CMakeLists.txt", "native/LICENSE",
                   "native/packaging/collect-licenses", "native/capi/include/twinlink.h",
                   "native/core/CMakeLists.txt", "native/tools/twinlink/main.cpp", "src/twinlink/__init__.py"):
        assert top + needed in names, f"the sdist has no {needed}"
    # The repository's own, not the binding's: no build trees, tests or other bindings.
    assert not [n for n in names if re.match(re.escape(top) + r"native/(build|bindings|tests|examples)", n)]
    assert metadata["Version"] == version
    assert metadata["Requires-Python"] == ">=3.11"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"Programming Language :: Python :: {python}" in metadata.get_all("Classifier")
    assert metadata.get_all("Project-URL")


def test_the_sdist_installs_in_a_fresh_venv_and_round_trips(sdist, tmp_path, broker, cloud, device_id):
    assert list(WHEELS.glob("scikit_build_core-*.whl")), f"{WHEELS}: no build requirements; run scripts/bootstrap python"
    alone = tmp_path / "alone"
    alone.mkdir()
    copy = Path(shutil.copy(sdist, alone))
    venv = alone / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
         "--find-links", str(WHEELS), str(copy)],
        cwd=alone, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )
    assert install.returncode == 0, install.stdout[-4000:] + install.stderr[-4000:]

    result = subprocess.run(
        [str(python), "-c", ROUND_TRIP, broker.uri, device_id, cmake_version()],
        cwd=alone, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(venv) in result.stdout  # the venv's package, not the repository's

    # The console script of the fresh venv runs the tool built from the sdist.
    shadow = subprocess.run(
        [str(venv / "bin" / "twinlink"), "shadow", "get", device_id, "--broker", broker.uri],
        cwd=alone, env=env, capture_output=True, text=True, timeout=60,
    )
    assert shadow.returncode == 0, shadow.stderr
    assert '"installed"' in shadow.stdout and '"sdist"' in shadow.stdout
