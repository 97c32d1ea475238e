"""Servers of the fault tests' own, to stop, kill and restart at will: a PostgreSQL cluster, a Mosquitto
and `chengyun serve` processes. Never the machine's shared PostgreSQL and Mosquitto, which other tests
(and other people) use at the same time. Ports come from ranges kept for this (PostgreSQL 5440-5449,
brokers 1890-1899), the first free one."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

POSTGRES_PORTS = range(5440, 5450)
BROKER_PORTS = range(1890, 1900)


def missing(what: str) -> NoReturn:
    """A server program the test needs is not installed: skip, or fail where the services are required
    (CI)."""
    message = f"this test needs {what}"
    if os.environ.get("CHENGYUN_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


def free_port_in(ports: range) -> int:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    """Polls `condition()` until it holds; fails naming `what` after `timeout` seconds."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def scratch_databases(prefix: str) -> Iterator[Callable[[str], str]]:
    """Creates PostgreSQL databases of the test's own on the shared test server (`create(name)` gives the
    URL of a new, empty one) and drops them, and only them, afterwards."""
    from sqlalchemy.engine import make_url

    from chengyun.adapters.db.engine import make_engine

    base = os.environ.get("CHENGYUN_TEST_DATABASE_URL")
    if not base:
        missing("CHENGYUN_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    admin = make_engine(make_url(base).set(database="postgres"))
    made: list[str] = []

    def create(name: str) -> str:
        database = f"{prefix}_{name}_{secrets.token_hex(4)}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {database}")
        made.append(database)
        return make_url(base).set(database=database).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for database in made:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.dispose()


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql (apt install postgresql)"
        )
    return found[-1].parent


class PostgresCluster:
    """A PostgreSQL cluster in a temporary folder (run as the `postgres` user when we are root, which
    PostgreSQL refuses to run as)."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="chengyun-faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port_in(POSTGRES_PORTS)
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin / tool), *args], check=True, capture_output=True)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
            "-c shared_buffers=32MB -c max_connections=120"
        )
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session and shuts down cleanly; `immediate` is a crash (recovery on start)."""
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "stop", "-W", "-D", str(self.data), "-m", "immediate")
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(AssertionError):
            wait_for(lambda: not pid_file.exists(), "PostgreSQL to exit", 10)
        shutil.rmtree(self.folder, ignore_errors=True)


class Broker:
    """A Mosquitto of our own. With `persistence` it keeps sessions and queued messages across a
    restart, as a deployment's broker would."""

    def __init__(self, persistence: bool = True) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="chengyun-faults-mqtt-"))
        if os.geteuid() == 0:  # started as root, Mosquitto runs as `mosquitto`: it must write its database
            with contextlib.suppress(LookupError):  # no such user: it stays root
                shutil.chown(self.folder, "mosquitto", "mosquitto")
        self.port = free_port_in(BROKER_PORTS)
        self.url = f"mqtt://127.0.0.1:{self.port}"
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence {'true' if persistence else 'false'}\npersistence_location {self.folder}/\n"
            "max_queued_messages 100000\n",
            encoding="utf-8",
        )
        self._conf = conf
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(self._conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self._accepting, f"mosquitto on port {self.port}", 10)

    def _accepting(self) -> bool:
        with socket.socket() as s:
            try:
                s.connect(("127.0.0.1", self.port))
            except OSError:
                return False
            return True

    def stop(self) -> None:
        """A clean stop (SIGTERM): the broker saves its sessions when it has persistence."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_broker(persistence: bool = True) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None:
        missing("mosquitto (apt install mosquitto)")
    broker = Broker(persistence)
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


class Server:
    """`chengyun serve` in a process of its own, on a free port, logging to a file."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"serve-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chengyun.cli", "serve", "--port", str(self.port), *args],
            env={**os.environ, **env},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, f"chengyun serve on port {self.port} (log: {self.log})", 60)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"chengyun serve exited: {self.log.read_text(errors='replace')[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def api_workers(self) -> list[int]:
        """The pids of the API processes uvicorn's supervisor runs."""
        pids = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                with contextlib.suppress(OSError):
                    if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        pids.append(int(pid))
        return sorted(pids)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextlib.contextmanager
def server(args: Sequence[str], env: Mapping[str, str], folder: Path) -> Iterator[Server]:
    running = Server(args, env, folder)
    try:
        yield running
    finally:
        running.stop()
