"""What the installed package carries besides the module: one version everywhere, and the
`twinlink` console script that runs the bundled command-line tool."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import local_cloud
import twinlink
from twinlink import _cli

ROOT = Path(__file__).resolve().parents[3]
# The console script pip installed next to this interpreter.
ENTRY_POINT = Path(sys.executable).parent / "twinlink"


def test_one_version_from_the_top_level_cmake_project():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    project = re.search(r"project\(\s*twinlink\s+VERSION\s+([0-9.]+)", cmake).group(1)
    assert importlib.metadata.version("twinlink") == project
    assert twinlink.__version__ == project
    assert twinlink.library_version() == project


def test_the_console_script_runs_the_bundled_tool():
    assert ENTRY_POINT.exists(), f"{ENTRY_POINT}: pip did not install the console script"
    assert os.access(_cli.binary(), os.X_OK), f"{_cli.binary()} is not in the package"
    result = subprocess.run([str(ENTRY_POINT), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "shadow" in result.stdout
    usage = subprocess.run([str(ENTRY_POINT), "no-such-command"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2  # the tool's own exit status comes through


def test_serve_and_shadow_get_through_the_console_script(own_broker, tmp_path, device_id, monkeypatch):
    monkeypatch.setattr(local_cloud, "TWINLINK_CLI", ENTRY_POINT)
    cloud = local_cloud.Cloud(own_broker.uri, tmp_path).start()
    try:
        with twinlink.Device(device_id, broker=own_broker.uri) as dev:
            dev.shadow.report({"via": "console script"})
        result = subprocess.run(
            [str(ENTRY_POINT), "shadow", "get", device_id, "--broker", own_broker.uri],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["state"]["reported"] == {"via": "console script"}
    finally:
        cloud.stop()


def test_a_missing_tool_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_cli, "binary", lambda: tmp_path / "bin" / "twinlink")
    assert _cli.main(["--help"]) == 127
    assert "command-line tool is not in this installation" in capsys.readouterr().err
