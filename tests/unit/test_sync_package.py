"""sync/ stands alone: the server and the PWA build on it, not the other way round."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "sync").glob("*.py") if p.stem != "__init__")


def test_sync_imports_no_flask_and_no_sqlalchemy() -> None:
    code = (
        "import sys\n"
        + "".join(f"import sync.{name}\n" for name in MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlalchemy', 'server'})\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert "store" in MODULES and "upstream" in MODULES
