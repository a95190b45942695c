"""The ``twinlink`` console script: runs the command-line tool that the package carries
(``twinlink serve``, ``twinlink shadow ...``, ``twinlink dp ...``), built from the repository's
tools/twinlink together with libtwinlink and installed as ``twinlink/bin/twinlink``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional


def binary() -> Path:
    """Where the bundled tool is."""
    return Path(__file__).resolve().parent / "bin" / "twinlink"


def main(argv: Optional[List[str]] = None) -> int:
    """Replaces this process with the tool, given ``argv`` (default: this process's arguments).
    Returns 127, after saying why, only when the tool is missing."""
    args = sys.argv[1:] if argv is None else list(argv)
    tool = binary()
    if not os.access(tool, os.X_OK):
        sys.stderr.write(
            f"twinlink: the command-line tool is not in this installation (expected {tool}).\n"
            "It is built with the package: reinstall it (pip install --force-reinstall twinlink),\n"
            "or build the repository with CMake and run tools/twinlink/twinlink from the build tree.\n"
        )
        return 127
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(str(tool), ["twinlink", *args])  # returns only by raising OSError
