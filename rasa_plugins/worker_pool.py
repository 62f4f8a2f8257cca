"""The Rasa server's processes: RASA_PROCESSES workers sharing one listening socket, each with its
own copy of the model, moved to a newly published version one at a time, with no pause.

Why not Sanic's own workers (what `rasa run` uses): they are started once and never replaced, so
a new model has to be loaded inside a serving process (Rasa's `PUT /model`, or a worker thread).
That is about 20 s of CPU under the GIL, during which the process's replies stall for seconds,
and it leaks memory (rasa#11284).

Here the first process only supervises. To switch, it forks a new worker beside the old ones;
the worker loads the model before it starts accepting connections, so the old workers answer
meanwhile. Once the new one accepts, one old worker is stopped gracefully: it finishes the
requests it holds, and connections it has not accepted stay on the shared socket for the
others. Then the next. A worker that dies is replaced.

The supervisor follows the live version (settings.live_model_file) every
LIVE_VERSION_CHECK_SECONDS, and at once on SIGUSR1 (a publish's POST /webhooks/model/load,
rasa_plugins/channels/model_loader.py). Servers sharing VERSIONS_DIR switch one at a time
(a lock file there), so replicas of a cluster keep their capacity. Which model each worker
runs is written to the file WORKER_STATUS_FILE names, for GET /webhooks/model/status.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import json
import logging
import multiprocessing
import os
import signal
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

from sanic import Sanic
from sanic.server import AsyncioServer, try_use_uvloop
from sanic.server.socket import bind_socket

from settings import settings

logger = logging.getLogger(__name__)

STATUS_FILE_VARIABLE = "WORKER_STATUS_FILE"
READY_TIMEOUT_SECONDS = 900  # a model load on a busy machine; a stuck worker is given up after this
STOP_TIMEOUT_SECONDS = 30  # a worker's drain (keep-alive 5 s + Sanic's graceful shutdown 15 s) and a margin
PR_SET_PDEATHSIG = 1  # linux/prctl.h

_fork = multiprocessing.get_context("fork")


@dataclass
class Worker:
    process: BaseProcess
    model: Path
    ready: Event


def read_status() -> dict:
    """What the supervisor last wrote: the live model, each worker's process and model, and a
    model no worker could load."""
    path = os.environ.get(STATUS_FILE_VARIABLE)
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _serve(app: Sanic, sock: Any, model: Path, ready: Event, supervisor: int) -> None:
    """A worker: loads ``model`` (the app's before_server_start listener reads app.ctx.model),
    then accepts connections until SIGTERM, and drains them."""
    # The supervisor's handlers came with the fork: until the model is loaded, SIGTERM ends a
    # worker at once, and Ctrl-C is the supervisor's to handle.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    # A server killed outright (kill -9, out of memory) takes its workers with it, as one
    # process would go: no orphan keeps answering with a model nobody follows any more.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != supervisor:  # it died before the line above
        return
    app.ctx.model = model
    try_use_uvloop()  # as app.run would
    asyncio.run(_serve_until_stopped(app, sock, ready))


async def _serve_until_stopped(app: Sanic, sock: Any, ready: Event) -> None:
    """Sanic's own shutdown (app.run) closes at once every connection whose request it has not
    read yet, so a message sent just then gets no reply. So a stopping worker stops accepting,
    answers each connection it holds once more with "Connection: close", and lets idle ones
    reach Sanic's keep-alive timeout, as they would on any day."""
    app.config.MOTD = False
    server = await app.create_server(
        sock=sock, return_asyncio_server=True, asyncio_server_kwargs={"start_serving": False}
    )
    if server is None:
        raise RuntimeError("Sanic returned no server")
    await server.startup()
    await server.before_start()  # loads the model
    stop = asyncio.Event()  # from here on, SIGTERM drains
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await server.start_serving()
    await server.after_start()
    ready.set()
    await stop.wait()

    await server.close()  # this worker's share of the listening socket; the others accept on
    app.ctx.stopping = True
    await server.before_stop()
    drain_until = time.monotonic() + app.config.KEEP_ALIVE_TIMEOUT + app.config.GRACEFUL_SHUTDOWN_TIMEOUT
    while _http_connections(server) and time.monotonic() < drain_until:
        await asyncio.sleep(0.1)
    for connection in list(server.connections):
        if getattr(connection, "websocket", None):
            connection.websocket.fail_connection(code=1001)  # going away: the widget reconnects
        else:
            connection.abort()
    await server.after_stop()


def _http_connections(server: AsyncioServer) -> List[Any]:
    """Not websockets: a widget's socket stays open for as long as its page does."""
    return [connection for connection in server.connections if not getattr(connection, "websocket", None)]


async def _close_when_stopping(request: Any, _: Any) -> None:
    """Each reply a stopping worker sends closes its connection, so the client's next request
    opens one to another worker."""
    if getattr(request.app.ctx, "stopping", False) and request.stream is not None:
        request.stream.keep_alive = False


class WorkerPool:
    def __init__(self, app: Sanic, host: str, port: int, count: int, model_to_serve: Callable[[], Path]) -> None:
        self.app = app
        self.count = count
        self.model_to_serve = model_to_serve
        self.workers: List[Worker] = []
        self.failed: Optional[Path] = None  # a model no worker could load: not tried again
        self.stopping = False
        self.woken = False  # set by SIGUSR1: look at the live version now
        self.sock = bind_socket(host, port)
        self.sock.set_inheritable(True)
        self.status_dir = tempfile.mkdtemp(prefix="rasa-workers-")
        os.environ[STATUS_FILE_VARIABLE] = str(Path(self.status_dir) / "status.json")
        app.register_middleware(_close_when_stopping, "response")

    def serve(self) -> int:
        """Runs until SIGINT or SIGTERM; 1 if the first workers cannot start."""
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, self._stop)
        signal.signal(signal.SIGUSR1, self._wake)
        try:
            model = self.model_to_serve()
            self.workers = [self._start(model) for _ in range(self.count)]  # loading side by side
            if not all([self._wait_until_ready(worker) for worker in self.workers]):
                logger.error("The Rasa server could not load %s", model.name)
                return 1
            self._write_status()
            while not self.stopping:
                # Short sleeps: a signal handler only sets a flag, which is safe anywhere.
                next_check = time.monotonic() + settings().live_version_check_seconds
                while not (self.stopping or self.woken) and time.monotonic() < next_check:
                    time.sleep(0.2)
                self.woken = False
                if self.stopping:
                    break
                try:
                    self._replace_dead_workers()
                    self._follow_live_version()
                except Exception:  # the workers answer on; a supervisor that died would take them along
                    logger.exception("Could not look after the Rasa workers; trying again at the next check")
            return 0
        finally:
            for worker in self.workers:
                self._stop_worker(worker)
            self.sock.close()
            Path(os.environ[STATUS_FILE_VARIABLE]).unlink(missing_ok=True)
            os.rmdir(self.status_dir)

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def _wake(self, *_: Any) -> None:
        self.woken = True

    def _start(self, model: Path) -> Worker:
        ready = _fork.Event()
        process = _fork.Process(target=_serve, args=(self.app, self.sock, model, ready, os.getpid()), daemon=True)
        process.start()
        return Worker(process, model, ready)

    def _wait_until_ready(self, worker: Worker) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not worker.ready.wait(1):
            if self.stopping or not worker.process.is_alive() or time.monotonic() > deadline:
                self._stop_worker(worker)
                return False
        return True

    def _stop_worker(self, worker: Worker) -> None:
        if worker.process.is_alive() and worker.process.pid:
            os.kill(worker.process.pid, signal.SIGTERM)
        worker.process.join(STOP_TIMEOUT_SECONDS)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()

    def _replace_dead_workers(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.process.is_alive():
                continue
            logger.error("A Rasa worker ended (exit code %s); starting another", worker.process.exitcode)
            replacement = self._start(worker.model)
            if self._wait_until_ready(replacement):
                self.workers[index] = replacement
                self._write_status()

    def _follow_live_version(self) -> None:
        live = self.model_to_serve()
        if live == self.failed or all(worker.model == live for worker in self.workers):
            return
        with _one_server_at_a_time() as ours:
            if not ours:
                return  # another server sharing VERSIONS_DIR is switching; the next check tries again
            for index, old in enumerate(self.workers):
                if old.model == live:
                    continue
                new = self._start(live)
                if not self._wait_until_ready(new):
                    if not self.stopping:
                        logger.error("Could not load the published model %s; the old one keeps answering", live.name)
                        self.failed = live
                    break
                self.workers[index] = new
                self._stop_worker(old)
                self._write_status()
            else:
                self.failed = None
                logger.info("Every worker now runs the published model %s", live.name)
        self._write_status()

    def _write_status(self) -> None:
        status = {
            "live": self.model_to_serve().name,
            "workers": [{"pid": worker.process.pid, "model": worker.model.name} for worker in self.workers],
            "failed": self.failed.name if self.failed else None,
        }
        path = Path(os.environ[STATUS_FILE_VARIABLE])
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(status), encoding="utf-8")
        os.replace(scratch, path)


@contextmanager
def _one_server_at_a_time() -> Iterator[bool]:
    folder = Path(settings().versions_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "switching.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
