"""The built field app for tests: ``pwa/dist`` made by ``node pwa/build.mjs`` (``make pwa``).

``built_pwa()`` rebuilds when node and the npm packages are there (so a test never runs against a
stale build), uses an existing build otherwise, and else skips naming what is missing — except
under CI=true, where a missing build fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
_built = False


def built_pwa() -> Path:
    global _built
    if _built:
        return DIST
    node = shutil.which("node")
    if node and (ROOT / "node_modules" / "esbuild").is_dir():
        subprocess.run([node, str(ROOT / "pwa" / "build.mjs")], check=True, cwd=ROOT, capture_output=True)
    elif not (DIST / "shell.json").exists():
        reason = "the field app is not built and node or node_modules is missing (run `make pwa`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    _built = True
    return DIST
