"""`make cluster`: the assistant as a cluster of existing servers, all on this machine's loopback,
for development and tests. Ctrl-C stops everything.

- PostgreSQL (Debian's packages; data in var/cluster/postgres, new at each start): the
  conversations and the clinic's records, one database for all replicas;
- Redis: the conversation locks every replica shares (rasa_plugins/lock_store.py);
- CLUSTER_REPLICAS (2) Rasa servers, each started by scripts/run-servers.sh with its own action
  server beside it (so M = N: an action server is light, and a replica keeps its own);
- haproxy in front, on RASA_PORT (5005), from deploy/haproxy.cfg: round-robin, sticky for the
  chat widget's socket.io sessions, health checks;
- the staff console (STAFF_PORT, 5002), which publishes to every replica.

Every replica serves the live version: it starts with it, `python -m staff publish|rollback`
loads it into each replica listed in RASA_SERVER_URLS (the script prints the command), and each
replica also follows VERSIONS_DIR/published.jsonl, which they share.
"""

from __future__ import annotations

import os
import signal
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import requests

from scripts.processes import PostgresServer, free_port, server_pid, stop_process_group
from settings import MODEL_FILE, PROJECT_DIR

HAPROXY_TEMPLATE = PROJECT_DIR / "deploy" / "haproxy.cfg"
START_TIMEOUT_SECONDS = 900  # two replicas loading their models at once on a busy 2-core machine


def _started(command: List[str], log: Path, env: Optional[Dict[str, str]] = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with what it started
        )


@dataclass
class Replica:
    """One Rasa server and the action server beside it (scripts/run-servers.sh)."""

    name: str
    rasa_port: int
    action_port: int
    process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def rasa_pid(self) -> int:
        return server_pid("rasa_plugins.server", f"RASA_PORT={self.rasa_port}")

    def action_pid(self) -> int:
        return server_pid("actions.server", f"ACTION_PORT={self.action_port}")

    def ready(self) -> bool:
        try:
            # /health: 200 once the model is loaded (rasa_plugins/server.py), with the API off.
            health = requests.get(f"{self.url}/health", timeout=2)
            actions = requests.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)
            return health.ok and actions.ok
        except requests.RequestException:
            return False


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/1"
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> None:
        # Locks only (a lost lock expires): nothing to save to disk.
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = _started(command, self.workdir / "redis.log")
        deadline = time.monotonic() + 30
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process:
            stop_process_group(self.process)


class Cluster:
    def __init__(
        self,
        workdir: Path,
        port: int,
        staff_port: int,
        replicas: int = 2,
        env: Optional[Dict[str, str]] = None,
        postgres_dir: Optional[Path] = None,
    ) -> None:
        """``env``: settings for every process, over this process's environment (tests: their
        own versions folder and publish token). ``postgres_dir``: PostgreSQL's data (a new
        temporary folder unless given; the `postgres` user must be able to reach it)."""
        self.postgres_dir = postgres_dir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = env or {}
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.staff_port = staff_port
        self.replicas = [Replica(f"rasa{i + 1}", free_port(), free_port()) for i in range(replicas)]
        self.redis = Redis(workdir)
        self.postgres: Optional[PostgresServer] = None
        self.database_url = ""
        self._others: List[subprocess.Popen[bytes]] = []

    @property
    def replica_urls(self) -> str:
        return " ".join(replica.url for replica in self.replicas)

    def start(self) -> None:
        from clinic.records import engine, migrate

        self.postgres = PostgresServer(self.postgres_dir)
        self.database_url = self.postgres.new_database("clinic")
        migrate(engine(self.database_url))  # once, before several action servers open it
        self.redis.start()
        for replica in self.replicas:
            self.start_replica(replica)
        self._wait_for(lambda: all(replica.ready() for replica in self.replicas), "the Rasa replicas")
        staff_env = dict(self.environment(), STAFF_PORT=str(self.staff_port), RASA_SERVER_URLS=self.replica_urls)
        self._others.append(_started([sys.executable, "-m", "staff", "console"], self.workdir / "staff.log", staff_env))
        haproxy = ["haproxy", "-db", "-f", str(self._haproxy_config())]
        self._others.append(_started(haproxy, self.workdir / "haproxy.log"))
        self._wait_for(self._balancer_ready, "haproxy")

    def environment(self) -> Dict[str, str]:
        """What every process of the cluster shares."""
        return (
            dict(
                os.environ,
                DATABASE_URL=self.database_url,
                REDIS_URL=self.redis.url,
                TRACKER_SQLITE_FILE=str(self.workdir / "unused.db"),  # endpoints.yml names it; DATABASE_URL wins
                ASSISTANT_MODEL=os.environ.get("ASSISTANT_MODEL") or str(MODEL_FILE),
                # The widget's pages come through the balancer.
                WIDGET_ORIGINS=os.environ.get("WIDGET_ORIGINS") or f"http://localhost:{self.port} {self.url}",
                PYTHONPATH=str(PROJECT_DIR),
                RASA_TELEMETRY_ENABLED="false",
            )
            | self.env
        )

    def start_replica(self, replica: Replica) -> None:
        env = dict(
            self.environment(),
            RASA_PORT=str(replica.rasa_port),
            ACTION_PORT=str(replica.action_port),
            ACTION_SERVER_URL=f"http://127.0.0.1:{replica.action_port}/webhook",
            RASA_PROCESSES="1",
            STAFF_CONSOLE="off",
            SANIC_PROXIES_COUNT="1",  # haproxy's X-Forwarded-For names the client (deploy/haproxy.cfg)
        )
        replica.process = _started(
            [str(PROJECT_DIR / "scripts" / "run-servers.sh")], self.workdir / f"{replica.name}.log", env
        )

    def _haproxy_config(self) -> Path:
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.rasa_port} cookie {r.name}" for r in self.replicas)
        template = string.Template(HAPROXY_TEMPLATE.read_text())
        config = template.substitute(bind=f"127.0.0.1:{self.port}", servers=servers)
        path = self.workdir / "haproxy.cfg"
        path.write_text(config)
        return path

    def _balancer_ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=2).ok
        except requests.RequestException:
            return False

    def _wait_for(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready():
            for replica in self.replicas:
                if replica.process and replica.process.poll() is not None:
                    raise RuntimeError(f"{replica.name} exited; see {self.workdir / replica.name}.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start; see the logs in {self.workdir}")
            time.sleep(1)

    def stop(self) -> None:
        for process in [*self._others, *(replica.process for replica in self.replicas if replica.process)]:
            stop_process_group(process)
        self.redis.stop()
        if self.postgres:
            self.postgres.stop()


def main() -> None:
    workdir = PROJECT_DIR / "var" / "cluster"
    cluster = Cluster(
        workdir,
        postgres_dir=workdir / "postgres",
        port=int(os.environ.get("RASA_PORT", "5005")),
        staff_port=int(os.environ.get("STAFF_PORT", "5002")),
        replicas=int(os.environ.get("CLUSTER_REPLICAS", "2")),
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    try:
        print("Starting the cluster (PostgreSQL, Redis, the Rasa replicas, haproxy, the staff console)...", flush=True)
        cluster.start()
        assert cluster.postgres is not None
        print(
            f"""The assistant, through haproxy: {cluster.url}
  REST:      POST {cluster.url}/webhooks/rest/webhook  {{"sender": "me", "message": "hi"}}
  widget:    http://localhost:{cluster.port}/widget/demo
Replicas (Rasa server + action server):
{chr(10).join(f"  {r.name}: {r.url}  actions http://127.0.0.1:{r.action_port}" for r in cluster.replicas)}
PostgreSQL:  {cluster.database_url}
Redis:       {cluster.redis.url}
Staff console: http://localhost:{cluster.staff_port}
Publish to every replica:
  DATABASE_URL={cluster.database_url} RASA_SERVER_URLS="{cluster.replica_urls}" .venv/bin/python -m staff publish ID
Logs: {cluster.workdir}/*.log. Press Ctrl-C to stop everything.""",
            flush=True,
        )
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping the cluster...", flush=True)
        cluster.stop()


if __name__ == "__main__":
    main()
