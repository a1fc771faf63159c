"""Fill a class store with simulated learners: each runs a tiny real lesson-03 loop into it.

    .venv/bin/python instructors/simulate_class.py --store build/class.db
    .venv/bin/python instructors/simulate_class.py --store "postgresql://user:pass@host/db" --learners ada,grace,alan,emmy

Then open instructors/class_regrade.ipynb with LOOPLAB_CLASS_STORE set to the same store. A
learner already in the store resumes where its loop stopped (nothing is run twice).
"""
from __future__ import annotations

import argparse
import time

from looplab.research.classroom import DEFAULT_LEARNERS, class_runner, simulate_class
from looplab.research.store import mask_url


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="a SQLite file path or a postgresql:// URL")
    ap.add_argument("--learners", default=",".join(DEFAULT_LEARNERS), help="comma-separated chosen names")
    ap.add_argument("--experiments", type=int, default=3, help="experiments per learner (default 3)")
    ap.add_argument("--scale", default="smoke", help="smoke (default), workshop or full")
    ap.add_argument("--steps", type=int, default=None, help="training steps per experiment")
    a = ap.parse_args(argv)
    learners = [x.strip() for x in a.learners.split(",") if x.strip()]
    t0 = time.perf_counter()
    store = simulate_class(a.store, learners, a.experiments, runner=class_runner(a.scale, a.steps))
    recs = store.class_records()
    print(f"{len(learners)} learners, {len(recs)} records in {mask_url(store.url)} "
          f"({sum(r.get('status') == 'kept' for r in recs)} kept claims) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
