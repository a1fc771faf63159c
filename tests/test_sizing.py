"""looplab.sizing: every scale fits its target by the computed table, with the course's own FLOP count."""
import math

import pytest

import looplab.config as config
from looplab.config import SCALES
from looplab.model import flops_per_token
from looplab.research.runner import Runner
from looplab.sizing import A100, H100, T4, Work, cpu_machine, laptop, lesson02_run_flops, lesson_work, sizing_table
from looplab.train import TrainConfig

LESSONS = ("00", "01", "02", "03", "04", "05")


@pytest.mark.parametrize("scale,machine,limit_min", [
    ("smoke", laptop(), 1.0),       # CI: about a minute per notebook on 2 CPU cores (its compute: far less)
    ("workshop", laptop(), 10.0),   # a 2-core laptop / Binder: <= 10 minutes per lesson
])
def test_cpu_scales_fit_their_target(scale, machine, limit_min):
    work = lesson_work(SCALES[scale])
    assert set(work) == set(LESSONS)
    over = {k: round(w.minutes(machine), 2) for k, w in work.items() if w.minutes(machine) > limit_min}
    assert not over, f"{scale} lessons over {limit_min} min on {machine.name}: {over}"


def test_the_scale_chosen_on_a_gpu_fits_one_t4(monkeypatch):
    monkeypatch.delenv("LOOPLAB_SCALE", raising=False)
    monkeypatch.setattr(config, "_cuda_available", lambda: True)
    gpu_scale = config.get_scale()
    work = lesson_work(gpu_scale)
    minutes = {k: w.minutes(T4) for k, w in work.items()}
    assert all(m <= 15.0 for m in minutes.values()), f"{gpu_scale.name} on a T4: {minutes}"
    # and it is a real step up from the workshop: more compute in every training lesson
    shop = lesson_work(SCALES["workshop"])
    assert all(work[k].train_flops > 10 * shop[k].train_flops for k in ("02", "03", "04", "05"))


def test_faster_chips_are_faster_and_the_launch_floor_counts():
    w = lesson_work(SCALES["full"])["04"]
    assert w.minutes(T4) > w.minutes(A100) > w.minutes(H100) > 0
    arithmetic = w.flops / (H100.peak_flops * H100.utilization) / 60
    assert w.minutes(H100) > 1.5 * arithmetic    # a tiny model on an H100 is launch-bound


def test_lesson02_count_is_the_course_count():
    """One home for the FLOP count: the training run equals sizing.lesson02_run_flops."""
    for s in SCALES.values():
        w = Work()
        w.add_training(TrainConfig.from_scale(s), s.train_steps, evals=0)
        assert w.train_flops == pytest.approx(lesson02_run_flops(s)["flops"], rel=1e-12)


def test_lesson02_run_flops_uses_training_core():
    s = SCALES["smoke"]
    r = lesson02_run_flops(s)
    assert r["tokens"] == s.train_steps * s.batch_size * s.block_size
    assert r["flops"] > 6 * r["n_params"] * r["tokens"]  # 6N plus attention
    assert "looplab.train" in r["how"]


def test_economics_does_not_import_the_trainer():
    import subprocess
    import sys
    code = "import sys, looplab.economics as E; assert 'looplab.train' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lesson03_experiment_is_the_runners_budget():
    for s in SCALES.values():
        runner = Runner(s, data=object())   # the budget needs no data
        w = Work()
        w.add_training(TrainConfig.from_scale(s, **dict(s.experiment_ref)), s.experiment_steps, evals=0)
        assert w.train_flops == pytest.approx(runner.flops_budget, rel=1e-12)


def test_sampling_counts_forward_flops_per_byte():
    cfg = TrainConfig.from_scale(SCALES["smoke"])
    w = Work()
    w.add_sampling(cfg, docs=10, doc_bytes=7)
    assert w.sample_flops == flops_per_token(cfg.model_config(), training=False) * 70 and w.train_flops == 0


def test_table_and_bad_input():
    t = sizing_table()
    assert list(t.index.get_level_values("scale").unique()) == list(config.SCALE_NAMES)
    assert {"train TFLOP", "sample TFLOP", f"min on {T4.name}", f"min on {H100.name}"} <= set(t.columns)
    assert t.loc[("full", "04"), "train TFLOP"] > t.loc[("workshop", "04"), "train TFLOP"] > 0
    with pytest.raises(ValueError, match="flops_per_s=0 must be a finite number > 0"):
        cpu_machine(0)
    with pytest.raises(ValueError, match="flops_per_s=nan"):
        cpu_machine(math.nan)
    with pytest.raises(TypeError, match="must be a looplab.config.Scale"):
        lesson_work("full")
    with pytest.raises(ValueError, match="'huge' is not a scale"):
        sizing_table(scales=["huge"])
