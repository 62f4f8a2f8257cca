"""A real PostgreSQL server for the storage tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from scripts.processes import free_port


class PostgresServer:
    """A throw-away PostgreSQL cluster on loopback, from the Debian packages (.ci/run installs
    them). Each test gets its own database."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            message = "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.bin = Path(binaries[-1]).parent
        self.datadir = Path(tempfile.mkdtemp(prefix="clinic-postgres-"))
        # The server refuses to run as root; the Debian package creates a `postgres` user.
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(self.datadir, "postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.datadir), "-U", "clinic", "--auth=trust", "-E", "UTF8")
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
        self.url = f"postgresql://clinic@127.0.0.1:{self.port}"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            self._as_owner + [str(self.bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def new_database(self) -> str:
        import sqlalchemy as sa

        name = f"test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{self.url}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "stop")
        shutil.rmtree(self.datadir, ignore_errors=True)
