"""A throwaway Varnish in front of two healthlib app servers, for tests/test_varnish.py and bench/varnish.py.

:func:`running_stack` starts, in a temporary directory: a ``redis-server`` (the shared cache), the
database (a SQLite file, or a new database in the PostgreSQL cluster of tests/with_postgres.sh when
``HEALTHLIB_TEST_DB=postgres``), ``varnishd`` with the shipped VCL (docs/varnish/healthlib.vcl, only
its backends replaced), the editor's process (tests/varnish_helper.py, which migrates and makes the
content) and two gunicorn app servers; and stops every process and drops the database afterwards,
even when the caller fails. Ports: see :func:`free_ports`.

:func:`missing` says what is not installed (Debian: ``make varnish-deps`` and ``make redis-deps``).
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VCL = ROOT / "docs" / "varnish" / "healthlib.vcl"
VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"
#: Where Debian's varnish-modules puts vmod_xkey.
XKEY_GLOB = "/usr/lib/*/varnish/vmods/libvmod_xkey.so"
BACKENDS = re.compile(r"^# ---- backends:.*?^# ---- end of backends ----$", re.M | re.S)
#: Generous: the machine may be loaded. Processes that die are noticed at once.
START_DEADLINE = 90


def missing() -> list[str]:
    """What the stack needs and this machine lacks."""
    lacking = []
    if not os.access(VARNISHD, os.X_OK):
        lacking.append("varnishd (Debian package varnish)")
    if not glob.glob(XKEY_GLOB):
        lacking.append("vmod_xkey (Debian package varnish-modules)")
    if not shutil.which("redis-server"):
        lacking.append("redis-server (Debian package redis-server)")
    return lacking


def vcl_with_backends(ports: list[int], extra: str = "") -> str:
    """The shipped VCL with its backends section pointing at the app servers on ``ports``, then ``extra``
    (VCL run before the shipped file's own subroutines of the same name)."""
    text = VCL.read_text()
    backends = "".join(f'backend app{i} {{ .host = "127.0.0.1"; .port = "{port}"; }}\n' for i, port in enumerate(ports))
    init = "".join(f"    app.add_backend(app{i});\n" for i in range(len(ports)))
    section = f"{backends}\nsub vcl_init {{\n    new app = directors.round_robin();\n{init}}}\n{extra}"
    replaced, count = BACKENDS.subn(lambda _: section, text)
    if count != 1:
        raise RuntimeError(f"{VCL} lost its backends markers")
    return replaced


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int) -> list[int]:
    """``count`` free loopback ports: chosen by the kernel among its ephemeral ports (two runs at once,
    as ``make test`` starts them, then hardly ever get the same), or found in ``HEALTHLIB_VARNISH_PORTS``
    (``first-last``) where a machine gives each user a range."""
    if not os.environ.get("HEALTHLIB_VARNISH_PORTS"):
        with contextlib.ExitStack() as sockets:
            probes = [sockets.enter_context(socket.socket()) for _ in range(count)]
            for probe in probes:
                probe.bind(("127.0.0.1", 0))  # all held at once: distinct
            return [probe.getsockname()[1] for probe in probes]
    first, _, last = os.environ["HEALTHLIB_VARNISH_PORTS"].partition("-")
    candidates = list(range(int(first), int(last) + 1))
    start = (os.getpid() * 7919) % len(candidates)  # two runs at once start their search apart
    ports = [p for p in candidates[start:] + candidates[:start] if _port_is_free(p)][:count]
    if len(ports) < count:
        raise RuntimeError(f"fewer than {count} free ports in {first}-{last}")
    return ports


def _wait_for_port(port: int, process: subprocess.Popen, name: str, log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port} within {START_DEADLINE} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-3000:]
    except OSError:
        return "(no log)"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def cache(self) -> str:
        return self.headers.get("x-cache", "")


@dataclass
class Stack:
    varnish_port: int
    app_ports: list[int]
    helper: subprocess.Popen
    content: dict = field(default_factory=dict)
    extra_ports: list[int] = field(default_factory=list)
    varnish_pid: int = 0

    def get(self, path: str, headers: dict[str, str] | None = None, *, port: int | None = None) -> Response:
        """One GET through Varnish (or ``port``), without following redirects."""
        connection = http.client.HTTPConnection("127.0.0.1", port or self.varnish_port, timeout=60)
        try:
            connection.request("GET", path, headers={"Host": "localhost", **(headers or {})})
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()

    def request(self, method: str, headers: dict[str, str], *, source: str = "127.0.0.1") -> int:
        """A purge or ban request to Varnish from ``source`` (any 127.0.0.0/8 address is this machine)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.varnish_port, timeout=30, source_address=(source, 0))
        try:
            connection.request(method, "/", headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def do(self, command: str, **arguments) -> dict:
        """Run a command of tests/varnish_helper.py (a workflow change, committed and purged on return)."""
        assert self.helper.stdin is not None and self.helper.stdout is not None
        self.helper.stdin.write(json.dumps({"do": command, **arguments}) + "\n")
        self.helper.stdin.flush()
        line = self.helper.stdout.readline()
        if not line:
            raise RuntimeError(f"the editor's process exited with {self.helper.poll()}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{command}: {answer['error']}")
        return answer


@contextlib.contextmanager
def _database(env: dict[str, str], work: Path) -> Iterator[None]:
    """A database of our own: the app servers and the editor's process share it, the test run's is untouched."""
    if env.get("HEALTHLIB_TEST_DB") != "postgres":
        env.pop("HEALTHLIB_TEST_DB", None)
        env["HEALTHLIB_TEST_SQLITE_FILE"] = str(work / "db.sqlite3")
        yield
        return
    import psycopg

    name = f"healthlib_varnish_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dbname=env.get("PGDATABASE", "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env["PGDATABASE"] = name
    try:
        yield
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_stack(
    slugs: list[str],
    *,
    app_servers: int = 2,
    varnish_args: tuple[str, ...] = (),
    extra_ports: int = 0,
    extra_vcl: Callable[[list[int]], str] | None = None,
) -> Iterator[Stack]:
    """Start everything (see the module's docstring), make ``slugs`` live articles, yield the Stack.

    For bench/varnish.py: ``varnish_args`` are added to varnishd's command line; ``extra_ports`` more
    free ports are reserved (``Stack.extra_ports``) and ``extra_vcl(extra_ports)`` is added to the VCL.
    """
    lacking = missing()
    if lacking:
        raise RuntimeError(f"missing: {', '.join(lacking)}")
    processes: list[subprocess.Popen] = []
    work = Path(tempfile.mkdtemp(prefix="healthlib-varnish-"))
    try:
        varnish_port, redis_port, *ports = free_ports(2 + app_servers + extra_ports)
        app_ports, reserved = ports[:app_servers], ports[app_servers:]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings_varnish",
            "PYTHONPATH": str(ROOT),
            "HEALTHLIB_TEST_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "HEALTHLIB_TEST_VARNISH_URL": f"http://127.0.0.1:{varnish_port}",
        }

        def start(name: str, command: list[str], **kwargs) -> subprocess.Popen:
            with (work / f"{name}.log").open("w") as log:  # the child keeps its own descriptor
                process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stderr=log, **{"stdout": subprocess.DEVNULL, **kwargs}
                )
            processes.append(process)
            return process

        redis = start(
            "redis",
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(redis_port)]
            + ["--dir", str(work), "--save", "", "--appendonly", "no"],
        )
        (work / "healthlib.vcl").write_text(vcl_with_backends(app_ports, extra_vcl(reserved) if extra_vcl else ""))
        varnish = start(
            "varnish",
            [VARNISHD, "-F", "-j", "none", "-n", str(work / "varnish"), "-a", f"127.0.0.1:{varnish_port}"]
            + ["-T", "none", "-f", str(work / "healthlib.vcl"), "-s", "malloc,32m"]
            + ["-p", "vsl_space=1M", "-p", "thread_pools=1", "-p", "thread_pool_min=10", *varnish_args],
        )
        with _database(env, work):
            # The editor's process and the app servers start (import Django) side by side; the app
            # servers are asked nothing before the set-up has migrated and made the content.
            helper = start(
                "helper",
                [sys.executable, "-m", "tests.varnish_helper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            servers = [
                start(
                    f"app{i}",
                    [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
                    + ["django.core.wsgi:get_wsgi_application()"],
                )
                for i, port in enumerate(app_ports)
            ]
            _wait_for_port(redis_port, redis, "redis-server", work / "redis.log")
            _wait_for_port(varnish_port, varnish, "varnishd", work / "varnish.log")
            stack = Stack(varnish_port, app_ports, helper, extra_ports=reserved, varnish_pid=varnish.pid)
            stack.content = stack.do("setup", slugs=slugs)  # its purges go to Varnish: it must be up
            for i, (port, server) in enumerate(zip(app_ports, servers, strict=True)):
                _wait_for_port(port, server, f"app server {i}", work / f"app{i}.log")
                # A fresh worker's first request is slow (Django's lazy start-up): not the callers' to pay.
                stack.get("/health/", port=port)
            yield stack
            _stop(processes)  # before the database is dropped
    finally:
        _stop(processes)
        shutil.rmtree(work, ignore_errors=True)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
    for process in processes:
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
