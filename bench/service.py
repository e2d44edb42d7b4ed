"""Benchmark: the patient-view hook with JWT verification under concurrency, against /healthz.

Starts a real uvicorn server on 127.0.0.1, signs a fresh ES384 token per request (keys made
here), and runs ``--clients`` concurrent clients for ``--seconds`` against each endpoint. Prints
p50/p99 latency, throughput and the hook/trivial ratio (targets on 2 cores: p99 <= 50 ms,
>= 300 requests/s, hook p50 <= 2x /healthz p50). Also times reading a 500-Observation prefetch
against its ``json.loads`` baseline (target <= 15 ms).

    python bench/service.py [--seconds 20] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()
    bench_parse()

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "ES384"})
    tmp = Path(tempfile.mkdtemp()) / "jwks.json"
    tmp.write_text(json.dumps({"keys": [jwk]}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    # the server runs in its own process so the load generator does not share its GIL
    env = {
        **os.environ,
        "OMSCDS_PUBLIC_BASE_URL": base,
        "OMSCDS_CDS_TRUSTED_ISSUERS": json.dumps({ISS: str(tmp)}),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "omscds.interfaces.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--no-access-log",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.terminate()
            raise SystemExit("the server did not start")
        time.sleep(0.1)
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
    n_tokens = int(max(2000, 1500 * args.seconds))
    print(f"signing {n_tokens} ES384 tokens ...", flush=True)
    tokens = [token() for _ in range(n_tokens)]
    if shutil.which("wrk"):
        print(
            f"wrk: {args.clients} connections, {args.seconds:g} s per endpoint, "
            "uvicorn (1 worker) on 127.0.0.1"
        )
        p50_base = _wrk(f"{base}/healthz", args.seconds, args.clients, None, b"")
        p50_hook = _wrk(hook, args.seconds, args.clients, tokens, body)
    else:
        print(
            "wrk not installed (apt-get install wrk): falling back to a Python client, "
            "which saturates before the server does"
        )
        it = iter(tokens)
        base_lat = asyncio.run(_load(f"{base}/healthz", None, args.seconds, args.clients, None))
        p50_base = _report("/healthz", base_lat, args.seconds)
        hook_lat = asyncio.run(_load(hook, body, args.seconds, args.clients, lambda: next(it)))
        p50_hook = _report("patient-view", hook_lat, args.seconds)
    print(
        f"ratio hook/healthz p50: {p50_hook / p50_base:.2f}x (target <= 2x); "
        "targets p99 <= 50 ms, >= 300 req/s"
    )
    server.terminate()
    server.wait(timeout=10)


if __name__ == "__main__":
    main()
