"""Parallel experiments: lesson 03's loop running a batch of experiments at once on Dask distributed.

**The engine: Dask distributed.** Chosen over Ray for this course because it fits both ends:

* on a 2-core laptop or a Binder box, ``LocalCluster`` is a few pure-Python processes (a wheel of
  a few MB, no daemon, no shared-memory object store to size, about 100 MB per worker) and starts
  in seconds; Ray starts a raylet, a GCS server and a dashboard, wants a slice of ``/dev/shm`` for
  its object store, and a Ray head on 2 cores spends a visible share of them on itself;
* on a cluster the code is the same: ``ParallelLoop(loop, address="tcp://scheduler:8786")``
  connects to a running scheduler, and on SLURM ``dask_jobqueue.SLURMCluster`` (e.g.
  ``SLURMCluster(cores=4, memory="16GB", job_extra_directives=["--gres=gpu:1"])``,
  ``cluster.scale(jobs=8)``) gives a ``Client(cluster)`` to pass as ``client=``;
* its futures API (``submit`` / ``as_completed``) is exactly what a driver of experiments needs,
  and the scheduler re-runs a task whose worker died, so a worker killed with ``kill -9`` costs
  only the experiment it was running, which is then run again from scratch elsewhere (a run
  counts as finished when its result reaches the driver and is logged: one whose worker dies in
  the instant between is run again, and still logged once).

**The budget is compute (steps or FLOPs), never seconds.** Two experiments on two cores of one
machine contend for memory bandwidth and caches, so each runs slower than alone; under a seconds
budget each would then train fewer steps and score worse -- the result would depend on how many
ran at once. With a step (or FLOP) budget an experiment's result is the same however many run
beside it (only its wall time changes), so a noise floor measured at one concurrency is valid at
any other. :class:`ParallelLoop` refuses a runner whose budget kind is ``"seconds"``. The baseline
replicates still run through the same workers, at the same concurrency, as the experiments.

**The keep rule for a batch.** All ``n`` proposals of a batch are made from the same incumbent and
run at once; each finished run is judged on its own against the best score *at the batch's
start* (``best_before``, logged): kept only if it beats it by more than ``k`` sigma, the same rule
as one at a time. Several runs of a batch may be kept; the next batch starts from the lowest
kept one (:meth:`ResearchLoop.state` takes a kept run as the incumbent only if it is lower than
the incumbent so far). The decision thus never depends on which run finished first.

**The driver alone writes the ledger**, one record the moment each run's result arrives. Workers
only train and return numbers. Kill the driver at any point and start it again: every finished
experiment is in the ledger, its slot is counted, and its config cannot be proposed again (the
proposers skip configs already run), so none is lost and none runs twice; runs that were in
flight are proposed afresh from the ledger as a new (smaller) batch.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Mapping

from distributed.diagnostics.plugin import WorkerPlugin

from .ledger import BASELINE
from .loop import ResearchLoop
from .noise import NoiseFloor
from .proposal import Proposal, Proposer, clean_text
from .signoff import Decision
from ..checks import whole

COMPUTE_BUDGETS = ("flops", "steps")
MAX_WORKERS = 256


class RemoteError(RuntimeError):
    """An exception raised by a run on a worker, carried back to the driver as text."""

    def __repr__(self) -> str:
        return str(self)


class _RunOnEveryWorker(WorkerPlugin):
    """A Dask worker plugin that holds the run function on every worker, those started later
    included (the nanny's replacement for a killed worker gets it before its first task).

    Not scattered data: the scheduler's active memory manager drops the extra copies of a
    broadcast scatter within seconds, so killing the one worker left holding it lost the run
    function and cancelled every experiment still queued (seen in CI)."""

    def __init__(self, run_fn, name: str):
        self.run_fn, self.name = run_fn, name


def _work(plugin: str, config: Mapping, seed: int, threads: int) -> dict:
    """On a worker: one experiment. Returns numbers only (``run_fn(...)``: no model comes back)."""
    import torch
    from distributed import get_worker
    run_fn = get_worker().plugins[plugin].run_fn
    torch.set_num_threads(threads)
    t0 = time.time()
    try:
        m = dict(run_fn(dict(config), seed))
    except Exception as e:  # a config that crashes the trainer: the driver logs it as failed
        return {"ok": False, "error": RemoteError(f"{type(e).__name__}: {e}"), "t0": t0, "t1": time.time(), "worker_pid": os.getpid()}
    m.pop("history", None)
    return {"ok": True, "metrics": m, "t0": t0, "t1": time.time(), "worker_pid": os.getpid()}


def _check_count(value, what: str, high: int) -> int:
    return whole(what, value, 1, high)


def local_client(workers: int = 2, threads_per_worker: int = 1, address: str | None = None):
    """A Dask client: to the scheduler at ``address``, else to a fresh ``LocalCluster`` of
    ``workers`` processes with ``threads_per_worker`` torch threads each (1 + 1 on 2 cores)."""
    from distributed import Client, LocalCluster
    if address:
        return Client(address)
    _check_count(workers, "workers", MAX_WORKERS)
    _check_count(threads_per_worker, "threads_per_worker", 64)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster)


class ParallelLoop:
    """Runs a :class:`ResearchLoop`'s experiments ``batch`` at a time on a Dask cluster.

    ``client``: a ``distributed.Client`` (yours: left open); otherwise one is made by
    :func:`local_client` from ``workers`` / ``address`` and closed by :meth:`close`. ``batch``
    (default: the number of workers) is how many experiments are proposed and run at once.
    """

    def __init__(self, loop: ResearchLoop, client=None, workers: int = 2, address: str | None = None,
                 batch: int | None = None, threads_per_worker: int = 1):
        kind = getattr(loop.run_fn, "kind", None)
        if kind is not None and kind not in COMPUTE_BUDGETS:
            raise ValueError(f"the runner's budget kind={kind!r} cannot run in parallel: concurrent runs slow each "
                             f"other, so a time budget changes results; use one of {COMPUTE_BUDGETS}")
        self.threads = _check_count(threads_per_worker, "threads_per_worker", 64)
        self.loop, self._own = loop, client is None
        self.client = client if client is not None else local_client(workers, threads_per_worker, address)
        self.workers = len(self.client.scheduler_info()["workers"]) or workers
        self.batch = _check_count(batch, "batch", 1024) if batch is not None else self.workers
        # the run function (a Runner holds its corpus) goes to every worker once, not with each task
        self._plugin = f"looplab-run-{uuid.uuid4().hex}"
        self.client.register_plugin(_RunOnEveryWorker(loop.run_fn, self._plugin), name=self._plugin)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Take the run function off the workers; close the client and cluster if this object made them."""
        try:
            self.client.unregister_worker_plugin(self._plugin)
        except Exception:  # the cluster is already gone: nothing holds the plugin any more
            pass
        if self._own:
            cluster = getattr(self.client, "cluster", None)
            self.client.close()
            if cluster is not None:
                cluster.close()

    def _submit(self, config: Mapping, seed: int):
        return self.client.submit(_work, self._plugin, dict(config), seed, self.threads, pure=False)

    def _results(self, futures: dict):
        """``(key, result)`` in the order runs finish."""
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        try:
            from distributed import KilledWorker
        except ImportError:  # pragma: no cover - older distributed
            from distributed.scheduler import KilledWorker
        for fut in as_completed(list(futures)):
            try:
                res = fut.result()
            except (KilledWorker, FutureCancelledError) as e:
                raise RuntimeError(f"a run was lost with its workers ({type(e).__name__}); the finished ones are in "
                                   "the ledger: start the loop again to resume") from None
            yield futures[fut], res

    def _extra(self, res: dict, **more) -> dict:
        return {"workers": self.workers, "worker_pid": res["worker_pid"],
                "worker_wall_s": round(res["t1"] - res["t0"], 3), **more}

    def baseline(self, replicates: int) -> NoiseFloor:
        """The baseline replicates (seeds ``seed .. seed+replicates-1`` not yet done), all at once."""
        loop = self.loop
        whole("replicates", replicates, 2, note=" (a noise floor needs two seeds or more)")
        done = {r["seed"] for r in loop.ledger.where(status=BASELINE)}
        todo = [loop.seed + i for i in range(replicates) if loop.seed + i not in done]
        futures = {self._submit(loop.space.base, s): s for s in todo}
        for s, res in self._results(futures):
            if not res["ok"]:
                raise RuntimeError(f"baseline seed {s} failed: {clean_text(repr(res['error']), 300)}")
            loop.record_baseline(s, res["metrics"], res["t0"], self._extra(res))
        nf = loop.noise
        if loop.verbose:
            print(nf)
        return nf

    def _batch(self, proposer: Proposer, slot: int, n: int, st: dict, recs: list[dict]) -> list[Proposal]:
        loop = self.loop
        try:
            props = proposer.propose_batch(loop.space, loop.records(proposer.name, recs), st["incumbent"], slot, n,
                                           st["noise"])
        except Exception as e:  # a proposer bug is logged, never fatal (as in ResearchLoop.propose)
            return [Proposal(proposer.name, {}, None, valid=False, reason=clean_text(f"proposer crashed: {e!r}", 300))]
        return list(props)[:n]

    def run(self, proposer: Proposer, experiments: int, batch: int | None = None) -> list[dict]:
        """Spend ``experiments`` slots on ``proposer``, ``batch`` at a time (resuming from the ledger)."""
        loop = self.loop
        n_max = _check_count(batch, "batch", 1024) if batch is not None else self.batch
        _check_count(experiments, "experiments", 100_000)
        if loop.noise is None:
            raise RuntimeError("measure the noise floor first: ParallelLoop.baseline(replicates)")
        policy = loop.signoff
        while (st := loop.state(proposer.name, recs := loop.ledger.records()))["slots_done"] < experiments:
            n = min(n_max, experiments - st["slots_done"])
            bid = 1 + max((r.get("batch") or 0 for r in recs if r.get("proposer") == proposer.name), default=0)
            runs = {}
            for i, p in enumerate(self._batch(proposer, st["slots_done"], n, st, recs)):
                decision = policy.decide(p) if p.valid else Decision("reject", by="validator", note=p.reason)
                attempt = loop.state(proposer.name)["open_attempts"]
                q = loop.approve(p, st["slots_done"] + i, attempt, decision)
                if isinstance(q, Proposal):
                    runs[self._submit(q.config, loop.seed)] = (q, st["slots_done"] + i, attempt, decision.by)
            if loop.verbose and runs:
                print(f"[{proposer.name}] batch {bid}: {len(runs)} experiments on {self.workers} workers")
            for (q, slot, attempt, by), res in self._results(runs):
                extra = self._extra(res, batch=bid, batch_size=len(runs))
                if res["ok"]:
                    loop.record_result(q, slot, attempt, by, res["metrics"], res["t0"], st["best"], extra,
                                       noise=st["noise"])
                else:
                    loop.record_failure(q, slot, attempt, by, res["error"], res["t0"], extra)
        return [r for r in loop.ledger.records() if r.get("proposer") == proposer.name]
