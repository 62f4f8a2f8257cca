"""Measures publishing under load: what patients notice while a new version goes live, and
whether the Rasa server's memory grows from one publish to the next (Rasa's own model reload is
known to leak, rasa#11284).

Starts the assistant as `make run` does (RASA_PROCESSES processes, one per core by default),
keeps CONVERSATIONS conversations going over REST, each sending its next message THINK_SECONDS
after its last reply (people read and type; a closed loop with no pause would measure a
saturated machine, not the switch), first for BASELINE_SECONDS with nothing published, then
while PUBLISHES versions are published one after another (`python -m staff publish`, each a
copy of the trained model, so only the switch is measured). Prints, and writes into
docs/benchmarks.md between its markers: failed requests and why, the slowest reply, p50 and
p95 before and during the publishes, how long a publish takes, and the memory of the Rasa
server's processes after each publish. Run with `make benchmark-publish` (also part of
`make benchmark`).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import aiohttp

from scripts.benchmark import BIN, benchmark_messages, machine, our_servers, tree_rss_mb, write_section
from settings import MODEL_FILE, PROJECT_DIR

CONVERSATIONS = 4
THINK_SECONDS = 1.0
BASELINE_SECONDS = 60
PUBLISHES = 5


@dataclass
class Reply:
    at: float  # time.monotonic() when sent
    seconds: float
    failure: str  # empty when the reply came


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


async def patients(url: str, messages: List[str], stop: threading.Event, replies: List[Reply]) -> None:
    async def conversation(session: aiohttp.ClientSession, sender: str, turn: int) -> None:
        while not stop.is_set():
            message = messages[turn % len(messages)]
            turn += 1
            sent, started, failure = time.monotonic(), time.perf_counter(), ""
            try:
                async with session.post(
                    f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
                ) as response:
                    body = await response.json()
                    if response.status != 200 or not body:
                        failure = f"HTTP {response.status}" if response.status != 200 else "no reply"
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                failure = error.__class__.__name__
            replies.append(Reply(sent, time.perf_counter() - started, failure))
            await asyncio.sleep(THINK_SECONDS)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        # Each conversation starts at another point of the messages, as different people would.
        await asyncio.gather(
            *[
                conversation(session, f"publish-bench-{i}", i * len(messages) // CONVERSATIONS)
                for i in range(CONVERSATIONS)
            ]
        )


def _ms(values: List[float], share: float) -> str:
    ordered = sorted(values)
    return f"{ordered[int(share * (len(ordered) - 1))] * 1000:.0f}" if ordered else "-"


def main() -> int:
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        versions = workdir / "versions"
        server = our_servers(workdir)
        env = {**server.env, "RASA_SERVER_URLS": server.url}
        replies: List[Reply] = []
        try:
            server.wait_until_answering()
            ids = [passed_version(versions, n) for n in range(1, PUBLISHES + 1)]
            stop = threading.Event()
            load = threading.Thread(
                target=lambda: asyncio.run(patients(server.url, benchmark_messages(), stop, replies))
            )
            load.start()
            time.sleep(BASELINE_SECONDS)
            memory = [tree_rss_mb(server.process.pid)]
            publishing_from = time.monotonic()
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
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    before = [r.seconds for r in replies if r.at < publishing_from]
    during = [r for r in replies if r.at >= publishing_from]
    failures = collections.Counter(r.failure for r in during if r.failure)
    why = f" ({', '.join(f'{n} {reason}' for reason, n in failures.items())})" if failures else ""
    lines = [
        "## Publishing under load",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} with `make benchmark-publish`; load average "
        f"{', '.join(load_before)} at the start, {', '.join(load_after)} at the end.",
        f"`make run`'s Rasa processes (one per core). {CONVERSATIONS} conversations over REST, each "
        f"sending its next message {THINK_SECONDS:g} s after its last reply: {BASELINE_SECONDS} s with "
        f"nothing published, then while {PUBLISHES} versions were published one after another "
        "(`python -m staff publish`, which returns once every process runs the new version).",
        "",
        "| what | before the publishes | during the publishes |",
        "|---|---|---|",
        f"| requests | {len(before)} | {len(during)} |",
        f"| failed requests | {sum(1 for r in replies if r.failure and r.at < publishing_from)} | "
        f"{sum(failures.values())}{why} |",
        f"| p50 / p95 reply (ms) | {_ms(before, 0.5)} / {_ms(before, 0.95)} | "
        f"{_ms([r.seconds for r in during], 0.5)} / {_ms([r.seconds for r in during], 0.95)} |",
        f"| slowest reply (ms) | {_ms(before, 1)} | {_ms([r.seconds for r in during], 1)} |",
        f"| replies slower than 2 s | {sum(1 for t in before if t > 2)} | {sum(1 for r in during if r.seconds > 2)} |",
        "",
        f"One publish took {statistics.median(publish_seconds):.0f} s (median; "
        f"{min(publish_seconds):.0f}-{max(publish_seconds):.0f} s). Memory of the Rasa server's processes (MB), "
        "before the first publish and after each: " + ", ".join(f"{mb:.0f}" for mb in memory) + ".",
    ]
    write_section("publishing", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
