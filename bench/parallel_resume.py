"""Lesson 03's loop in parallel at workshop scale, killed with SIGKILL mid-run, then resumed.

The driver (2 Dask workers, lesson 03's runner, a 2-seed baseline then ``--experiments`` random
experiments) is started, killed with ``kill -9`` once ``--kill-after`` records are in its ledger,
and started again. Checked: the records written before the kill are unchanged, every experiment
number appears once, no config ran twice, and the loop completes.

    .venv/bin/python bench/parallel_resume.py --scale workshop
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def drive(scale: str, ledger: str, experiments: int) -> None:
    from looplab.config import get_scale
    from looplab.research.loop import ResearchLoop
    from looplab.research.parallel import ParallelLoop
    from looplab.research.proposers import RandomProposer
    from looplab.research.runner import Runner
    from looplab.research.signoff import AutoApprove
    from looplab.research.spec import default_space
    from looplab.train import TrainConfig
    sc = get_scale(scale)
    loop = ResearchLoop(default_space(TrainConfig.from_scale(sc).to_dict()), Runner(sc), ledger, k=2.0,
                        signoff=AutoApprove(announce=False), verbose=False)
    with ParallelLoop(loop, workers=2) as par:
        par.baseline(2)
        par.run(RandomProposer(0), experiments)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="workshop")
    ap.add_argument("--experiments", type=int, default=4)
    ap.add_argument("--kill-after", type=int, default=3, help="records in the ledger before the kill")
    ap.add_argument("--drive", nargs=2, metavar=("LEDGER", "PHASE"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.drive:
        return drive(a.scale, a.drive[0], a.experiments)
    from looplab.research.ledger import Ledger
    ledger = Path(tempfile.mkdtemp()) / "ledger.jsonl"
    cmd = [sys.executable, __file__, "--scale", a.scale, "--experiments", str(a.experiments), "--drive", str(ledger)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd + ["first"], start_new_session=True)
    while not ledger.exists() or len(Ledger(ledger).records()) < a.kill_after:
        if proc.poll() is not None:
            sys.exit(f"the driver ended (rc {proc.returncode}) before {a.kill_after} records")
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the dead driver's orphaned workers
    except ProcessLookupError:
        pass
    before = Ledger(ledger).records()
    t_kill = time.perf_counter() - t0
    rc = subprocess.run(cmd + ["second"]).returncode
    after = Ledger(ledger).records()
    runs = [r for r in after if r["status"] in ("kept", "discarded", "failed")]
    ok = {"completed": rc == 0 and len(runs) == a.experiments,
          "prefix unchanged": after[:len(before)] == before,
          "each exp once": [r["exp"] for r in after] == list(range(1, len(after) + 1)),
          "no config twice": len({json.dumps(r["config"], sort_keys=True) for r in runs}) == len(runs)}
    print(f"{a.scale}: killed the driver (kill -9) after {t_kill:.0f} s with {len(before)} records; resumed and "
          f"finished after {time.perf_counter() - t0:.0f} s in all with {len(after)} records")
    print(json.dumps(ok))
    sys.exit(0 if all(ok.values()) else 1)


if __name__ == "__main__":
    main()
