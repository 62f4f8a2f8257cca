"""Measures publishing under load: what patients notice while a new version goes live, and
whether the server's memory grows from one publish to the next (Rasa's own model reload is
known to leak, rasa#11284).

Starts the assistant as `make run` does, keeps CONVERSATIONS conversations sending messages
without pause, and publishes PUBLISHES versions one after another (`python -m staff publish`,
each a copy of the trained model, so only the switch is measured). Prints, and writes into
docs/benchmarks.md between its markers: failed requests, the slowest reply, p95 during the
publishes, and the Rasa server's resident memory after each publish. Run with
`make benchmark-publish` (also part of `make benchmark`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Tuple

import aiohttp

from scripts.benchmark import BIN, benchmark_messages, machine, our_servers, tree_rss_mb, write_section
from settings import MODEL_FILE, PROJECT_DIR

CONVERSATIONS = 4
PUBLISHES = 5


def passed_version(versions: Path, number: int) -> str:
    """A version whose gate passed: a copy of the trained model (the switch is what is measured)."""
    version_id = f"bench-{number}"
    folder = versions / version_id
    folder.mkdir(parents=True)
    shutil.copyfile(MODEL_FILE, folder / f"{version_id}.tar.gz")
    record = {
        "id": version_id,
        "content_hash": "benchmark",
        "created_at": f"2026-01-01T00:00:0{number}+00:00",
        "created_by": "benchmark",
        "gate": {"passed": True, "reasons": []},
        "published": [],
    }
    (folder / "version.json").write_text(json.dumps(record))
    return version_id


async def patients(url: str, messages: List[str], stop: threading.Event) -> Tuple[List[float], int]:
    latencies: List[float] = []
    failures = 0

    async def conversation(session: aiohttp.ClientSession, sender: str) -> None:
        nonlocal failures
        turn = 0
        while not stop.is_set():
            message = messages[turn % len(messages)]
            turn += 1
            started = time.perf_counter()
            try:
                async with session.post(
                    f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
                ) as response:
                    body = await response.json()
                    if response.status != 200 or not body:
                        failures += 1
            except (aiohttp.ClientError, asyncio.TimeoutError):
                failures += 1
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*[conversation(session, f"publish-bench-{i}") for i in range(CONVERSATIONS)])
    return latencies, failures


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        versions = workdir / "versions"
        server = our_servers(workdir)
        env = {**server.env, "RASA_SERVER_URLS": server.url}
        try:
            server.wait_until_answering()
            ids = [passed_version(versions, n) for n in range(1, PUBLISHES + 1)]
            memory = [tree_rss_mb(server.process.pid)]
            stop = threading.Event()
            outcome: List[Tuple[List[float], int]] = []
            load = threading.Thread(
                target=lambda: outcome.append(asyncio.run(patients(server.url, benchmark_messages(), stop)))
            )
            load.start()
            publish_seconds = []
            for version_id in ids:
                started = time.monotonic()
                subprocess.run(
                    [str(BIN / "python"), "-m", "staff", "publish", version_id, "--by", "benchmark"],
                    cwd=PROJECT_DIR,
                    env={**os.environ, **env},
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                publish_seconds.append(time.monotonic() - started)
                memory.append(tree_rss_mb(server.process.pid))
            stop.set()
            load.join()
        finally:
            server.stop()
    latencies, failures = outcome[0]
    latencies.sort()
    lines = [
        "## Publishing under load",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} with `make benchmark-publish`:",
        f"{CONVERSATIONS} conversations sending messages without pause over REST while "
        f"{PUBLISHES} versions were published one after another (`python -m staff publish`).",
        "",
        "| what | figure |",
        "|---|---|",
        f"| requests during the publishes | {len(latencies)} |",
        f"| failed requests | {failures} |",
        f"| slowest reply | {latencies[-1] * 1000:.0f} ms |",
        f"| p95 / p50 reply | {latencies[int(0.95 * (len(latencies) - 1))] * 1000:.0f} / "
        f"{statistics.median(latencies) * 1000:.0f} ms |",
        f"| one publish takes | {statistics.median(publish_seconds):.1f} s (median) |",
        "| Rasa server memory (MB): before, after each publish | " + ", ".join(f"{mb:.0f}" for mb in memory) + " |",
    ]
    write_section("publishing", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
