"""Starting and stopping local servers: shared by the tests and `make benchmark`."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Optional


def free_port() -> int:
    """A TCP port nothing listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(process: subprocess.Popen[bytes], grace_seconds: float = 30) -> None:
    """Ctrl-C for a server started with ``start_new_session=True`` and everything it started;
    killed when it has not stopped after ``grace_seconds``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class PostgresNotInstalled(RuntimeError):
    pass


class PostgresServer:
    """A throw-away PostgreSQL cluster on loopback, from Debian's postgresql packages (.ci/run
    installs them): the storage tests' and `make cluster`'s. Its data lives in ``datadir`` (a
    new temporary folder unless given), removed by stop()."""

    def __init__(self, datadir: Optional[Path] = None, port: Optional[int] = None) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            raise PostgresNotInstalled("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
        self.bin = Path(binaries[-1]).parent
        if datadir:
            shutil.rmtree(datadir, ignore_errors=True)
            datadir.mkdir(parents=True)
        self.datadir = datadir or Path(tempfile.mkdtemp(prefix="clinic-postgres-"))
        # The server refuses to run as root; the Debian package creates a `postgres` user.
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(self.datadir, "postgres")
        self.port = port or free_port()
        self._run("initdb", "-D", str(self.datadir), "-U", "clinic", "--auth=trust", "-E", "UTF8")
        self.start()
        self.url = f"postgresql://clinic@127.0.0.1:{self.port}"

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.datadir}",
            "start",
        )

    def halt(self) -> None:
        """Stops the server (fast: open connections are cut) and keeps its data for start()."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            self._as_owner + [str(self.bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def new_database(self, name: str = "") -> str:
        import sqlalchemy as sa

        name = name or f"test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{self.url}/{name}"

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.datadir, ignore_errors=True)


def server_pid(module: str, setting: str) -> int:
    """The process started as ``python -m module`` whose environment holds ``setting``
    (e.g. "ACTION_PORT=5055"): one server of scripts/run-servers.sh among several."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if module.encode() in command and setting.encode() in environment:
            return int(entry.name)
    raise RuntimeError(f"no {module} process with {setting}")
