"""bench/bench_gpu.py runs (on the CPU here, at smoke shapes, a few steps): both steps train for real and
the JSON it writes has the ratio and MFU fields make test-gpu reports. On CUDA it is the GPU check."""
import json
import subprocess
import sys

import pytest


def test_bench_gpu_runs_on_the_cpu(repo_root, tmp_path):
    out = tmp_path / "gpu_cpu.json"
    r = subprocess.run([sys.executable, str(repo_root / "bench" / "bench_gpu.py"), "--device", "cpu", "--scale", "smoke",
                        "--batches", "4", "--steps", "3", "--rounds", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    assert d["dtype"] == "float32" and d["peak_how"].startswith("measured")
    assert [row["what"] for row in d["rows"]] == ["step", "loop"]      # the bare step, then train()'s loop
    for row in d["rows"]:
        assert row["batch"] == 4 and row["course_ms"] > 0 and row["reference_ms"] > 0
        assert abs(row["ratio"] - row["reference_ms"] / row["course_ms"]) < 0.01
        assert 0 < row["course_mfu"] < 1
    fixed = d["fixed_cost"]        # the tiny-shape proxy for the steps' host overhead (Python, dispatch, launches)
    assert fixed["aten_ops_course"] > 100 and fixed["aten_ops_reference"] > 100
    assert fixed["course_ms"] > 0 and fixed["reference_ms"] > 0
    assert "ratio" in r.stdout and "nanoGPT layout" in r.stdout and "fixed cost" in r.stdout


def test_bench_gpu_refuses_without_cuda(repo_root):
    import torch
    if torch.cuda.is_available():
        return
    r = subprocess.run([sys.executable, str(repo_root / "bench" / "bench_gpu.py")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode != 0 and "sees no CUDA device" in r.stderr


@pytest.mark.slow
def test_gpu_check_rehearses_on_the_cpu(repo_root, tmp_path):
    """bench/gpu_check.sh, the one command a lent GPU machine runs (and make test-gpu), rehearsed on the CPU at
    smoke: its three steps pass and what it sends back is in OUT, eight files (a lent machine returns at most 8)."""
    import os
    env = {**os.environ, "PY": sys.executable, "WHEELS": "", "DEVICE": "cpu", "GPU_SCALE": "smoke",
           "GPU_BENCH_STEPS": "1", "OUT": str(tmp_path)}
    r = subprocess.run(["bash", str(repo_root / "bench" / "gpu_check.sh")], capture_output=True, text=True,
                       timeout=900, env=env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    summary = (tmp_path / "summary.txt").read_text()
    for step in ("unit", "lessons", "bench"):
        assert f"gpu_check: {step} exit 0" in summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.log", "bench_gpu.json", "headlines.md", "lessons.log",
                                                          "profile.txt", "summary.csv", "summary.txt", "unit.log"]
    assert "== course:" in (tmp_path / "profile.txt").read_text()
    assert json.loads((tmp_path / "bench_gpu.json").read_text())["rows"]


@pytest.mark.slow
def test_gpu_check_fails_when_a_step_fails(repo_root, tmp_path):
    """A failing step (here: a scale that does not exist) makes the whole check fail, after the others ran."""
    import os
    env = {**os.environ, "PY": sys.executable, "WHEELS": "", "DEVICE": "cpu", "GPU_SCALE": "nonsense", "OUT": str(tmp_path)}
    r = subprocess.run(["bash", str(repo_root / "bench" / "gpu_check.sh")], capture_output=True, text=True,
                       timeout=900, env=env)
    summary = (tmp_path / "summary.txt").read_text()
    assert r.returncode != 0 and "gpu_check: lessons exit 1" in summary and "gpu_check: unit exit 0" in summary
