#!/usr/bin/env python3
"""scripts/set-version rewrites every place scripts/check-versions reads, in a copy of those files:
afterwards they all agree on the new version, and nothing else in them changed.
Usage: check_set_version.py REPOSITORY_ROOT"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = [
    "CMakeLists.txt",
    "bindings/python/pyproject.toml",
    "bindings/node/package.json",
    "bindings/node/package-lock.json",
    "bindings/rust/Cargo.toml",
    "bindings/rust/Cargo.lock",
]


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    scripts = root / "scripts"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        members = [p.relative_to(root) for p in (root / "bindings/rust").glob("*/Cargo.toml")]
        for name in FILES + [str(m) for m in members]:
            source = root / name
            if source.exists():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, copy / name)
        before = {p: p.read_text() for p in copy.rglob("*") if p.is_file()}
        run = subprocess.run([sys.executable, str(scripts / "set-version"), "9.8.7", "--root", str(copy)],
                             capture_output=True, text=True)
        print(run.stdout + run.stderr)
        if run.returncode != 0:
            return 1
        check = subprocess.run([sys.executable, str(scripts / "check-versions"), "--root", str(copy)],
                               capture_output=True, text=True)
        print(check.stdout + check.stderr)
        if check.returncode != 0 or "9.8.7" not in check.stdout:
            return 1
        # Only version strings changed: every changed line still reads the same with the old
        # version put back.
        old = subprocess.run([sys.executable, str(scripts / "check-versions"), "--root", str(root)],
                             capture_output=True, text=True).stdout.split()[-1]
        for path, text in before.items():
            now = path.read_text()
            if now.replace("9.8.7", old) != text:
                print(f"FAIL: {path.relative_to(copy)} changed beyond its version", file=sys.stderr)
                return 1
        cmake = (copy / "CMakeLists.txt").read_text()
        if "project(twinlink VERSION 9.8.7" not in cmake:
            print("FAIL: the CMake project version was not rewritten", file=sys.stderr)
            return 1
    print("OK: set-version rewrote every place and only the versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
