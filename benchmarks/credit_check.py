"""The credit check under load: ``POST /creditsync/api/v1/check`` at a fixed rate with N listed subjects
on PostgreSQL (target: p99 ≤ 20 ms at 200 requests/s with 1,000,000 listed subjects).

    .venv/bin/python benchmarks/credit_check.py [--subjects N] [--rate R] [--seconds S] [--keep]

A fresh database at the gateway's schema; N subjects on the joint-punishment list and graded (one
version and one current row each, COPY), keyed as the gateway keys them; the console's FastAPI app
served by uvicorn in its own processes (``--workers``, as the api-server's ``[api] workers``), with
Airflow's SimpleAuthManager and a real JWT of a service user in the ``credit_check`` role; then an
open-loop load: requests are sent on a fixed schedule whatever the answers, and each latency runs from
the moment the request was due (so a slow answer cannot hide the queue behind it). The load comes from
``http.client`` on kept-alive connections, one per sending thread: a client built on ``requests`` cost
about 1 ms of CPU a request on the same two cores and added up to 7 ms to the p99 it measured (its own
queue for the GIL, compared with the time the server took). Half the subjects asked are listed, half
not. Every check is recorded (a ``credit_checks`` row and an audit entry), as in production. Reported
per check: the CPU of the server's processes and, when PostgreSQL runs here, of its backends (both on
the same cores).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).parent))
from _pg import fresh_database
from sqlalchemy import create_engine

REPO = Path(__file__).resolve().parents[1]
TITLE = "Credit check: POST /creditsync/api/v1/check under a fixed request rate (PostgreSQL)"
BENCH_ARGS = ["--subjects", "1000000", "--rate", "200", "--rate", "100", "--seconds", "30"]
QUICK_ARGS = ["--subjects", "2000", "--rate", "50", "--seconds", "3"]
ADMIN_URL = os.environ.get("CREDITSYNC_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
MATTERS = ("SC-XK-001", "SC-ZTB-001", "ST-ZJ-001", "YJ-XK-001")
SERVER = '''
import os, sys, uvicorn
from airflow.api_fastapi.app import create_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
manager = create_auth_manager()
print("TOKEN " + manager.generate_jwt(SimpleAuthManagerUser(username="svc_market", role=None)), flush=True)
port, workers = int(sys.argv[1]), int(sys.argv[2])
# each worker process builds the app after its own auth manager, as the api-server's workers do
uvicorn.run("check_server:app", factory=True, app_dir=os.path.dirname(sys.argv[3]), workers=workers,
            host="127.0.0.1", port=port, log_level="warning", access_log=False)
'''
APP = '''
from airflow.api_fastapi.app import create_auth_manager
from creditsync.orchestration.ui.plugin import LazyApp


def app():
    create_auth_manager()
    return LazyApp()  # as the api-server serves the plugin: built, heap frozen, on first use
'''


def numbers(count: int, salt: int) -> list[str]:
    """Valid USCCs (GB 32100 check character), distinct per ``salt``."""
    from creditsync.schema.identifiers import make_uscc

    return [make_uscc(f"9137{salt:02d}{n:010d}X") for n in range(count)]


def load(url: str, listed: list[str]) -> float:
    """COPY one listed version, its current row, one grade version and its current row per subject."""
    from creditsync.privacy import keyed_hash

    started = time.perf_counter()
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, columns, rows in _tables([keyed_hash(n) for n in listed], listed):
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerows(rows)
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        for table in ("credit_list_versions", "credit_grade_versions"):
            cursor.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - started


def _tables(keys: list[str], listed: list[str]) -> list[tuple[str, str, Any]]:
    stamp = "2026-11-01T00:00:00+00:00"
    measures = '["CJ01","CJ05","CJ06","CJ07"]'
    versions = ((i + 1, f"{i:032x}", "placed", "listed", "dishonest", key, listed[i], f"主体{i}",
                 "拒不履行法院判决", "济南市中级人民法院", "2026-01-01", "", measures, stamp, stamp)
                for i, key in enumerate(keys))
    current = ((f"{i:032x}", key, i + 1, "listed") for i, key in enumerate(keys))
    grades = ((i + 1, key, listed[i], f"主体{i}", "D", "2026-11-01", stamp, stamp)
              for i, key in enumerate(keys))
    grade_current = ((key, i + 1, "D") for i, key in enumerate(keys))
    return [
        ("credit_list_versions", "id, entry_id, event, status, list_type, subject_key, subject_masked, "
         "subject_name, cause, authority, start_date, end_date, measures, changed_at, known_at", versions),
        ("credit_list_current", "entry_id, subject_key, version_id, status", current),
        ("credit_grade_versions", "id, subject_key, subject_masked, subject_name, grade, graded_on, "
         "changed_at, known_at", grades),
        ("credit_grade_current", "subject_key, version_id, grade", grade_current),
    ]


def serve(url: str, port: int, workdir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CREDITSYNC_"))}
    env.update({"AIRFLOW_HOME": str(workdir), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "svc_market:",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(workdir / "passwords.json"),
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex, "CREDITSYNC_HOME": str(REPO),
                "CREDITSYNC_DB_URL": url})
    airflow = str(Path(sys.executable).with_name("airflow"))  # its tokens are checked against revoked ones
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    (workdir / "check_server.py").write_text(APP)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(workers),
                               str(workdir / "check_server.py")], env=env,
                              stdout=subprocess.PIPE, stderr=open(workdir / "server.log", "wb"),  # noqa: SIM115
                              start_new_session=True)
    assert server.stdout is not None
    token = ""
    while not token:  # Airflow logs to stdout too: the token is the line that says so
        line = server.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"the check server died: {(workdir / 'server.log').read_text()[-2000:]}")
        token = line.removeprefix("TOKEN ").strip() if line.startswith("TOKEN ") else ""
    drain = server.stdout  # keep reading, or a full pipe would stall the server
    threading.Thread(target=lambda: [None for _ in iter(drain.readline, b"")], daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError):
            requests.post(f"http://127.0.0.1:{port}/api/v1/check", timeout=2)
            return server, token
        time.sleep(0.2)  # waiting for the server to listen
    raise RuntimeError(f"the check server did not start: {(workdir / 'server.log').read_text()[-2000:]}")


def load_test(port: int, token: str, subjects: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Open loop: request i is due at start + i/rate; its latency counts from then."""
    rng = random.Random(7)
    total = int(rate * seconds)
    bodies = [{"subject": rng.choice(subjects), "matter": rng.choice(MATTERS)} for _ in range(total)]
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(body: str) -> tuple[str, bytes]:
        """On the thread's kept-alive connection; one the server closed while idle (uvicorn's keep-alive
        timeout) is opened again and the request sent once more, as a pooling client does."""
        connection = getattr(local, "connection", None)
        if connection is not None:
            try:
                return _exchange(connection, body)
            except (ConnectionError, http.client.RemoteDisconnected):
                connection.close()
        local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        return _exchange(local.connection, body)

    def _exchange(connection: http.client.HTTPConnection, body: str) -> tuple[str, bytes]:
        connection.request("POST", "/api/v1/check", body, headers)
        answer = connection.getresponse()
        return str(answer.status), answer.read()

    def one(due: float, body: dict[str, str]) -> None:
        try:
            status, text = post(json.dumps(body))
            ok = status == "200"
        except (OSError, http.client.HTTPException) as exc:
            ok, status, text = False, str(exc), b""
        elapsed = time.perf_counter() - due
        with lock:
            latencies.append(elapsed)
            if not ok:
                errors.append(status)
                if len(errors) == 1:
                    print("first error:", status, text[:300], file=sys.stderr)

    start = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i, body in enumerate(bodies):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, due, body)
    took = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"requests": total, "errors": len(errors), "achieved": total / took,
            "p50": _ms(statistics.median(ordered)), "p90": _ms(ordered[int(0.90 * (len(ordered) - 1))]),
            "p99": _ms(ordered[int(0.99 * (len(ordered) - 1))]), "max": _ms(ordered[-1])}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def in_process(url: str, subjects: list[str], count: int = 500) -> dict[str, float]:
    """The check without HTTP or auth (the library call), for where the time goes."""
    from creditsync.audit import AuditTrail
    from creditsync.credit.check import CheckRequest, bind_checks, check
    from creditsync.credit.measures import load_catalogue
    from creditsync.store import open_store

    store = open_store(url)
    catalogue, trail, rng = load_catalogue(REPO), AuditTrail("bench"), random.Random(3)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        request = CheckRequest(rng.choice(subjects), rng.choice(MATTERS), "bench")
        check(store, catalogue, request, trail, bind=False)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    bind_checks(store, trail)
    bind = time.perf_counter() - started
    store.dispose()
    times.sort()
    return {"p50": _ms(statistics.median(times)), "p99": _ms(times[int(0.99 * (len(times) - 1))]),
            "bind": _ms(bind)}


def collect(argv: list[str]) -> list[dict[str, Any]]:
    from creditsync.store.db import upgrade

    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, action="append", help="requests/s (repeatable)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database (its URL is printed)")
    parser.add_argument("--database", help="a database a --keep run loaded: skip the load")
    parser.add_argument("--workers", type=int, default=2,
                        help="server processes, as the api-server's [api] workers (about one per core)")
    options = parser.parse_args(argv)
    listed, unlisted = numbers(options.subjects, 1), numbers(min(options.subjects, 10_000), 2)
    asked = [n for pair in zip(listed[:10_000], unlisted, strict=False) for n in pair]
    rows: list[dict[str, Any]] = []
    database = contextlib.nullcontext(options.database) if options.database else fresh_database(
        ADMIN_URL, options.keep)
    with database as url, tempfile.TemporaryDirectory() as work:
        if not options.database:
            print(f"database: {url}", file=sys.stderr)
            upgrade(url)
            loaded = load(url, listed)
            rows.append({"measurement": "load: COPY listed subjects + grades, ANALYZE",
                         "result": f"{loaded:.0f} s",
                         "detail": f"{options.subjects:,} listed subjects, each graded"})
        direct = in_process(url, asked)
        rows.append({"measurement": "check() in process (no HTTP, no auth), 500 calls",
                     "result": f"p50 {direct['p50']} ms · p99 {direct['p99']} ms",
                     "detail": "one statement reads entries + grade, one inserts the check row; commit"})
        rows.append({"measurement": "bind_checks: the audit entries of those 500 checks",
                     "result": f"{direct['bind']} ms", "detail": "one lock of the chain's head per batch"})
        port = options.port or _free_port()
        server, token = serve(url, port, Path(work), options.workers)
        try:
            load_test(port, token, asked, 20, 2)  # warm-up: connections, caches
            for rate in options.rate or [200.0]:
                before, database_before = _cpu_seconds(server.pid), _database_cpu(url)
                found = load_test(port, token, asked, rate, options.seconds)
                server_ms = (_cpu_seconds(server.pid) - before) / found["requests"] * 1000
                database = _database_cpu(url)
                database_ms = None if database is None or database_before is None else sum(
                    cpu - database_before.get(pid, 0.0) for pid, cpu in database.items()
                ) / found["requests"] * 1000
                rows.append(_row(rate, options.seconds, found, server_ms, options.workers, database_ms))
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
    rows.append({"measurement": "machine load during the run", "result": f"{os.getloadavg()[0]:.1f}",
                 "detail": f"1-minute load average on {os.cpu_count()} CPUs (shared with other work)"})
    return rows


def _row(rate: float, seconds: float, found: dict[str, Any], server_ms: float, workers: int,
         database_ms: float | None) -> dict[str, Any]:
    database = "" if database_ms is None else f", PostgreSQL CPU {database_ms:.1f} ms"
    return {"measurement": f"POST /api/v1/check at {rate:g}/s for {seconds:g} s, {workers} server "
                           f"process{'es' if workers > 1 else ''}",
            "result": f"p50 {found['p50']} ms · p99 {found['p99']} ms",
            "detail": f"p90 {found['p90']} ms, max {found['max']} ms; {found['requests']:,} requests, "
                      f"{found['errors']} errors, {found['achieved']:.0f}/s achieved; half listed; "
                      f"server CPU {server_ms:.1f} ms{database} per check; target p99 ≤ 20 ms: "
                      f"{'met' if found['p99'] <= 20 else 'NOT met'}"}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (uvicorn's workers), from Linux /proc, to
    say what one check costs the server."""
    own = _process_cpu(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _database_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's database (the server's pool
    keeps its connections), when PostgreSQL runs on this machine: its work shares the same cores."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            pids = connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()").scalars().all()
        return {pid: _process_cpu(pid) for pid in pids if Path(f"/proc/{pid}/stat").exists()}
    except OSError:  # not ours to read, or PostgreSQL elsewhere
        return None
    finally:
        engine.dispose()


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    rows = collect(sys.argv[1:])
    print("| measurement | result | detail |\n|---|---|---|")
    for row in rows:
        print(f"| {row['measurement']} | {row['result']} | {row['detail']} |")


if __name__ == "__main__":
    main()
