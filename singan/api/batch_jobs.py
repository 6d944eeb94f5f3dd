"""Several job processes at once on one device (`singan batch --jobs-per-device K`), their events relayed to
the parent's handler.

Processes rather than threads: a SinGAN's coarse scales are bound by Python's per-call overhead, which
threads would share under one interpreter lock, and a job that runs out of memory or crashes takes only its own
images down. The processes are spawned (not forked), so each starts its own CUDA context cleanly.
"""

from __future__ import annotations

import _thread
import multiprocessing
import os
import queue as queues
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable

from singan.events import EventHandler

# After Ctrl-C: how long the jobs have to stop of themselves (a terminal's Ctrl-C reaches them too), then to
# stop after the parent passes the interrupt on (a `kill -INT` of the parent alone), before they are ended.
GRACE_SECONDS = 5
THREADS_VARIABLE = "OMP_NUM_THREADS"
STOP_SECONDS = 120
POLL_SECONDS = 0.2


def run_jobs(target: Callable, arguments: list[tuple], on_event: EventHandler, threads: int | None = None) -> list[int]:
    """target(*arguments[j], on_event) in job process j, all at once, each with `threads` CPU threads; returns
    their exit codes (0: finished). The events the jobs report reach `on_event` here, in the order they arrive."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    jobs = [context.Process(target=_job, args=(target, job_arguments, events), daemon=True)
            for job_arguments in arguments]
    with _thread_count(threads):
        for job in jobs:
            job.start()
    try:
        while any(job.is_alive() for job in jobs):
            _relay(events, on_event, POLL_SECONDS)
    except KeyboardInterrupt:
        _stop(jobs)  # each keeps the scales it finished, as a batch stopped by Ctrl-C does
        raise
    finally:
        while _relay(events, on_event, 0):
            pass
    for job in jobs:
        job.join()
    return [job.exitcode for job in jobs]


@contextmanager
def _thread_count(threads: int | None):
    """The OpenMP thread count that started processes read as they start (as under torchrun), which keeps
    K jobs on the cores one process had from spinning against each other."""
    saved = os.environ.get(THREADS_VARIABLE)
    if threads is not None:
        os.environ[THREADS_VARIABLE] = str(threads)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(THREADS_VARIABLE, None)
        else:
            os.environ[THREADS_VARIABLE] = saved


def only(on_event: EventHandler, kinds: tuple[type, ...]) -> EventHandler:
    """A handler that passes on the events of these kinds alone."""
    def handler(event) -> None:
        if isinstance(event, kinds):
            on_event(event)
    return handler


def _job(target: Callable, arguments: tuple, events) -> None:
    """A job's body: an interrupt (Ctrl-C, or its parent gone) stops it as Ctrl-C stops a batch, quietly."""
    threading.Thread(target=_interrupt_when_orphaned, args=(os.getppid(),), daemon=True).start()
    try:
        target(*arguments, events.put)
    except KeyboardInterrupt:
        sys.exit(130)


def _interrupt_when_orphaned(parent: int) -> None:
    """A job whose parent was killed stops, so that a relaunched batch never meets it still writing a run."""
    while os.getppid() == parent:
        time.sleep(1)
    _thread.interrupt_main()


def _relay(events, on_event: EventHandler, wait: float) -> bool:
    try:
        event = events.get(timeout=wait) if wait else events.get_nowait()
    except queues.Empty:
        return False
    on_event(event)
    return True


def _stop(jobs: list) -> None:
    for job in jobs:
        job.join(GRACE_SECONDS)
    for job in jobs:
        if job.is_alive():
            os.kill(job.pid, signal.SIGINT)
    for job in jobs:
        job.join(STOP_SECONDS)
    for job in jobs:
        if job.is_alive():
            job.terminate()
            job.join()
