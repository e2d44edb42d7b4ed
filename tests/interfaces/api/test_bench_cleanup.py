"""bench/service.py never leaves a server behind: made to fail once its servers are up (and,
apart, stopped with SIGTERM), every process it started is gone."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench" / "service.py"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # a zombie is dead but not yet reaped by its parent (gone with the parent)
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _group_members(pgid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, **kw)  # type: ignore[call-overload]  # fmt: skip


def _started(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"^started pid (\d+)", text, re.M)]


@pytest.mark.parametrize("section", ["floor", "auth"])
def test_a_failing_run_stops_every_server_it_started(section: str) -> None:
    done = _run(["--only", section, "--fail-after-start"])
    assert done.returncode != 0
    assert "failing on purpose" in done.stderr
    pids = _started(done.stdout)
    assert pids, done.stdout + done.stderr
    for pid in pids:
        assert not _alive(pid), f"server {pid} left running"
        assert _group_members(pid) == [], f"processes of group {pid} left running"
    assert "servers stopped" in done.stdout


def test_sigterm_stops_every_server_it_started() -> None:
    proc = subprocess.Popen([sys.executable, str(BENCH), "--only", "floor", "--seconds", "60",
                             "--rounds", "50"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "started pid N (...)" once the server is launched
        pids = _started(line)
        assert pids, line
        deadline = time.monotonic() + 120
        while not _group_members(pids[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # inside the run (server starting or measured), not in set-up
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert "servers stopped" in out
    for pid in pids:
        assert not _alive(pid) and _group_members(pid) == [], f"server {pid} left running"
