from dataclasses import fields

import pytest

from looplab import config, cpus


def test_unknown_scale_lists_every_scale(monkeypatch):
    monkeypatch.setenv("LOOPLAB_SCALE", "huge")
    with pytest.raises(ValueError) as e:
        config.get_scale()
    msg = str(e.value)
    assert "'huge'" in msg
    for name in ("smoke", "binder", "workshop", "full"):
        assert name in msg


@pytest.mark.parametrize("name", config.SCALE_NAMES)
def test_each_scale_resolves(monkeypatch, name):
    monkeypatch.setenv("LOOPLAB_SCALE", name.upper() + " ")  # case and spaces are forgiven
    assert config.get_scale().name == name


def test_default_scale_follows_cuda(monkeypatch):
    monkeypatch.delenv("LOOPLAB_SCALE", raising=False)
    monkeypatch.setattr(config, "_cuda_available", lambda: True)
    assert config.scale_name() == "full"
    monkeypatch.setattr(config, "_cuda_available", lambda: False)
    assert config.scale_name() == "workshop"


def test_scales_grow_from_smoke_to_full():
    s, w, f = (config.SCALES[n] for n in ("smoke", "workshop", "full"))
    for group, field in (("tiny", "n_embd"), ("tiny", "train_steps"), ("loop", "experiment_steps"),
                         ("chains", "steps"), ("chains", "gaussian_chains"), ("grading", "steps")):
        sizes = [getattr(getattr(x, group), field) for x in (s, w, f)]
        assert sizes == sorted(sizes), (group, field, sizes)


def test_scale_is_frozen():
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.SCALES["smoke"].tiny.n_layer = 99


def test_lesson03_proposers_are_known_with_random_first():
    """Lesson 03 compares every family with random search, so random comes first; smoke runs all six
    (nbval covers every proposer's code path in the notebook)."""
    for sc in config.SCALES.values():
        assert sc.loop.proposers[0] == "random" and set(sc.loop.proposers) <= set(config.PROPOSERS), sc.name
        assert len(set(sc.loop.proposers)) == len(sc.loop.proposers) >= 2, sc.name   # binder: random and the Centaur
        assert "centaur" in sc.loop.proposers, sc.name      # the learner's own loop is loop 0 of the Centaur
    assert config.SCALES["smoke"].loop.proposers == config.PROPOSERS


def test_binder_runs_the_workshop_design_with_less_of_what_is_reported():
    """Binder's one CPU gets the workshop's sizes except the documented cuts: lesson 03's comparison
    without the LLM-alone loops, and lesson 05 at five seeds (whose verdicts the lesson then requires
    only where the search's power at five is >= 80%)."""
    b, w = config.SCALES["binder"], config.SCALES["workshop"]
    assert b.design == "workshop" and w.design == "workshop"
    assert all(config.SCALES[n].design == n for n in ("smoke", "workshop", "full"))
    differ = {(g.name, f.name) for g in fields(config.Scale) if g.name not in ("name", "design")
              for f in fields(getattr(w, g.name)) if getattr(getattr(b, g.name), f.name) != getattr(getattr(w, g.name), f.name)}
    assert b.name == "binder" and differ == {("loop", "proposers"), ("grading", "seeds")}, differ
    assert b.loop.proposers == ("random", "centaur") and b.grading.seeds == 5


def test_heads_divide_width_in_every_profile():
    for sc in config.SCALES.values():
        assert sc.tiny.n_embd % sc.tiny.n_head == 0, sc.name


def test_device_order_and_override(monkeypatch):
    import torch
    monkeypatch.delenv("LOOPLAB_DEVICE", raising=False)
    # the order: CUDA when torch sees it, else MPS when present (and usable), else the CPU; each
    # branch is forced below by faking what torch reports
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device_name() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(config, "_mps_usable", lambda: True)
    assert config.device_name() == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.device_name() == "cpu"
    monkeypatch.setenv("LOOPLAB_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device_name() == "cpu"                       # the override wins
    monkeypatch.setenv("LOOPLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="cuda, mps or cpu"):
        config.device_name()


def test_threads_follow_free_cores(monkeypatch):
    import torch
    monkeypatch.setenv("LOOPLAB_THREADS", "1")
    assert config.set_threads() == 1 and torch.get_num_threads() == 1
    monkeypatch.setenv("LOOPLAB_THREADS", "0")
    with pytest.raises(ValueError, match=">= 1"):
        config.free_cores()
    monkeypatch.delenv("LOOPLAB_THREADS")
    assert config.free_cores() >= 1


def _fake_cgroup(tmp_path, files: dict, own: str = "0::/\n"):
    """A fake /sys/fs/cgroup under tmp_path/cg with ``files`` ({relative path: text}) and /proc/self/cgroup."""
    root = tmp_path / "cg"
    root.mkdir()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n", encoding="utf-8")
    me = tmp_path / "self_cgroup"
    me.write_text(own, encoding="utf-8")
    return {"root": root, "self_cgroup": me}


@pytest.mark.parametrize("files, want, says", [
    ({"cpu.max": "100000 100000"}, 1, "CPU quota of 1 cores"),            # Binder: one CPU
    ({"cpu.max": "150000 100000"}, 1, "CPU quota of 1.5 cores"),          # rounded down, not up
    ({"cpu.max": "250000 100000"}, 2, "cgroup v2"),
    ({"cpu.max": "max 100000"}, 4, "4 cores this process may run on"),   # v2, unlimited
    ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2, "cgroup v1"),
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, 4, "4 cores"),  # v1, unlimited
    ({"cpu.max": "50000 100000"}, 1, "CPU quota of 0.5 cores"),           # half a core: still 1 thread
    ({}, 4, "4 cores this process may run on"),                           # no cgroup files at all
    ({"cpu.max": "800000 100000"}, 4, "not tighter"),                     # quota above the affinity
])
def test_threads_follow_the_cpu_quota(tmp_path, monkeypatch, files, want, says):
    monkeypatch.delenv("LOOPLAB_THREADS", raising=False)
    monkeypatch.setattr(cpus, "_affinity_cores", lambda: 4)
    n, why = cpus.thread_budget(**_fake_cgroup(tmp_path, files))
    assert n == want and says in why, (n, why)


def test_quota_of_a_parent_cgroup_counts(tmp_path, monkeypatch):
    """A pod's limit sits on a parent of the container's own cgroup (which says max)."""
    monkeypatch.delenv("LOOPLAB_THREADS", raising=False)
    monkeypatch.setattr(cpus, "_affinity_cores", lambda: 8)
    fake = _fake_cgroup(tmp_path, {"kubepods/pod1/cpu.max": "200000 100000", "kubepods/pod1/ctr/cpu.max": "max 100000"},
                        own="0::/kubepods/pod1/ctr\n")
    n, why = cpus.thread_budget(**fake)
    assert n == 2 and "pod1" in why and "ctr" not in why
    (tmp_path / "v1").mkdir()
    fake_v1 = _fake_cgroup(tmp_path / "v1", {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000",
                                             "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"},
                           own="4:cpu,cpuacct:/docker/abc\n0::/\n")
    assert cpus.thread_budget(**fake_v1)[0] == 3


def test_looplab_threads_wins_over_the_quota_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cpus, "_affinity_cores", lambda: 4)
    monkeypatch.setenv("LOOPLAB_THREADS", "3")
    assert cpus.thread_budget(**_fake_cgroup(tmp_path, {"cpu.max": "100000 100000"})) == (3, "LOOPLAB_THREADS=3")
    monkeypatch.setenv("LOOPLAB_THREADS", "two")
    with pytest.raises(ValueError, match="'two'.*>= 1"):
        cpus.thread_budget()


def test_setup_prints_why_that_many_threads(capsys, monkeypatch):
    monkeypatch.setattr(config, "thread_budget", lambda: (1, "CPU quota of 1 cores (cgroup v2 /x/cpu.max)"))
    monkeypatch.setattr(config, "device_name", lambda: "cpu")
    s = config.setup(seed=0)
    assert s.threads == 1 and "quota" in s.threads_reason
    assert "1 CPU threads: CPU quota of 1 cores" in capsys.readouterr().out


def test_seeding_makes_all_three_generators_repeat():
    import random

    import numpy as np
    import torch
    config.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    config.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(-1)


def test_setup_prints_scale_device_seed_versions(capsys, monkeypatch):
    monkeypatch.setenv("LOOPLAB_SCALE", "smoke")
    s = config.setup(seed=7)
    out = capsys.readouterr().out
    assert s.scale.name == "smoke" and s.seed == 7
    for word in ("scale", "smoke", "device", "seed", "7", "torch", "transformers", "python"):
        assert word in out


def test_every_profile_builds_every_lessons_config():
    """The sizes each lesson builds from a profile are valid (full's sweep once had 128 with 6 heads)."""
    from looplab.research.spec import default_space
    from looplab.grading.strategies import lesson_chain
    from looplab.train import TrainConfig
    for sc in config.SCALES.values():
        cfg = TrainConfig.from_scale(sc)
        for width in sc.tiny.sweep_widths:
            cfg.replace(n_embd=width)                      # lesson 02's width sweep
        for pairs in (sc.loop.experiment_ref, sc.loop.experiment_base):
            TrainConfig.from_scale(sc, **dict(pairs))      # lesson 03's experiments
        assert default_space(dict(sc.loop.experiment_base)).is_valid({})
        lesson_chain(sc)                                   # lesson 05's chains


def test_forced_device_missing_here_is_refused(monkeypatch):
    import torch
    if not torch.cuda.is_available():
        monkeypatch.setenv("LOOPLAB_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="unset LOOPLAB_DEVICE or set it to cpu"):
            config.device_name()
    if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        monkeypatch.setenv("LOOPLAB_DEVICE", "mps")
        with pytest.raises(RuntimeError, match="no Apple MPS device"):
            config.device_name()
    monkeypatch.setenv("LOOPLAB_DEVICE", " CPU ")
    assert config.device_name() == "cpu"


def test_too_old_python_is_refused_with_what_to_do():
    import looplab
    msg = looplab.python_version_problem((3, 9, 18, "final", 0))
    assert "3.9.18" in msg and "Python 3.10 or newer" in msg
    assert "make lab PYTHON=python3.11" in msg and "Change Kernel" in msg and "Binder" in msg
    assert looplab.python_version_problem((2, 7, 18)) is not None
    for fine in ((3, 10, 0), (3, 11, 7), (3, 13, 0), (4, 0)):
        assert looplab.python_version_problem(fine) is None, fine
    assert looplab.python_version_problem() is None          # the Python running these tests


@pytest.mark.parametrize("files, own, env, want, says", [
    ({"memory.max": "2147483648"}, "0::/\n", {}, 2 * 2**30, "cgroup v2"),                      # a pod's 2 GiB
    ({"memory.max": "max"}, "0::/\n", {}, None, None),                                         # v2, unlimited
    ({"memory/memory.limit_in_bytes": "1073741824"}, "0::/\n", {}, 2**30, "cgroup v1"),
    ({"memory/memory.limit_in_bytes": "9223372036854771712"}, "0::/\n", {}, None, None),      # v1, unlimited
    ({}, "0::/\n", {"MEM_LIMIT": "2147483648"}, 2 * 2**30, "MEM_LIMIT"),                       # JupyterHub's variable
    ({"pod/memory.max": "3000000000", "pod/ctr/memory.max": "max"}, "0::/pod/ctr\n", {}, 3_000_000_000, "pod"),
    ({"memory.max": "4000000000"}, "0::/\n", {"MEM_LIMIT": "2000000000"}, 2_000_000_000, "MEM_LIMIT"),  # tightest wins
    ({}, "0::/\n", {"MEM_LIMIT": "lots"}, None, None),                                        # unreadable: ignored
])
def test_memory_limit_from_cgroup_files_and_jupyterhub(tmp_path, files, own, env, want, says):
    got = cpus.memory_limit(**_fake_cgroup(tmp_path, files, own=own), environ=env)
    if want is None:
        assert got is None
    else:
        assert got[0] == want and says in got[1], got


def test_library_functions_use_the_device_setup_decided(monkeypatch):
    """setup() decides the device once; a library function given none uses it, not $LOOPLAB_DEVICE again."""
    monkeypatch.delenv("LOOPLAB_DEVICE", raising=False)
    assert config.current_setup() is None and config.default_device() == config.device_name()
    s = config.setup(seed=0, scale="smoke", quiet=True)
    assert config.current_setup() is s
    monkeypatch.setenv("LOOPLAB_DEVICE", "tpu")            # changed after setup(): no longer read
    with pytest.raises(ValueError, match="LOOPLAB_DEVICE='tpu'"):
        config.device_name()
    assert config.default_device() == s.device
    from looplab.research.runner import Runner
    assert Runner(config.get_scale("smoke")).device == s.device


def test_a_scale_changes_by_group_and_refuses_an_unknown_group():
    w = config.SCALES["workshop"]
    t = w.changed("mine", tiny=dict(n_layer=2), grading=dict(seeds=9))
    assert (t.name, t.design, t.tiny.n_layer, t.tiny.n_embd, t.grading.seeds, t.loop) == (
        "mine", "mine", 2, w.tiny.n_embd, 9, w.loop)
    with pytest.raises(ValueError, match="unknown Scale group.*'lesson05'"):
        w.changed("mine", lesson05=dict(seeds=9))
    with pytest.raises(TypeError):
        w.changed("mine", grading=dict(grading_seeds=9))       # the old flat name is not a field
