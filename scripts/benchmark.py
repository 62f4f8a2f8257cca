"""Measures the assistant against a stock `rasa init` assistant, in the same run, same way.

For each configuration (``configurations()``: ours with one Rasa process, with one per core as
`make run` starts it, and as the cluster `make cluster` starts; the stock bot; a new one is one
more entry): training time, model load time (process start until the model
answers), the Rasa server's memory (resident set, whole process tree), and for each workload
(``WORKLOADS``: each bot's own traffic, and the same FAQ questions for both, scripts/traffic.py)
REST latency p50/p95 and messages per second (also per Rasa process: per core, per replica) at
1, 8 and 32 concurrent conversations, over
``ROUNDS`` rounds (each round starts every server afresh). Prints the results and writes
docs/benchmarks.md with the machine described. Run with `make benchmark`
(`python -m scripts.benchmark --reuse-model` serves the model `make` trained instead of
training ours again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from typing import Callable, Dict, List, Optional, Tuple

import aiohttp
import rasa
import requests

from scripts import traffic
from scripts.processes import free_port, stop_process_group
from scripts.traffic import Conversation
from settings import MODEL_FILE, PROJECT_DIR

BIN = PROJECT_DIR / ".venv" / "bin"
REPORT = PROJECT_DIR / "docs" / "benchmarks.md"
CONCURRENCY_LEVELS = (1, 8, 32)
CONVERSATIONS = 32  # per workload and concurrency level: one each for 32 concurrent senders
ROUNDS = 3
READY_TIMEOUT = 600


@dataclass(frozen=True)
class Workload:
    """What each configuration is sent: its own conversations, by the configuration's bot."""

    name: str
    conversations: Callable[[str], List[Conversation]]  # bot ("ours" or "stock") -> conversations


WORKLOADS = [
    Workload(
        "own traffic",
        lambda bot: (
            traffic.our_conversations(CONVERSATIONS) if bot == "ours" else traffic.stock_conversations(CONVERSATIONS)
        ),
    ),
    Workload("same FAQ questions", lambda bot: traffic.same_faq_conversations(CONVERSATIONS)),
]


@dataclass
class Result:
    name: str
    processes: int = 1  # Rasa processes (at most a core each): per-core and per-replica figures
    training_seconds: Optional[float] = None
    load_seconds: List[float] = field(default_factory=list)
    memory_mb: List[float] = field(default_factory=list)
    # (workload, concurrency) -> one figures dict per round
    runs: Dict[Tuple[str, int], List[Dict[str, float]]] = field(default_factory=dict)


def benchmark_messages() -> List[str]:
    """The same FAQ questions and small talk for both bots (scripts/benchmark_publish.py)."""
    return [message for conversation in traffic.same_faq_conversations(CONVERSATIONS) for message in conversation]


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


class ClusterServer(Server):
    """`make cluster` (scripts/cluster.py) as one server: its haproxy address; memory and
    stopping cover every replica."""

    def __init__(self, workdir: Path) -> None:
        from scripts.cluster import Cluster

        self.started = time.monotonic()
        self.cluster = Cluster(
            workdir, port=free_port(), staff_port=free_port(), env={"VERSIONS_DIR": str(workdir / "v"), **UNLIMITED}
        )
        self.cluster.start()
        self.url = self.cluster.url

    def memory_mb(self) -> float:
        return sum(tree_rss_mb(replica.process.pid) for replica in self.cluster.replicas if replica.process)

    def stop(self) -> None:
        self.cluster.stop()


# The whole benchmark comes from one address, as a clinic's patients never do: the message
# limits (web/limits.py) still count every message, but would otherwise answer most of them
# with "slow down" in a millisecond.
UNLIMITED = {"MESSAGES_PER_MINUTE_PER_ADDRESS": "1000000", "MESSAGES_PER_MINUTE_PER_CONVERSATION": "1000000"}


def refusals() -> List[str]:
    """The guard's friendly replies instead of an answer (rasa_plugins/channels/guard.py)."""
    from rasa_plugins.channels.guard import TEXTS_FILE

    texts = json.loads(TEXTS_FILE.read_text(encoding="utf-8"))
    return [texts[key].split("{")[0] for key in ("slow_down", "too_long")]


async def converse(
    session: aiohttp.ClientSession, url: str, conversations: List[Conversation], latencies: List[float]
) -> None:
    """One sender after another: each conversation under a new sender id. An error or the
    guard's refusal instead of an answer ends the benchmark: it would flatter it."""
    refused = refusals()
    for conversation in conversations:
        sender = f"bench-{os.urandom(4).hex()}"
        for message in conversation:
            started = time.perf_counter()
            async with session.post(
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
            ) as response:
                replies = await response.json(content_type=None)
                response.raise_for_status()
            latencies.append(time.perf_counter() - started)
            texts = [reply.get("text") or "" for reply in replies]
            if any(text.startswith(prefix) for text in texts for prefix in refused):
                raise RuntimeError(f"{url} refused {message!r}: {texts}")


async def load(url: str, concurrency: int, conversations: List[Conversation]) -> Dict[str, float]:
    latencies: List[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        started = time.perf_counter()
        await asyncio.gather(
            *[converse(session, url, conversations[i::concurrency], latencies) for i in range(concurrency)]
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "per_second": len(latencies) / elapsed,
        "messages": len(latencies),
    }


def measure(result: Result, server: Server, bot: str) -> None:
    """One round: every workload at every concurrency level, on a freshly started server."""
    try:
        result.load_seconds.append(server.wait_until_answering())
        for workload in WORKLOADS:
            conversations = workload.conversations(bot)
            for concurrency in CONCURRENCY_LEVELS:
                figures = asyncio.run(load(server.url, concurrency, conversations))
                result.runs.setdefault((workload.name, concurrency), []).append(figures)
        result.memory_mb.append(
            server.memory_mb() if isinstance(server, ClusterServer) else tree_rss_mb(server.process.pid)
        )
    finally:
        server.stop()


def our_servers(workdir: Path, **env: str) -> Server:
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
            "DATABASE_URL": "",
            # The benchmark's escalations must not reach the clinic's records or its staff.
            "CLINIC_SQLITE_FILE": str(workdir / "clinic.db"),
            "STAFF_WEBHOOK_URL": "",
            "STAFF_CONSOLE": "off",  # the assistant's own servers are measured, as before
            "ASSISTANT_MODEL": str(MODEL_FILE),
            "VERSIONS_DIR": str(workdir / "versions"),
            "PUBLISH_TOKEN_FILE": str(workdir / "publish.token"),
            "LOCK_SQLITE_FILE": str(workdir / "locks.db"),
            **UNLIMITED,
            **env,
        },
    )


@dataclass(frozen=True)
class Configuration:
    """A bot served one way: ``prepare`` trains it (returns seconds, or None when not trained
    in this run), ``start`` starts its servers for one round; ``bot`` says whose traffic it gets."""

    name: str
    bot: str
    prepare: Callable[[Path], Optional[float]]
    start: Callable[[Path], Server]
    processes: int = 1


def train_ours(workdir: Path, reuse_model: bool) -> Optional[float]:
    if reuse_model:
        return None
    out = workdir / "models"
    seconds = timed(
        [str(BIN / "rasa"), "train", "--force", "--out", str(out), "--fixed-model-name", "bench"], PROJECT_DIR
    )
    shutil.copy(out / "bench.tar.gz", MODEL_FILE)
    return seconds


def train_stock(workdir: Path) -> float:
    project = workdir / "stock"
    project.mkdir()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return timed([str(BIN / "rasa"), "train", "--force"], project)


def stock_server(workdir: Path) -> Server:
    port = free_port()
    # As `rasa run` is started anywhere: OpenBLAS's own thread count, not ours (Makefile).
    stock_env = {"OPENBLAS_NUM_THREADS": ""}
    return Server([str(BIN / "rasa"), "run", "--enable-api", "--port", str(port)], workdir / "stock", port, stock_env)


# TensorFlow's thread pools (Rasa reads these at start): TensorFlow's own choice (a pool per
# core), as `make run` and deploy/ leave them, against one thread per operation.
ONE_TF_THREAD = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
TF_DEFAULT_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "", "TF_INTER_OP_PARALLELISM_THREADS": ""}


def configurations(reuse_model: bool) -> List[Configuration]:
    """The stock bot last: the report's ratios are each configuration's over the stock bot's.
    Only the first trains ours; the others serve the model it trained."""
    cores = os.cpu_count() or 1
    return [
        Configuration(
            "ours, 1 process",
            "ours",
            lambda workdir: train_ours(workdir, reuse_model),
            lambda workdir: our_servers(workdir, RASA_PROCESSES="1", **TF_DEFAULT_THREADS),
        ),
        Configuration(
            "ours, 1 process, 1 TensorFlow thread",
            "ours",
            lambda workdir: None,
            lambda workdir: our_servers(workdir, RASA_PROCESSES="1", **ONE_TF_THREAD),
        ),
        Configuration(
            f"ours, make run ({cores} processes, 1 TensorFlow thread each)",
            "ours",
            lambda workdir: None,
            lambda workdir: our_servers(workdir, RASA_PROCESSES=str(cores), **ONE_TF_THREAD),
            processes=cores,
        ),
        Configuration("ours, make cluster (2 replicas)", "ours", lambda workdir: None, ClusterServer, processes=2),
        Configuration("stock `rasa init`", "stock", train_stock, stock_server),
    ]


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


def write_section(name: str, lines: List[str]) -> None:
    """Puts ``lines`` into docs/benchmarks.md between the section's markers, leaving the other
    sections (each written by its own command) as they are."""
    start, end = f"<!-- {name}: start -->", f"<!-- {name}: end -->"
    section = "\n".join([start, *lines, end])
    text = REPORT.read_text(encoding="utf-8") if REPORT.is_file() else "# Benchmarks\n"
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(text, encoding="utf-8")


def spread(values: List[float]) -> str:
    """The median of the rounds, and their range."""
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def rounds_of(key: Tuple[str, int], figure: str) -> Callable[[Result], List[float]]:
    return lambda result: [run[figure] for run in result.runs[key]]


def report(results: List[Result], load_averages: Tuple[str, str]) -> List[str]:
    """A table with a column per configuration, and each one's ratio to the stock bot (the last)."""
    stock = results[-1]

    def row(label: str, figures: Callable[[Result], List[float]]) -> str:
        cells = [spread(figures(result)) if figures(result) else "-" for result in results]
        ratios = []
        for result in results[:-1]:
            # The median of the rounds' ratios: both bots of one round ran on the machine as it was then.
            per_round = [a / b for a, b in zip(figures(result), figures(stock), strict=False) if b]
            ratios.append(f"{statistics.median(per_round):.2f}x" if per_round else "-")
        return f"| {label} | {' | '.join(cells)} | {' | '.join(ratios)} |"

    names = [result.name for result in results]
    lines = [
        f"Measured by `make benchmark` on {time.strftime('%Y-%m-%d')}, {ROUNDS} rounds.",
        "",
        f"Machine: {machine()}. Load average (1, 5, 15 min) at the start: {load_averages[0]}; "
        f"at the end: {load_averages[1]}.",
        "",
        "Every configuration runs on this machine in the same run and the same way: served with `rasa run`",
        "over the REST channel, started afresh in every round. The back-pain assistant runs as `make run`",
        "starts it (action server, SQLite tracker store, clinic response generator); the stock assistant",
        "keeps its defaults (in-memory tracker store, no action server). Each is sent",
        f"{CONVERSATIONS} conversations per workload by 1 and by 8 concurrent senders (scripts/traffic.py):",
        "**own traffic** (ours: a greeting, FAQ questions, a whole booking, thanks and a red flag; the",
        'stock bot: greetings, moods, "are you a bot?", goodbye) and the **same FAQ questions** for both.',
        "Figures: the median of the rounds (their range); ratios: the median of the rounds' ratios to the",
        "stock bot. Memory is the resident set of the Rasa server's process tree (ours includes the",
        "action server).",
        "",
        "| measure | " + " | ".join(names) + " | " + " | ".join(f"{name} / stock" for name in names[:-1]) + " |",
        "|---" * (2 * len(names)) + "|",
    ]
    if all(result.training_seconds is not None for result in (results[0], stock)):
        lines.append(row("training time (s)", lambda r: [] if r.training_seconds is None else [r.training_seconds]))
    lines += [
        row("model load until first reply (s)", lambda r: r.load_seconds),
        row("Rasa server memory after the load (MB)", lambda r: r.memory_mb),
    ]
    for workload in WORKLOADS:
        for concurrency in CONCURRENCY_LEVELS:
            key = (workload.name, concurrency)
            for figure, label in [
                ("p50_ms", "latency p50 (ms)"),
                ("p95_ms", "latency p95 (ms)"),
                ("per_second", "messages per second"),
            ]:
                lines.append(
                    row(
                        f"{workload.name}, {concurrency} conversation(s): {label}",
                        rounds_of(key, figure),
                    )
                )
            per_second = rounds_of(key, "per_second")
            lines.append(
                row(
                    f"{workload.name}, {concurrency} conversation(s): messages per second per Rasa process",
                    lambda r, per_second=per_second: [value / r.processes for value in per_second(r)],  # type: ignore[misc]
                )
            )
    ours_p50 = statistics.median(run["p50_ms"] for run in results[0].runs[("own traffic", 1)])
    stock_p50 = statistics.median(run["p50_ms"] for run in stock.runs[("own traffic", 1)])
    goal = "met" if ours_p50 <= stock_p50 else "NOT met"
    lines += ["", f"Goal (own traffic, 1 conversation: p50 no slower than the stock bot's): {goal}."]
    for result in results[1:-1]:
        for concurrency in CONCURRENCY_LEVELS[1:]:
            key = ("own traffic", concurrency)
            throughput = statistics.median(run["per_second"] for run in result.runs[key])
            stock_throughput = statistics.median(run["per_second"] for run in stock.runs[key])
            p95 = statistics.median(run["p95_ms"] for run in result.runs[key])
            stock_p95 = statistics.median(run["p95_ms"] for run in stock.runs[key])
            met = "met" if throughput >= 2 * stock_throughput and p95 <= stock_p95 / 2 else "NOT met"
            lines.append(
                f"Goal ({result.name}, own traffic, {concurrency} conversations: at least 2x the stock bot's "
                f"messages per second and at most half its p95): {met}."
            )
    return lines


def load_average() -> str:
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reuse-model", action="store_true", help="serve models/back-pain-assistant.tar.gz instead of training ours"
    )
    args = parser.parse_args(argv)
    started_load = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        setups = configurations(args.reuse_model)
        results = [Result(setup.name, setup.processes, setup.prepare(workdir)) for setup in setups]
        for _ in range(ROUNDS):
            for setup, result in zip(setups, results, strict=True):
                measure(result, setup.start(workdir), setup.bot)
    lines = report(results, (started_load, load_average()))
    write_section("load", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
