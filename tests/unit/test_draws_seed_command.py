"""The command the public draw page shows to check a seed survives any witness input."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from types import SimpleNamespace

from server.draws import views


def test_any_witness_input_reaches_python_unchanged() -> None:
    entropy = bytes(range(32)).hex()
    for witness in ("", "开奖号码 7 3 0；见证人 张三", 'say "$HOME" `x` 100% & more\\', "it's"):
        draw = SimpleNamespace(server_entropy=entropy, witness_input=witness or None)
        argv = shlex.split(views._seed_command(draw))
        run = subprocess.run(
            [sys.executable, "-I", *argv[1:]], capture_output=True, text=True, check=True, timeout=30
        )
        expected = hashlib.sha256(bytes.fromhex(entropy) + witness.encode()).hexdigest()
        assert run.stdout.strip() == expected, witness
