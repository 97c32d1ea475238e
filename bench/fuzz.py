"""Schemathesis over a live center: 10,000+ generated requests (valid and invalid) across every operation of
the OpenAPI (REST and Open311), against `chengyun demo` on SQLite or `chengyun serve` on PostgreSQL.

Checks: no 5xx, every status documented, content types and bodies as documented. The streaming live feed
and the classifier retraining (seconds per call) are left out.

Run: .venv/bin/python bench/fuzz.py [--examples 150] [--postgres]
     (--postgres needs CHENGYUN_TEST_DATABASE_URL; a throwaway schema is used)
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from _common import POSTGRES_ENV, postgres_base_url, table, temp_database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SKIPPED = r"^/api/v1/(events|classifier/retrain)$"


def start_server(stack: ExitStack, port: int, token: str, postgres: bool) -> subprocess.Popen[bytes]:
    env = os.environ | {"CHENGYUN_BOOTSTRAP_TOKEN": token, "CHENGYUN_PORT": str(port)}
    env.pop("CHENGYUN_MQTT_URL", None)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    if postgres:
        base = postgres_base_url(os.environ.get(POSTGRES_ENV))
        if base is None:
            raise SystemExit(f"--postgres needs {POSTGRES_ENV}")
        url = stack.enter_context(temp_database("postgres", base))
        subprocess.run([BIN / "chengyun", "db", "upgrade", "--database-url", url], check=True, env=env)
        argv = [BIN / "chengyun", "serve", "--database-url", url]
    else:
        argv = [BIN / "chengyun", "demo", "--db", str(workdir / "demo.db")]
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    stack.callback(proc.wait, 20)
    stack.callback(proc.terminate)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=150, help="examples per operation and phase")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    token = "fuzz-" + secrets.token_hex(8)
    with ExitStack() as stack:
        start_server(stack, args.port, token, args.postgres)
        started = time.perf_counter()
        st = subprocess.run(
            [
                BIN / "st",
                "run",
                f"http://127.0.0.1:{args.port}/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "-n",
                str(args.examples),
                "-c",
                CHECKS,
                "--exclude-path-regex",
                SKIPPED,
                "--seed",
                "7",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    summary = [line.strip() for line in st.stdout.splitlines() if "generated" in line or "❌" in line]
    failures = [line for line in summary if "❌" in line]
    store = "PostgreSQL (chengyun serve)" if args.postgres else "SQLite (chengyun demo, live traffic)"
    outcome = summary[-1] if summary else "?"
    row = [store, str(args.examples), outcome, str(len(failures)), f"{elapsed:.0f}"]
    print(table(["store", "examples/op", "outcome", "failures", "wall s"], [row]))
    for line in failures:
        print(line)
    if st.returncode != 0:  # the failing cases, each with a curl line to reproduce it
        out = st.stdout
        start, end = out.find("= FAILURES ="), out.find("= WARNINGS =")
        print(out[start:end] if start >= 0 else out[-4000:])
        raise SystemExit(st.returncode)


if __name__ == "__main__":
    main()
