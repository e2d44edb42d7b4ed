"""Real parts for the scale-out and operations tests, all on 127.0.0.1 and free ports:

* :func:`start_redis`: a throwaway ``redis-server`` (no persistence) in a temp dir;
* :func:`start_postgres`: the PostgreSQL of ``tests/storage/pg.py``;
* :class:`Signer`: an ES384 key, its JWKS file, and fresh CDS client JWTs;
* :class:`Serve`: ``omscds serve`` as a real process in its own session (the whole process
  group is killed on exit, whatever failed).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[3]
OMSCDS = Path(sys.executable).with_name("omscds")
ISSUER = "https://ehr.scaleout.invalid"
HPO = "http://human-phenotype-ontology.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- Redis -----------------------------------------------------------------------------------


@dataclass
class RedisServer:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis() -> RedisServer:
    """``redis-server`` on loopback and a free port; RuntimeError (with its log) if it fails."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `bash tools/install-system-deps.sh`")
    root = Path(tempfile.mkdtemp(prefix="omscds-redis-"))
    port = free_port()
    log = root / "redis.log"
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(root),
            "--save", "", "--appendonly", "no", "--protected-mode", "yes",
            "--logfile", str(log)]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(proc, port, root)
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return server
        if proc.poll() is not None or time.monotonic() > deadline:
            text = log.read_text() if log.exists() else ""
            server.stop()
            raise RuntimeError(f"redis-server did not start: {text[-2000:]}")
        time.sleep(0.05)


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_module() -> Any:
    name = "_omscds_tests_pg"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "storage" / "pg.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def start_postgres() -> Any:
    """A fresh PostgreSQL server (``tests/storage/pg.py``): ``.create_database(name)``,
    ``.stop()``."""
    return _pg_module().start_postgres()


# -- CDS client JWTs -------------------------------------------------------------------------


@dataclass
class Signer:
    """An EHR's ES384 key and its key set, written to ``directory``."""

    directory: Path
    kid: str = "scale-1"
    key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))

    def __post_init__(self) -> None:
        jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "ES384", "use": "sig"})
        self.jwks_path.write_text(json.dumps({"keys": [jwk]}))

    @property
    def jwks_path(self) -> Path:
        return self.directory / "jwks.json"

    def trusted(self) -> str:
        """``OMSCDS_CDS_TRUSTED_ISSUERS`` for this signer."""
        return json.dumps({ISSUER: str(self.jwks_path)})

    def token(self, aud: str, jti: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 120,
                  "jti": jti or str(uuid.uuid4())}  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": self.kid})


def hook_body(patient: str = "p1") -> dict[str, Any]:
    """A patient-view call whose prefetch describes a child with OMS (cards are issued)."""
    obs = [
        {"resourceType": "Observation", "id": f"o{i}", "status": "final",
         "code": {"coding": [{"system": HPO, "code": code}]}, "valueBoolean": True}
        for i, code in enumerate(["HP:0010543", "HP:0001336", "HP:0001251", "HP:0000737"])
    ]  # fmt: skip
    ss = {"resourceType": "Bundle", "type": "searchset"}
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": patient},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": patient, "birthDate": "2024-05-01"},
            "observations": {**ss, "entry": [{"resource": o} for o in obs]},
            "conditions": {**ss, "entry": []},
            "reports": {**ss, "entry": []},
            "studies": {**ss, "entry": []},
        },
    }


# -- omscds serve as a real process ----------------------------------------------------------


class Serve:
    """``omscds serve --port P [args]`` in its own session; a context manager that kills the
    whole process group on exit. ``base`` is where it listens."""

    def __init__(self, env: dict[str, str], *args: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.args = [str(OMSCDS), "serve", "--port", str(self.port), "--log-level", "warning",
                     *args]  # fmt: skip
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Serve:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"omscds serve did not start: {self.log()[-3000:]}")
            time.sleep(0.1)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # workers left behind by a parent that died first: the group is gone only when empty
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        self.proc = None

    def __exit__(self, *exc: object) -> None:
        self.stop()
