"""A throwaway PostgreSQL 15 cluster for the tests: initdb, start on a private socket, stop.

Run as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root); the
cluster lives in its own directory under /tmp because pytest's tmp_path is not readable by that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/15/bin")) + sorted(
        glob.glob("/usr/lib/postgresql/*/bin")
    )
    for c in candidates:
        if Path(c, "initdb").exists() and Path(c, "pg_ctl").exists():
            return Path(c)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@dataclass
class PgCluster:
    bin_dir: Path
    root: Path
    socket_dir: Path
    port: int
    user: str | None  # OS user that owns the cluster, None = the current user

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        data = self.root / "data"
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        opts = (
            f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        self._run(
            str(self.bin_dir / "createdb"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )
        return self.url(name)


def app_overrides(url: str, var_dir: Path) -> dict[str, object]:
    """App config for a test: this database, files under this directory."""
    return {"SQLALCHEMY_DATABASE_URI": url, "VAR_DIR": var_dir, "BLOB_DIR": var_dir / "blobs"}


def start_cluster() -> PgCluster:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="spotcheck-pg-", dir="/tmp"))
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    root.chmod(0o755)
    cluster = PgCluster(
        bin_dir=bin_dir, root=root, socket_dir=root, port=5432 + os.getpid() % 1000 + 1000, user=user
    )
    cluster.start()
    return cluster
