"""A throwaway PostgreSQL server for tests and benchmarks (imported by tests/storage/conftest.py
and bench/registry.py). Finds ``initdb``/``pg_ctl`` under ``/usr/lib/postgresql/*/bin``, runs
them as the ``postgres`` user when we are root, listens on 127.0.0.1 and a free port only."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgServer", "find_pg_bin", "start_postgres"]


def find_pg_bin() -> Path | None:
    """The newest PostgreSQL bin directory that has initdb and pg_ctl, if any."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bin_dir: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PgServer:
    """initdb in a fresh temp dir and start the server; raises RuntimeError with the log."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: run `bash tools/install-system-deps.sh`")
    root = Path(tempfile.mkdtemp(prefix="omscds-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    server = PgServer(bin_dir, root, _free_port(), as_postgres)
    init = server._run(
        str(bin_dir / "initdb"), "-D", str(server.data), "-A", "trust", "-U", "postgres",
        "-E", "UTF8", "--no-sync",
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr or init.stdout}")
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    log = root / "server.log"
    start = server._run(
        str(bin_dir / "pg_ctl"), "-D", str(server.data), "-o", opts, "-l", str(log), "-w",
        "-t", "60", "start",
    )  # fmt: skip
    if start.returncode != 0:
        text = log.read_text() if log.exists() else ""
        server.stop()
        raise RuntimeError(f"pg_ctl start failed: {start.stderr}{text}")
    return server
