"""Measures the assistant against a stock `rasa init` assistant, in the same run, same way.

For each assistant: training time, model load time (process start until the model answers),
REST latency p50/p95 at 1, 8 and 32 concurrent conversations, messages per second (also per
Rasa process, i.e. per core and per replica), and the Rasa servers' memory (resident set, whole
process trees). Ours is measured with one Rasa process, with one per core (`make run`), and as
the cluster (`make cluster`). Prints the results and writes
docs/benchmarks.md with the machine described. Run with `make benchmark`.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import aiohttp
import rasa
import requests
import yaml

from scripts.processes import free_port, stop_process_group
from settings import MODEL_FILE, PROJECT_DIR

BIN = PROJECT_DIR / ".venv" / "bin"
REPORT = PROJECT_DIR / "docs" / "benchmarks.md"
MESSAGES_PER_CONVERSATION = 20
CONCURRENCY_LEVELS = (1, 8, 32)
READY_TIMEOUT = 600


@dataclass
class Result:
    name: str
    cores: int = 1  # Rasa processes (one core each at most): per-core and per-replica figures
    training_seconds: float = 0.0
    load_seconds: float = 0.0
    memory_mb: float = 0.0
    runs: Dict[int, Dict[str, float]] = field(default_factory=dict)


def benchmark_messages() -> List[str]:
    """Patient questions (the held-out set's wording) plus small talk; the same for both bots."""
    messages = ["hi", "thanks", "what can you do?", "bye"]
    holdout = yaml.safe_load((PROJECT_DIR / "tests" / "nlu" / "faq_holdout.yml").read_text())
    for block in holdout["nlu"]:
        messages += [line[2:] for line in block["examples"].splitlines()]
    return messages


def timed(command: List[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total_kb, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            pass
    return total_kb / 1024


class Server:
    def __init__(self, command: List[str], cwd: Path, port: int, env: Dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_until_answering(self) -> float:
        """Seconds from start until the model replies over REST."""
        deadline = self.started + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = requests.post(
                    f"{self.url}/webhooks/rest/webhook", json={"sender": "warm-up", "message": "hi"}, timeout=5
                )
                if reply.ok and reply.json():
                    return time.monotonic() - self.started
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.url} did not answer within {READY_TIMEOUT}s")

    def stop(self) -> None:
        stop_process_group(self.process)


async def conversation(
    session: aiohttp.ClientSession, url: str, sender: str, messages: List[str], latencies: List[float]
) -> None:
    for message in messages:
        started = time.perf_counter()
        async with session.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
        ) as response:
            await response.read()
            response.raise_for_status()
        latencies.append(time.perf_counter() - started)


async def load(url: str, concurrency: int, messages: List[str], label: str) -> Dict[str, float]:
    latencies: List[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        started = time.perf_counter()
        await asyncio.gather(
            *[
                conversation(
                    session,
                    url,
                    f"bench-{label}-{concurrency}-{i}",
                    messages[i::concurrency][:MESSAGES_PER_CONVERSATION] or messages[:MESSAGES_PER_CONVERSATION],
                    latencies,
                )
                for i in range(concurrency)
            ]
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "per_second": len(latencies) / elapsed,
        "messages": len(latencies),
    }


def measure(result: Result, server: Server, messages: List[str]) -> None:
    try:
        result.load_seconds = server.wait_until_answering()
        for concurrency in CONCURRENCY_LEVELS:
            result.runs[concurrency] = asyncio.run(load(server.url, concurrency, messages, result.name))
        result.memory_mb = tree_rss_mb(server.process.pid)
    finally:
        server.stop()


def our_servers(workdir: Path, **env: str) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    """The assistant's servers, started as `make run` starts them, with everything they write in
    ``workdir``, and running the model `make` trained (no published version of this machine)."""
    rasa_port, action_port = free_port(), free_port()
    return Server(
        [str(PROJECT_DIR / "scripts" / "run-servers.sh")],
        PROJECT_DIR,
        rasa_port,
        {
            "RASA_PORT": str(rasa_port),
            "ACTION_PORT": str(action_port),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
            "TRACKER_SQLITE_FILE": str(workdir / "bench.db"),
            "LOCK_SQLITE_FILE": str(workdir / "locks.db"),
            "DATABASE_URL": "",
            # The benchmark's escalations must not reach the clinic's records or its staff.
            "CLINIC_SQLITE_FILE": str(workdir / "clinic.db"),
            "STAFF_WEBHOOK_URL": "",
            "STAFF_CONSOLE": "off",  # the assistant's own servers are measured, as before
            "ASSISTANT_MODEL": str(MODEL_FILE),
            "VERSIONS_DIR": str(workdir / "versions"),
            "PUBLISH_TOKEN_FILE": str(workdir / "publish.token"),
            # A load test sends from one address, many messages a minute per conversation.
            "MESSAGES_PER_MINUTE_PER_CONVERSATION": "1000000",
            "MESSAGES_PER_MINUTE_PER_ADDRESS": "1000000",
            **env,
        },
    )


def ours(workdir: Path, messages: List[str]) -> List[Result]:
    """The assistant trained once, then served three ways: one Rasa process; `make run` on all
    cores (RASA_PROCESSES); the cluster (`make cluster`: two replicas behind haproxy, Redis,
    PostgreSQL)."""
    out = workdir / "models"
    training_seconds = timed(
        [str(BIN / "rasa"), "train", "--force", "--out", str(out), "--fixed-model-name", "bench"], PROJECT_DIR
    )
    shutil.copy(out / "bench.tar.gz", MODEL_FILE)
    cores = os.cpu_count() or 1
    results = [Result("back-pain, 1 process"), Result(f"back-pain, make run ({cores} processes)", cores=cores)]
    for result in results:
        result.training_seconds = training_seconds
        measure(result, our_servers(workdir / str(result.cores), RASA_PROCESSES=str(result.cores)), messages)
    results.append(measure_cluster(workdir / "cluster", messages))
    results[-1].training_seconds = training_seconds
    return results


def measure_cluster(workdir: Path, messages: List[str]) -> Result:
    from scripts.cluster import Cluster

    cluster = Cluster(workdir, port=free_port(), staff_port=free_port(), env={"VERSIONS_DIR": str(workdir / "v")})
    result = Result(f"back-pain, cluster ({len(cluster.replicas)} replicas)", cores=len(cluster.replicas))
    started = time.monotonic()
    try:
        cluster.start()
        result.load_seconds = time.monotonic() - started
        for concurrency in CONCURRENCY_LEVELS:
            result.runs[concurrency] = asyncio.run(load(cluster.url, concurrency, messages, result.name))
        result.memory_mb = sum(tree_rss_mb(replica.process.pid) for replica in cluster.replicas if replica.process)
    finally:
        cluster.stop()
    return result


def stock(workdir: Path, messages: List[str]) -> Result:
    result = Result("stock `rasa init`")
    project = workdir / "stock"
    project.mkdir()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result.training_seconds = timed([str(BIN / "rasa"), "train", "--force"], project)
    port = free_port()
    server = Server([str(BIN / "rasa"), "run", "--enable-api", "--port", str(port)], project, port, {})
    measure(result, server, messages)
    return result


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"Rasa {rasa.__version__}"
    )


def report(results: List[Result], messages: int) -> str:
    *ours_results, stock_result = results
    rows: List[Tuple[str, Callable[[Result], float]]] = [
        ("training time (s)", lambda r: r.training_seconds),
        ("model load until first reply (s)", lambda r: r.load_seconds),
        ("Rasa processes (at most one core each)", lambda r: r.cores),
        ("Rasa servers' memory after the load test (MB)", lambda r: r.memory_mb),
    ]

    def at(concurrency: int, figure: str) -> Callable[[Result], float]:
        return lambda result: result.runs[concurrency][figure]

    def per_core(concurrency: int) -> Callable[[Result], float]:
        return lambda result: result.runs[concurrency]["per_second"] / result.cores

    for c in CONCURRENCY_LEVELS:
        rows += [
            (f"latency p50 at {c} conversation(s) (ms)", at(c, "p50_ms")),
            (f"latency p95 at {c} conversation(s) (ms)", at(c, "p95_ms")),
            (f"messages per second at {c} conversation(s)", at(c, "per_second")),
            (f"... per Rasa process (per core, per replica) at {c}", per_core(c)),
        ]
    names = [result.name for result in results]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make benchmark` on {time.strftime('%Y-%m-%d')}.",
        "",
        f"Machine: {machine()}.",
        "",
        "The assistants run on this machine, one after the other, in the same run and the same way:",
        "trained with `rasa train`, served with `rasa run` over the REST channel, and sent the same",
        f"{messages} messages (the held-out patient questions and some small talk) by",
        f"{', '.join(map(str, CONCURRENCY_LEVELS))} concurrent conversations of up to {MESSAGES_PER_CONVERSATION}",
        "messages each. The back-pain assistant runs as `make run` starts it (action server, SQLite",
        "tracker store, clinic response generator), with one Rasa process and with RASA_PROCESSES",
        "processes (one per core), and as `make cluster` starts it (Rasa replicas behind haproxy,",
        "Redis locks, PostgreSQL); the stock assistant keeps its defaults (in-memory tracker store, no",
        "action server, one process). Memory is the resident set of the Rasa servers' process trees",
        "(the back-pain figures include the action servers).",
        "",
        "| measure | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(f"{get(result):.1f}" for result in results) + " |")
    lines += ["", "Goal: at 8 and 32 conversations, at least 2x the stock bot's messages per second and a p95 at"]
    lines += ["most half of its p95:", ""]
    for result in ours_results:
        for c in CONCURRENCY_LEVELS[1:]:
            ours_run, stock_run = result.runs[c], stock_result.runs[c]
            faster = ours_run["per_second"] / stock_run["per_second"]
            met = faster >= 2 and ours_run["p95_ms"] <= stock_run["p95_ms"] / 2
            lines.append(
                f"- {result.name}, {c} conversations: {faster:.2f}x the "
                f"messages per second, p95 {ours_run['p95_ms'] / stock_run['p95_ms']:.2f}x: "
                f"{'met' if met else 'NOT met'}."
            )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    messages = benchmark_messages()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = [*ours(workdir, messages), stock(workdir, messages)]
    text = report(results, len(messages))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
