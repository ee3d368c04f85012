"""Executors: where independent pieces of work run.

Three places, one interface:

- ``InProcess()`` (the default everywhere): one after the other, in this process, as before;
- ``ProcessPool(workers)``: local processes (``concurrent.futures`` with the *spawn* start
  method: JAX is not fork-safe);
- ``DaskCluster(workers=N)`` starts a local dask.distributed cluster of N single-threaded
  processes; ``DaskCluster(scheduler="tcp://HOST:8786")`` joins a running cluster (started
  with ``dask scheduler`` and ``dask worker tcp://HOST:8786`` on other hosts).

Each is a context manager (leaving it stops what it started) with ``map(fn, items) -> list``
(results in input order) and ``as_completed(fn, items)``, which yields ``(index, result)`` as
results arrive. ``fn`` and the items are sent with cloudpickle (lambdas and closures too); the
results come back pickled. A worker that dies mid-task costs nothing but time:
dask gives its tasks to another worker, the process pool is rebuilt and the unfinished tasks
are submitted again. ``make_executor(workers=..., scheduler=...)`` picks one from the
command-line options.

Workers started here (process pool, local dask cluster) use one XLA device each: the
parallelism is across tasks, and a worker that also split its batches across every core
would only compete with its neighbours. The numbers do not depend on it (see
``pdeinv.solvers.batching``).
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = ["DaskCluster", "Executor", "InProcess", "ProcessPool", "make_executor"]

#: attempts of a task whose worker died (process pool) or which raised (dask ``retries``)
RETRIES = 2


def _one_device_environment() -> dict[str, str]:
    """The environment of a worker process that uses a single XLA host device."""
    flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", "")).strip()
    return {"XLA_FLAGS": flags, "PDEINV_CPU_DEVICES": "1"}


def _call_pickled(payload: bytes):
    """Run ``fn(item)`` sent by cloudpickle (which, unlike pickle, ships lambdas, closures and
    read-only mappings such as those of ``Observations``)."""
    import cloudpickle

    fn, item = cloudpickle.loads(payload)
    return fn(item)


def _one_device_worker() -> None:
    """Process-pool initializer: runs before the worker's first JAX computation, when the
    device count is read."""
    os.environ.update(_one_device_environment())


class Executor:
    """The interface: ``map``, ``as_completed``, ``close``, a context manager; ``workers``
    says how many tasks run at once."""

    workers: int = 1

    def map(self, fn: Callable, items: Iterable) -> list:
        """``[fn(item) for item in items]``, run by the executor; results in input order. The
        first task that raises (after its retries) raises here."""
        items = list(items)
        results: list[Any] = [None] * len(items)
        for index, result in self.as_completed(fn, items):
            results[index] = result
        return results

    def as_completed(self, fn: Callable, items: Sequence) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop what this executor started (nothing for the in-process one)."""

    def describe(self) -> str:
        return type(self).__name__

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcess(Executor):
    """Run every task here, in order: today's behaviour, and the reference the others match."""

    def as_completed(self, fn, items):
        for index, item in enumerate(items):
            yield index, fn(item)

    def describe(self) -> str:
        return "this process"


class ProcessPool(Executor):
    """``workers`` local processes (spawned, one XLA device each).

    A worker that dies (killed, out of memory) breaks a ``ProcessPoolExecutor``; the pool is
    then rebuilt and the tasks without a result are submitted again, at most ``RETRIES``
    times."""

    def __init__(self, workers: int):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self._pool = None

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_one_device_worker)
        return self._pool

    def as_completed(self, fn, items):
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        import cloudpickle

        pending = set(range(len(items)))
        for attempt in range(RETRIES + 1):
            pool = self._start()
            futures = {pool.submit(_call_pickled, cloudpickle.dumps((fn, items[i]))): i for i in sorted(pending)}
            try:
                for future in as_completed(futures):
                    index = futures[future]
                    result = future.result()
                    pending.discard(index)
                    yield index, result
                return
            except BrokenProcessPool:
                if attempt == RETRIES:
                    raise
                # A worker died: every unfinished task is lost with the pool. Start a new one.
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> str:
        return f"{self.workers} local processes"


class DaskCluster(Executor):
    """Tasks on a dask.distributed cluster.

    ``workers=N``: start a local cluster of N worker processes with one thread each (stopped
    on ``close``). ``scheduler="tcp://HOST:PORT"``: join a running cluster (left running).
    ``timeout``: seconds to wait for the scheduler. ``client``: an existing
    ``distributed.Client`` to use instead (not closed here).

    Tasks are submitted with ``pure=False`` and unique keys (two identical calls are two
    tasks) and ``retries``; a task whose worker dies is rescheduled by dask on another one.
    """

    def __init__(self, workers: int | None = None, *, scheduler: str | None = None, client=None,
                 timeout: float = 10.0, retries: int = RETRIES):
        if sum(x is not None for x in (workers, scheduler, client)) != 1:
            raise ValueError("give exactly one of workers, scheduler and client")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if scheduler is not None:
            check_scheduler_address(scheduler)
        from distributed import Client, LocalCluster

        self.retries = int(retries)
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler is not None:
            try:
                self.client = Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError) as err:
                raise OSError(f"cannot reach the dask scheduler at {scheduler} within {timeout:g} s "
                              f"({type(err).__name__})") from None
        else:
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, env=_one_device_environment())
            self.client = Client(self._cluster, set_as_default=False)
            self.client.wait_for_workers(workers, timeout=max(60.0, 10.0 * workers))
        self.scheduler = self.client.scheduler.address

    @property
    def workers(self) -> int:
        return max(len(self.client.scheduler_info(n_workers=-1)["workers"]), 1)

    def as_completed(self, fn, items):
        from distributed import as_completed

        if not items:
            return
        batch = uuid.uuid4().hex[:12]
        name = getattr(fn, "__name__", type(fn).__name__)
        keys = [f"{name}-{batch}-{i}" for i in range(len(items))]
        futures = self.client.map(fn, list(items), key=keys, pure=False, retries=self.retries)
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            # Results travel with the completion notices (one fetch per result, one after the
            # other, cost ~0.1 s per batch of 32 on 16 workers).
            for future, result in as_completed(futures, loop=self.client.loop, with_results=True):
                yield index[future.key], result
        finally:
            self.client.cancel(futures)

    def close(self):
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def describe(self) -> str:
        where = f"local cluster at {self.scheduler}" if self._cluster is not None else f"cluster at {self.scheduler}"
        return f"{self.workers} dask workers ({where})"


_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc|ws|wss)://[^\s/:]+(:\d+)?/?$")


def check_scheduler_address(address: str) -> str:
    """``tcp://HOST:PORT`` (or tls://, ws://...); ValueError naming the expected form."""
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise ValueError(f"scheduler address must look like tcp://HOST:PORT, got {address!r}")
    return address.strip()


def make_executor(workers: int | None = None, scheduler: str | None = None, *, processes: str = "dask",
                  timeout: float = 10.0) -> Executor:
    """The executor the options ask for: nothing -> ``InProcess``; ``workers=N`` -> a local
    dask cluster of N processes (``processes="pool"``: a spawn process pool instead);
    ``scheduler=ADDRESS`` -> that dask cluster. Both at once, or ``workers < 1``, is a
    ValueError."""
    if workers is not None and scheduler is not None:
        raise ValueError("give --workers or --scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")
    if scheduler is not None:
        return DaskCluster(scheduler=scheduler, timeout=timeout)
    if workers is None:
        return InProcess()
    if processes == "pool":
        return ProcessPool(workers)
    if processes != "dask":
        raise ValueError(f"processes must be 'dask' or 'pool', got {processes!r}")
    return DaskCluster(workers)
