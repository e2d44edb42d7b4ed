"""Benchmark of the service on real uvicorn servers on 127.0.0.1 (each in its own process group,
always killed at the end, whatever fails).

1. **Authentication cost** (issue 12): the same requests against a server with authentication
   on and against the same app with authentication switched off in its process (the baseline),
   in alternating rounds: ``POST /api/v1/assess`` with ``Authorization: Bearer`` (the local
   token) and ``GET /`` with a session cookie. Target: authenticated throughput within 10% of
   the baseline (ratio >= 0.90).
2. **/healthz while PDFs render**: two clients loop on ``POST /report.pdf`` (cookie + CSRF) while
   a third times ``/healthz``. Target: p99 <= 50 ms.
3. The patient-view hook with JWT verification under concurrency, against ``/healthz`` (targets
   on 2 cores: p99 <= 50 ms, >= 300 requests/s, hook p50 <= 2x /healthz p50), and reading a
   500-Observation prefetch against its ``json.loads`` baseline (target <= 15 ms).

    python bench/service.py [--seconds 20] [--clients 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from omscds.interop.cdshooks.prefetch import iter_resources
from omscds.interop.fhir import extract_case
from omscds.knowledge import load_knowledge

ISS = "https://bench.invalid"
HPO = "http://human-phenotype-ontology.org"
ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-local-token-0123456789abcdef"


def _prefetch(n_obs: int) -> dict[str, Any]:
    codes = ["HP:0010543", "HP:0001251", "HP:0000737", "HP:0001336"]
    obs = [
        {
            "resourceType": "Observation",
            "id": f"o{i}",
            "status": "final",
            "code": {"coding": [{"system": HPO, "code": codes[i % 4]}]},
            "valueBoolean": i % 4 != 3,
            "effectiveDateTime": f"2025-{1 + i % 12:02d}-01",
        }
        for i in range(n_obs)
    ]
    ss = {"resourceType": "Bundle", "type": "searchset"}
    return {
        "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "2024-05-01"},
        "observations": {**ss, "entry": [{"resource": o} for o in obs]},
        "conditions": {**ss, "entry": []},
        "reports": {**ss, "entry": []},
        "studies": {**ss, "entry": []},
    }


def bench_parse(repeats: int = 30) -> None:
    kb = load_knowledge()
    text = json.dumps(_prefetch(500))
    loads, parse = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = json.loads(text)
        t1 = time.perf_counter()
        res = (r for k, v in data.items() for r in iter_resources(k, v))
        extract_case(res, kb, today=dt.date(2026, 1, 1), patient_id="p1")
        t2 = time.perf_counter()
        loads.append(t1 - t0)
        parse.append(t2 - t0)
    lo, pa = statistics.median(loads) * 1e3, statistics.median(parse) * 1e3
    print(
        f"prefetch 500 Observations: json.loads {lo:.2f} ms (baseline), "
        f"json.loads + extraction {pa:.2f} ms, ratio {pa / lo:.1f}x, target <= 15 ms"
    )


async def _load(
    url: str, body: bytes | None, seconds: float, clients: int, token: Any
) -> list[float]:
    lat: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(c: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop:
            headers = {"Authorization": f"Bearer {token()}"} if token else {}
            t0 = time.perf_counter()
            if body is None:
                r = await c.get(url, headers=headers)
            else:
                headers["Content-Type"] = "application/json"
                r = await c.post(url, content=body, headers=headers)
            lat.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:200]}")

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as c:
        await asyncio.gather(*(worker(c) for _ in range(clients)))
    return lat


WRK_LUA = """
tokens = {}
idx = 0
body = nil
counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  local n = tonumber(args[3])
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == tid then table.insert(tokens, line) end
    i = i + 1
  end
  local f = io.open(args[2], "rb")
  body = f:read("*a")
  f:close()
end
function request()
  idx = idx + 1
  local tok = tokens[idx] or "exhausted"
  local headers = {}
  headers["Authorization"] = "Bearer " .. tok
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", nil, headers, body)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _wrk(url: str, seconds: float, clients: int, tokens: list[str] | None, body: bytes) -> float:
    """Drive ``url`` with wrk (C, 2 threads) and print throughput and p50/p99; return p50 ms."""
    import re

    threads = 2
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{clients}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if tokens is not None:
            (Path(tmp) / "tokens.txt").write_text("\n".join(tokens) + "\n")
            (Path(tmp) / "body.json").write_bytes(body)
            (Path(tmp) / "hook.lua").write_text(WRK_LUA)
            cmd += ["-s", str(Path(tmp) / "hook.lua"), url, "--"]
            cmd += [str(Path(tmp) / "tokens.txt"), str(Path(tmp) / "body.json"), str(threads)]
        else:
            cmd.append(url)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {
        m.group(1): float(m.group(2)) * _UNITS[m.group(3)]
        for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    name = "patient-view" if tokens is not None else "/healthz"
    print(
        f"{name:>14}: {rps:7.0f} req/s  p50 {pct['50']:6.1f} ms  p99 {pct['99']:6.1f} ms"
        + (f"  ({bad.group(1)} non-2xx responses!)" if bad else "")
    )
    return pct["50"]


def _report(name: str, lat: list[float], seconds: float) -> float:
    lat = sorted(lat)
    p50 = lat[len(lat) // 2] * 1e3
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
    print(f"{name:>14}: {len(lat) / seconds:7.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    return p50


# -- servers in their own process groups ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, auth: bool) -> None:
    """Run in the server process: the app, with authentication on or (baseline) off."""
    import logging.config

    import uvicorn

    from omscds.interfaces.api import create_app
    from omscds.interfaces.cli.serve import log_config

    logging.config.dictConfig(log_config("info"))  # the JSON access log, as `omscds serve`
    app = create_app()  # settings from the environment the parent set
    if not auth:
        from omscds.interfaces.api import auth as auth_module
        from omscds.interfaces.api.settings import ROLES

        everyone = auth_module.Principal("bench", frozenset(ROLES), "none", "bearer")

        async def nobody_checks(request: Any) -> Any:
            return everyone

        auth_module.authenticate = nobody_checks  # type: ignore[assignment]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                log_config=log_config("info"))  # fmt: skip


class Server:
    """A server process (its own session, so the whole group can be killed)."""

    def __init__(self, env: dict[str, str], *, auth: bool, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        args = [sys.executable, __file__, "--serve", str(self.port)]
        if not auth:
            args.append("--no-auth")
        env = {**env, "OMSCDS_PUBLIC_BASE_URL": self.base}
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=self.log,
                                     start_new_session=True)  # fmt: skip

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server on {self.base} did not start (see {self.log.name})")
            time.sleep(0.1)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


# -- 1. authentication cost -------------------------------------------------------------------


async def _rate(url: str, seconds: float, clients: int, *, body: bytes | None,
                headers: dict[str, str], cookies: dict[str, str] | None = None) -> float:  # fmt: skip
    """Requests per second from ``clients`` concurrent clients (every answer must be 200)."""
    stop = time.perf_counter() + seconds
    done = 0

    async def worker(c: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            if body is None:
                r = await c.get(url, headers=headers)
            else:
                r = await c.post(url, content=body, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:200]}")
            done += 1

    limits = httpx.Limits(max_connections=clients)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=30, cookies=cookies) as c:
        await asyncio.gather(*(worker(c) for _ in range(clients)))
    return done / (time.perf_counter() - t0)


def _session(base: str) -> tuple[dict[str, str], str]:
    """Log in with the token URL; the session cookie and its CSRF token."""
    with httpx.Client(timeout=30) as c:
        home = c.get(f"{base}/login?token={TOKEN}", follow_redirects=True)
        m = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
        if home.status_code != 200 or not m:
            raise SystemExit(f"login failed on {base}: HTTP {home.status_code}")
        return {"omscds_session": c.cookies["omscds_session"]}, m.group(1)


def bench_auth(auth: Server, plain: Server, seconds: float, clients: int, rounds: int) -> None:
    case = (ROOT / "examples" / "seed1-02-mibg-negative.json").read_bytes()
    cookies, _ = _session(auth.base)
    faces: list[tuple[str, str, bytes | None, dict[str, str], dict[str, str] | None]] = [
        ("POST /api/v1/assess (bearer)", "/api/v1/assess", case,
         {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, None),
        ("GET / (session cookie)", "/", None, {}, cookies),
    ]  # fmt: skip
    print(f"authentication cost: {clients} clients, {rounds} alternating rounds of {seconds:g} s")
    for name, path, body, headers, jar in faces:
        on: list[float] = []
        off: list[float] = []
        for _ in range(rounds):
            for server, out in ((plain, off), (auth, on)):
                out.append(asyncio.run(_rate(server.base + path, seconds, clients, body=body,
                                             headers=headers, cookies=jar)))  # fmt: skip
        r_on, r_off = statistics.median(on), statistics.median(off)
        ratio = r_on / r_off
        print(f"  {name:30}: {r_on:7.1f} req/s with authentication, {r_off:7.1f} without; "
              f"ratio {ratio:.3f} (target >= 0.90: {'ok' if ratio >= 0.9 else 'SLOW'})")  # fmt: skip


# -- 2. /healthz while PDFs render --------------------------------------------------------------


def bench_health_during_pdfs(server: Server, seconds: float) -> None:
    cookies, csrf = _session(server.base)
    data = {"case_json": (ROOT / "examples" / "seed1-02-mibg-negative.json").read_text(),
            "csrf_token": csrf}  # fmt: skip

    async def go() -> tuple[list[float], int, int]:
        stop = 0.0
        made = busy = 0

        async def pdfs(c: httpx.AsyncClient) -> None:
            nonlocal made, busy
            while time.perf_counter() < stop:
                r = await c.post("/report.pdf", data=data)
                if r.status_code == 200 and r.content.startswith(b"%PDF"):
                    made += 1
                elif r.status_code == 503:
                    busy += 1
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                else:
                    raise RuntimeError(f"/report.pdf: HTTP {r.status_code} {r.text[:200]}")

        lat: list[float] = []

        async def health(c: httpx.AsyncClient) -> None:
            await asyncio.sleep(1.0)  # the PDF workers are busy by now
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await c.get("/healthz")
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"/healthz: HTTP {r.status_code}")
                await asyncio.sleep(0.01)

        async with httpx.AsyncClient(base_url=server.base, cookies=cookies, timeout=120) as c:
            # the first PDFs start the renderer processes: not part of the measurement
            await asyncio.gather(c.post("/report.pdf", data=data), c.post("/report.pdf", data=data))
            stop = time.perf_counter() + seconds
            await asyncio.gather(pdfs(c), pdfs(c), health(c))
        return lat, made, busy

    lat, made, busy = asyncio.run(go())
    lat.sort()
    p50, p99 = lat[len(lat) // 2] * 1e3, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
    print(f"/healthz while 2 clients loop on PDFs ({seconds:g} s): p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms over {len(lat)} requests (target p99 <= 50 ms: "
          f"{'ok' if p99 <= 50 else 'SLOW'}); {made} PDFs made, {busy} answered 503")  # fmt: skip


# -- 3. the patient-view hook -------------------------------------------------------------------


def bench_hook(base: str, key: Any, seconds: float, clients: int) -> None:
    hook = f"{base}/cds-services/omscds-patient-view"

    def token() -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": hook, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})

    body = json.dumps(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "p1"},
            "prefetch": _prefetch(20),
        }
    ).encode()
    # every request needs a fresh jti (replayed tokens are refused): sign them all up front
    n_tokens = int(max(2000, 1500 * seconds))
    print(f"signing {n_tokens} ES384 tokens ...", flush=True)
    tokens = [token() for _ in range(n_tokens)]
    if shutil.which("wrk"):
        print(f"wrk: {clients} connections, {seconds:g} s per endpoint, uvicorn (1 worker)")
        p50_base = _wrk(f"{base}/healthz", seconds, clients, None, b"")
        p50_hook = _wrk(hook, seconds, clients, tokens, body)
    else:
        print(
            "wrk not installed (apt-get install wrk): falling back to a Python client, "
            "which saturates before the server does"
        )
        it = iter(tokens)
        base_lat = asyncio.run(_load(f"{base}/healthz", None, seconds, clients, None))
        p50_base = _report("/healthz", base_lat, seconds)
        hook_lat = asyncio.run(_load(hook, body, seconds, clients, lambda: next(it)))
        p50_hook = _report("patient-view", hook_lat, seconds)
    print(
        f"ratio hook/healthz p50: {p50_hook / p50_base:.2f}x (target <= 2x); "
        "targets p99 <= 50 ms, >= 300 req/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--no-auth", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, auth=not args.no_auth)
        return
    bench_parse()

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "ES384"})
    tmp = Path(tempfile.mkdtemp(prefix="omscds-bench-"))
    (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    env = {
        **os.environ,
        "OMSCDS_LOCAL_TOKEN": TOKEN,
        "OMSCDS_CDS_TRUSTED_ISSUERS": json.dumps({ISS: str(tmp / "jwks.json")}),
        "XDG_DATA_HOME": str(tmp),  # never the user's own registry
    }
    servers: list[Server] = []
    try:
        auth = Server(env, auth=True, log=tmp / "auth.log")
        servers.append(auth)
        plain = Server(env, auth=False, log=tmp / "plain.log")
        servers.append(plain)
        auth.wait()
        plain.wait()
        plain_seconds = max(2.0, args.seconds / 4)
        bench_auth(auth, plain, plain_seconds, min(args.clients, 16), args.rounds)
        plain.stop()
        servers.remove(plain)
        bench_health_during_pdfs(auth, max(10.0, args.seconds))
        bench_hook(auth.base, key, args.seconds, args.clients)
    finally:
        for server in servers:
            server.stop()
    print(f"server logs: {tmp}")


if __name__ == "__main__":
    main()
