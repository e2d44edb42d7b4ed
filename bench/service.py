"""Benchmark of the service on real uvicorn servers on 127.0.0.1.

Every server (and the Redis and PostgreSQL the multi-worker runs need) is started in its own
process group and killed at the end, whatever fails: an exception, Ctrl-C or SIGTERM
(``--fail-after-start`` fails on purpose once everything is up, for the test that checks it).

1. **Authentication cost** (issue 12): the same requests against a server with authentication
   on and against the same app with it switched off in its process, in alternating rounds.
   Target: ratio >= 0.90.
2. **/healthz while PDFs render**: two clients loop on ``POST /report.pdf`` while a third times
   ``/healthz``. Target: p99 <= 50 ms.
3. **The hook against its floor** (issue 15): server CPU per request of ``patient-view``
   against ``/bench/floor/omscds-patient-view`` on the same server (``OMSCDS_BENCH_FLOOR``:
   the same JWT check and the same body parse, no cards), in short alternating rounds (200
   requests each, two pairs per ``--seconds``); the ratio is the median of each back-to-back
   pair's, so a shared host whose speed drifts moves both halves of a pair. Target <= 2x.
4. **Open loop at a fixed rate** (issue 15): ``patient-view`` sent on a schedule (``--rate``
   requests/s, default 150) whatever the answers, each latency measured from its *scheduled*
   send time (no coordinated omission), on ``omscds serve --workers 1`` and ``--workers 2``
   with Redis and PostgreSQL. Target on 2 workers: p99 <= 50 ms.
5. Reading a 500-Observation prefetch against its ``json.loads`` baseline (target <= 15 ms).

    python bench/service.py [--seconds 20] [--rate 150] [--only floor,open-loop] [--profile]

``--profile`` writes a pyinstrument profile of the hook path, in process, to the log directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.util
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
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
PUBLIC = "http://omscds.bench"  # the JWT aud: the URL a proxy in front of the workers has
HOOK = "/cds-services/omscds-patient-view"
FLOOR = "/bench/floor/omscds-patient-view"
SECTIONS = ("parse", "auth", "pdf", "floor", "open-loop")


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


# -- processes in their own groups, always killed ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process in its own session (process group), killed with its children."""

    def __init__(self, args: list[str], env: dict[str, str], *, log: Path, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log
        self.log = log.open("w")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=self.log,
                                     start_new_session=True)  # fmt: skip

    @classmethod
    def bench_app(cls, env: dict[str, str], *, auth: bool, log: Path) -> Server:
        """This file's own server mode: the app with authentication on or (baseline) off."""
        port = _free_port()
        args = [sys.executable, __file__, "--serve", str(port)] + ([] if auth else ["--no-auth"])
        return cls(args, {**env, "OMSCDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
                   log=log, port=port)  # fmt: skip

    @classmethod
    def omscds(cls, env: dict[str, str], *, workers: int, log: Path) -> Server:
        """``omscds serve --workers N`` as deployed."""
        port = _free_port()
        args = [str(Path(sys.executable).with_name("omscds")), "serve", "--port", str(port),
                "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
        return cls(args, env, log=log, port=port)

    def wait(self, workers: int = 1, metrics_dir: Path | None = None) -> None:
        """Until ``/healthz`` answers, and with several workers until each has built its app
        (each writes its file in ``metrics_dir`` when it does). A worker builds its app in
        about 5 s on a quiet machine, over 25 s on a busy one: wait up to 5 minutes."""
        deadline = time.monotonic() + 300
        while True:
            up = False
            with contextlib.suppress(httpx.HTTPError):
                up = httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
            if up and workers > 1 and metrics_dir:
                pids = {p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("*.db")}
                up = len(pids) >= workers
            if up:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.base} did not start (see {self.log_path})")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU of every live process in the server's group (its workers)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # field 5 of stat: the process group
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):  # workers or renderers left behind
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.log.close()


class Processes:
    """Everything this run started; :meth:`close` stops it all (called from ``finally``)."""

    def __init__(self) -> None:
        self.servers: list[Server] = []
        self.closers: list[Callable[[], None]] = []

    def add(self, server: Server) -> Server:
        self.servers.append(server)
        print(f"started pid {server.proc.pid} ({server.base})", flush=True)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        self.servers.remove(server)

    def close(self) -> None:
        for server in reversed(self.servers):
            with contextlib.suppress(Exception):
                server.stop()
        self.servers.clear()
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                close()
        self.closers.clear()


def _on_signal(signum: int, _: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds into the finally that stops every server


def _load_test_helper(name: str, path: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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


# -- CDS calls ------------------------------------------------------------------------------------


class Signer:
    """The EHR's ES384 key; every request needs a fresh jti, so tokens are signed up front."""

    def __init__(self, directory: Path) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(self.key.public_key()))
        jwk.update({"kid": "k1", "alg": "ES384"})
        self.jwks = directory / "jwks.json"
        self.jwks.write_text(json.dumps({"keys": [jwk]}))

    def tokens(self, aud: str, n: int, lifetime: int = 290) -> list[str]:
        now = int(time.time())
        return [
            jwt.encode(
                {
                    "iss": ISS,
                    "aud": aud,
                    "iat": now,
                    "exp": now + lifetime,
                    "jti": str(uuid.uuid4()),
                },
                self.key,
                algorithm="ES384",
                headers={"kid": "k1", "typ": "JWT"},
            )
            for _ in range(n)
        ]


def hook_body(n_obs: int = 20) -> bytes:
    return json.dumps(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "p1"},
            "prefetch": _prefetch(n_obs),
        }
    ).encode()


async def _closed(url: str, body: bytes, tokens: list[str], clients: int) -> float:
    """Send one request per token from ``clients`` concurrent clients; wall seconds."""
    it = iter(tokens)

    async def worker(c: httpx.AsyncClient) -> None:
        for token in it:
            r = await c.post(url, content=body, headers={"Authorization": f"Bearer {token}",
                                                         "Content-Type": "application/json"})  # fmt: skip
            if r.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:200]}")

    t0 = time.perf_counter()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=clients), timeout=30) as c:
        await asyncio.gather(*(worker(c) for _ in range(clients)))
    return time.perf_counter() - t0


# -- 3. the hook against its floor ----------------------------------------------------------------


def bench_floor(server: Server, signer: Signer, *, n: int, rounds: int, clients: int = 4) -> None:
    body = hook_body()
    cost: dict[str, list[float]] = {"patient-view": [], "floor": []}
    # warm both paths (imports, caches) before measuring
    asyncio.run(_closed(server.base + HOOK, body, signer.tokens(PUBLIC + HOOK, 50), clients))
    asyncio.run(_closed(server.base + FLOOR, body, signer.tokens(PUBLIC + FLOOR, 50), clients))
    for _ in range(rounds):
        for name, path in (("floor", FLOOR), ("patient-view", HOOK)):
            tokens = signer.tokens(PUBLIC + path, n)
            before = server.cpu_seconds()
            asyncio.run(_closed(server.base + path, body, tokens, clients))
            cost[name].append((server.cpu_seconds() - before) / n * 1e3)
    hook, base = statistics.median(cost["patient-view"]), statistics.median(cost["floor"])
    # the ratio of each round's pair (measured back to back), then their median: a machine
    # whose speed drifts during the run (a shared host) moves both halves of a pair together
    pairs = [h / f for h, f in zip(cost["patient-view"], cost["floor"], strict=True)]
    ratio = statistics.median(pairs)
    q1, _, q3 = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else (ratio, ratio, ratio)
    print(f"server CPU per request ({rounds} alternating rounds of {n}, {clients} clients, "
          f"1 worker): patient-view {hook:.2f} ms, floor (JWT check + body parse, no cards) "
          f"{base:.2f} ms (medians); ratio {ratio:.2f}x, the median of the {rounds} pairs' "
          f"(quartiles {q1:.2f}-{q3:.2f}) (target <= 2x: {'ok' if ratio <= 2 else 'SLOW'})")  # fmt: skip


# -- 4. open loop at a fixed rate -----------------------------------------------------------------


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:  # fmt: skip
    """One HTTP/1.1 request on a kept-alive connection; the status (the body is read)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if m is None:
        raise RuntimeError("a response without Content-Length")
    await reader.readexactly(int(m.group(1)))
    return status


async def _open_loop(base: str, path: str, body: bytes, tokens: list[str], rate: float,
                     connections: int = 64) -> dict[str, Any]:  # fmt: skip
    """Send one request per token at ``rate`` per second on a fixed schedule over
    ``connections`` kept-alive connections (wrk2's model); each latency is measured from the
    request's *scheduled* send time, so a stalled server is charged for every request it kept
    waiting (no coordinated omission). A tiny HTTP/1.1 client on asyncio streams: httpx costs
    about 1 ms of client CPU per request, enough to saturate the client before the server."""
    loop = asyncio.get_running_loop()
    host, port = base.removeprefix("http://").split(":")
    queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    lat: list[float] = []
    errors: dict[str, int] = {}

    def request(token: str) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}"
                f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body  # fmt: skip

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (item := await queue.get()) is not None:
                due, token = item
                try:
                    status = await _exchange(reader, writer, request(token))
                    kind = None if status == 200 else f"HTTP {status}"
                except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
                    kind = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                lat.append(loop.time() - due)
                if kind:
                    errors[kind] = errors.get(kind, 0) + 1
        finally:
            writer.close()

    pool = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connected
    start = loop.time() + 0.05
    cpu0 = time.process_time()
    for i, token in enumerate(tokens):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, token))  # sent when a connection is free: waiting counts
    for _ in pool:
        queue.put_nowait(None)
    await asyncio.gather(*pool)
    wall = loop.time() - start
    client_cpu = (time.process_time() - cpu0) / len(tokens) * 1e3
    lat.sort()

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * q))] * 1e3

    return {"n": len(lat), "rate": len(lat) / wall, "p50": pct(0.5), "p90": pct(0.9),
            "p99": pct(0.99), "max": lat[-1] * 1e3, "errors": errors,
            "client_cpu": client_cpu}  # fmt: skip


def bench_open_loop(server: Server, signer: Signer, *, workers: int, rate: float,
                    seconds: float) -> dict[str, Any]:  # fmt: skip
    body = hook_body()
    asyncio.run(_closed(server.base + HOOK, body, signer.tokens(PUBLIC + HOOK, 100), 4))  # warm
    tokens = signer.tokens(PUBLIC + HOOK, int(rate * seconds))
    cpu0 = server.cpu_seconds()
    out = asyncio.run(_open_loop(server.base, HOOK, body, tokens, rate))
    cpu = (server.cpu_seconds() - cpu0) / out["n"] * 1e3
    target = "" if workers < 2 else (
        f" (target p99 <= 50 ms: {'ok' if out['p99'] <= 50 else 'SLOW'})"
    )  # fmt: skip
    print(f"open loop {rate:g} req/s for {seconds:g} s, {workers} worker(s): sent {out['n']} at "
          f"{out['rate']:.1f}/s, latency from the scheduled send p50 {out['p50']:.1f} ms, "
          f"p90 {out['p90']:.1f} ms, p99 {out['p99']:.1f} ms, max {out['max']:.1f} ms; "
          f"server CPU {cpu:.2f} ms/request (client {out['client_cpu']:.2f}); "
          f"errors {out['errors'] or 'none'}{target}")  # fmt: skip
    return out


def _profile(out: Path, n: int = 300) -> None:
    """pyinstrument over ``n`` in-process hook calls (TestClient: the same app and path)."""
    from fastapi.testclient import TestClient
    from pyinstrument import Profiler

    from omscds.interfaces.api import Settings, create_app

    signer = Signer(out)
    app = create_app(Settings(local_token=TOKEN, public_base_url=PUBLIC, access_log=False,
                              cds_trusted_issuers={ISS: str(signer.jwks)}))  # fmt: skip
    client = TestClient(app)
    body = hook_body()
    headers = {"Content-Type": "application/json"}
    for token in signer.tokens(PUBLIC + HOOK, 30):
        client.post(HOOK, content=body, headers={**headers, "Authorization": f"Bearer {token}"})
    tokens = signer.tokens(PUBLIC + HOOK, n)
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    for token in tokens:
        client.post(HOOK, content=body, headers={**headers, "Authorization": f"Bearer {token}"})
    profiler.stop()
    (out / "profile.txt").write_text(profiler.output_text(unicode=False, show_all=False))
    (out / "profile.html").write_text(profiler.output_html())
    print(f"profile of {n} hook calls in process: {out / 'profile.txt'}")


# -- the run ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _shared_state(procs: Processes, tmp: Path) -> Iterator[dict[str, str]]:
    """Redis and PostgreSQL on loopback for ``--workers N`` (the test helpers start them)."""
    live = _load_test_helper("_omscds_bench_live", "tests/interfaces/api/live.py")
    redis = live.start_redis()
    procs.closers.append(redis.stop)
    pg = live.start_postgres()
    procs.closers.append(pg.stop)
    yield {"OMSCDS_REDIS_URL": redis.url, "OMSCDS_DATABASE_URL": pg.create_database("bench"),
           "OMSCDS_FEEDBACK_DB": str(tmp / "feedback.sqlite3")}  # fmt: skip


def run(args: argparse.Namespace, procs: Processes, tmp: Path) -> None:
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    if "parse" in only:
        bench_parse()
    signer = Signer(tmp)
    env = {
        **os.environ,
        "OMSCDS_LOCAL_TOKEN": TOKEN,
        "OMSCDS_CDS_TRUSTED_ISSUERS": json.dumps({ISS: str(signer.jwks)}),
        "XDG_DATA_HOME": str(tmp),  # never the user's own registry
    }
    if {"auth", "pdf"} & only:
        auth = procs.add(Server.bench_app(env, auth=True, log=tmp / "auth.log"))
        plain = procs.add(Server.bench_app(env, auth=False, log=tmp / "plain.log"))
        auth.wait()
        plain.wait()
        if args.fail_after_start:
            raise RuntimeError("failing on purpose (--fail-after-start)")
        if "auth" in only:
            bench_auth(auth, plain, max(2.0, args.seconds / 4), min(args.clients, 16),
                       args.rounds)  # fmt: skip
        procs.stop(plain)
        if "pdf" in only:
            bench_health_during_pdfs(auth, max(10.0, args.seconds))
        procs.stop(auth)
    cds_env = {**env, "OMSCDS_PUBLIC_BASE_URL": PUBLIC, "OMSCDS_ACCESS_LOG": "true"}
    if "floor" in only:
        floor = procs.add(Server.omscds({**cds_env, "OMSCDS_BENCH_FLOOR": "1"}, workers=1,
                                        log=tmp / "floor.log"))  # fmt: skip
        floor.wait()
        if args.fail_after_start:
            raise RuntimeError("failing on purpose (--fail-after-start)")
        bench_floor(floor, signer, n=200, rounds=max(args.rounds, int(2 * args.seconds)))
        procs.stop(floor)
    if "open-loop" in only:
        with _shared_state(procs, tmp) as shared:
            for workers in (1, 2):
                metrics = tmp / f"metrics-{workers}"
                metrics.mkdir()
                wenv = {**cds_env, **shared, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
                server = procs.add(Server.omscds(wenv, workers=workers,
                                                 log=tmp / f"workers-{workers}.log"))  # fmt: skip
                server.wait(workers, metrics)
                if args.fail_after_start:
                    raise RuntimeError("failing on purpose (--fail-after-start)")
                bench_open_loop(server, signer, workers=workers, rate=args.rate,
                                seconds=args.seconds)  # fmt: skip
                procs.stop(server)
    if args.profile:
        _profile(tmp)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=150.0, help="open-loop requests per second")
    ap.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--profile", action="store_true", help="pyinstrument the hook in process")
    ap.add_argument("--fail-after-start", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--no-auth", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, auth=not args.no_auth)
        return
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="omscds-bench-"))
    procs = Processes()
    try:
        run(args, procs, tmp)
    finally:
        procs.close()
        print(f"servers stopped; logs: {tmp}", flush=True)


if __name__ == "__main__":
    main()
