"""Where the time of one message goes, stage by stage: `make profile`.

Loads the trained model with Rasa's Agent in this process, with the tracker store, response
generator and action endpoint endpoints.yml names (an SQLite tracker store in a scratch folder,
and an action server started here), and sends it the benchmark's own conversations
(scripts/traffic.py) one message at a time. Every node of Rasa's prediction graph is timed
with a graph node hook (Rasa's own extension point, rasa/engine/graph.py GraphNodeHook); the
red-flag detector and classifier inside their node, the tracker store's reads and writes, the
response generator and the action calls are timed by wrapping their methods. Prints mean, p50
and p95 per stage in milliseconds, per message, as a Markdown table (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union
from unittest import mock

import requests

from scripts.benchmark import load_average, machine, write_section
from scripts.processes import free_port, stop_process_group
from scripts.traffic import our_conversations
from settings import MODEL_FILE, PROJECT_DIR

BIN = PROJECT_DIR / ".venv" / "bin"
CONVERSATIONS = 30
WARM_UP_CONVERSATIONS = 2
TOTAL = "whole message (Agent.handle_message)"
# Less moved by other work on the machine than the wall-clock figures: what TensorFlow's threads cost.
CPU = "CPU time of the Rasa process, all its threads (not the action server)"
OTHER = "everything else (Rasa's processor, events, slots)"
# Timed inside the red-flag component's graph node, so not added again to the whole.
DETECTOR = "red flags: detector (within its node)"
CLASSIFIER = "red flags: classifier (within its node)"


Stage = Union[str, Callable[..., str]]


class Stopwatch:
    """Seconds spent per stage, per message: stages met several times in one message add up."""

    def __init__(self) -> None:
        self.current: Dict[str, float] = defaultdict(float)
        self.messages: List[Dict[str, float]] = []

    def add(self, stage: str, seconds: float) -> None:
        self.current[stage] += seconds

    def end_message(self) -> None:
        self.messages.append(dict(self.current))
        self.current.clear()

    def wrap(self, owner: Any, method: str, stage: Stage) -> None:
        """Times every call of ``owner.method`` (a function or coroutine function) as ``stage``,
        or as what ``stage`` says for the call's arguments."""
        original = getattr(owner, method)
        name = stage if callable(stage) else lambda *args, **kwargs: stage
        if inspect.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.add(name(*args, **kwargs), time.perf_counter() - started)

            setattr(owner, method, timed_coroutine)
            return

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name(*args, **kwargs), time.perf_counter() - started)

        setattr(owner, method, timed)

    def table(self, order: List[str]) -> List[Tuple[str, float, float, float]]:
        """(stage, mean, p50, p95) in milliseconds per message, 0 where a message skipped it."""
        rows = []
        for stage in order:
            values = sorted(message.get(stage, 0.0) * 1000 for message in self.messages)
            rows.append((stage, statistics.mean(values), statistics.median(values), _p95(values)))
        return rows


def _p95(values: List[float]) -> float:
    return values[int(0.95 * (len(values) - 1))]


def node_timer(stopwatch: Stopwatch) -> Any:
    """A graph node hook timing each node of the prediction graph under its component's name."""
    from rasa.engine.graph import ExecutionContext, GraphNodeHook

    class NodeTimer(GraphNodeHook):
        def on_before_node(
            self, node_name: str, execution_context: ExecutionContext, config: Dict, received_inputs: Dict
        ) -> Dict:
            return {"started": time.perf_counter()}

        def on_after_node(
            self, node_name: str, execution_context: ExecutionContext, config: Dict, output: Any, input_hook_data: Dict
        ) -> None:
            stopwatch.add(f"graph: {node_name}", time.perf_counter() - input_hook_data["started"])

    return NodeTimer()


def timed_graph_runner(stopwatch: Stopwatch) -> type:
    """Rasa's graph runner with the node timer among its hooks."""
    from rasa.engine.runner.dask import DaskGraphRunner

    class TimedGraphRunner(DaskGraphRunner):
        @classmethod
        def create(cls, graph_schema: Any, model_storage: Any, execution_context: Any, hooks: Any = None) -> Any:
            return cls(graph_schema, model_storage, execution_context, [*(hooks or []), node_timer(stopwatch)])

    return TimedGraphRunner


def start_action_server(workdir: Path) -> Tuple[subprocess.Popen[bytes], str]:
    """The action server as scripts/run-servers.sh starts it, answering only calls with the
    secret (ACTION_SERVER_SECRET, set in this process too, so endpoints.yml sends it)."""
    port = free_port()
    # `make` exports it empty (the Makefile: "a random secret per start"), which setdefault keeps.
    os.environ["ACTION_SERVER_SECRET"] = os.environ.get("ACTION_SERVER_SECRET") or secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "ACTION_PORT": str(port),
        "CLINIC_SQLITE_FILE": str(workdir / "clinic.db"),
        "DATABASE_URL": "",
        "STAFF_WEBHOOK_URL": "",
    }
    process = subprocess.Popen(
        [str(BIN / "python"), "-m", "actions.server"],
        cwd=PROJECT_DIR,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                return process, f"http://127.0.0.1:{port}/webhook"
        except requests.RequestException:
            time.sleep(0.5)
    stop_process_group(process)
    raise RuntimeError("the action server did not start")


async def profile(model: Path, endpoints: Path, stopwatch: Stopwatch, conversations: int) -> List[str]:
    """Sends the conversations through an Agent; returns the stages in the order first met."""
    import rasa.core.processor
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    from rasa_plugins.response_generator import ClinicResponseGenerator
    from red_flags.classifier import RedFlagModel
    from red_flags.detector import RedFlagDetector

    with mock.patch.object(rasa.core.processor, "DaskGraphRunner", timed_graph_runner(stopwatch)):
        agent = await load_agent(model_path=str(model), endpoints=AvailableEndpoints.read_endpoints(str(endpoints)))
    store = type(getattr(agent.tracker_store, "_tracker_store", agent.tracker_store))
    timed_methods: List[Tuple[Any, str, Stage]] = [
        (RedFlagDetector, "read", DETECTOR),
        (RedFlagModel, "most_alarming", CLASSIFIER),
        (store, "retrieve", "tracker store: read"),
        (store, "save", "tracker store: write"),
        (ClinicResponseGenerator, "generate", "response generator (all replies)"),
        (RemoteAction, "run", lambda action, *args, **kwargs: f"action server: {action.name()} (HTTP)"),
    ]
    for owner, method, stage in timed_methods:
        stopwatch.wrap(owner, method, stage)

    order: List[str] = []
    for index, conversation in enumerate(our_conversations(conversations + WARM_UP_CONVERSATIONS)):
        sender = f"profile-{uuid.uuid4().hex[:8]}"
        for text in conversation:
            started, cpu_started = time.perf_counter(), time.process_time()
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
            stopwatch.add(TOTAL, time.perf_counter() - started)
            stopwatch.add(CPU, time.process_time() - cpu_started)
            order += [stage for stage in stopwatch.current if stage not in order]
            if index < WARM_UP_CONVERSATIONS:
                stopwatch.current.clear()
            else:
                stopwatch.end_message()
    return order


def markdown(rows: List[Tuple[str, float, float, float]], messages: int, conversations: int) -> List[str]:
    lines = [
        f"Measured by `make profile` on {time.strftime('%Y-%m-%d')}, {machine()}; load average "
        f"{load_average()} at the end.",
        "",
        f"Per message, over {messages} messages of {conversations} conversations of the benchmark's own traffic,",
        "one at a time, after two conversations to warm up (ms; a stage a message did not reach counts 0;",
        "the detector and classifier are part of their graph node's time):",
        "",
        "| stage | mean | p50 | p95 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {stage} | {mean:.1f} | {p50:.1f} | {p95:.1f} |" for stage, mean, p50, p95 in rows]
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    parser.add_argument(
        "--endpoints", type=Path, default=PROJECT_DIR / "endpoints.yml", help="to compare another set-up"
    )
    args = parser.parse_args(argv)
    stopwatch = Stopwatch()
    # Logging as `rasa run` sets it (LOG_LEVEL, INFO unless set): debug logging costs time.
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings()
    configure_structlog()
    # TensorFlow's threads as `rasa run` sets them (TF_INTER/INTRA_OP_PARALLELISM_THREADS).
    from rasa.utils.tensorflow.environment import setup_tf_environment

    setup_tf_environment()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        action_server, action_url = start_action_server(workdir)
        os.environ.update(
            ACTION_SERVER_URL=action_url, DATABASE_URL="", TRACKER_SQLITE_FILE=str(workdir / "conversations.db")
        )
        try:
            order = asyncio.run(profile(args.model, args.endpoints, stopwatch, args.conversations))
        finally:
            stop_process_group(action_server)
    # Graph nodes and plugin stages first, then the whole message and what the stages leave out.
    timed_stages = [stage for stage in order if stage not in (TOTAL, CPU)]
    outer = [stage for stage in timed_stages if stage not in (DETECTOR, CLASSIFIER)]
    for message in stopwatch.messages:
        message[OTHER] = message[TOTAL] - sum(message.get(stage, 0.0) for stage in outer)
    lines = markdown(stopwatch.table([*timed_stages, OTHER, TOTAL, CPU]), len(stopwatch.messages), args.conversations)
    write_section("profile", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
