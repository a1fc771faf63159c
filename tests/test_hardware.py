"""looplab.hardware: the MFU denominator is the training device's dense peak in its training dtype, and
on CUDA it can never come from a small matmul (issue 29: a 1024-cube bf16 matmul on an H200 ran at
154 TFLOP/s against 795 for an 8192-cube one, which overstated MFU about five times)."""
import pytest

import looplab.hardware as hw


@pytest.fixture(autouse=True)
def fresh_cache():
    hw._peak.cache_clear()
    yield
    hw._peak.cache_clear()


@pytest.mark.parametrize("name,key,tflops", [
    ("NVIDIA H100 80GB HBM3", "H100", 989), ("NVIDIA H100 PCIe", "H100 PCIe", 756),
    ("NVIDIA H200", "H200", 989), ("NVIDIA H200 NVL", "H200 NVL", 835), ("Tesla T4", "T4", 65),
    ("NVIDIA A100-SXM4-80GB", "A100", 312), ("NVIDIA L4", "L4", 121),
])
def test_datasheet_is_chosen_by_device_name(name, key, tflops):
    sheet = hw.datasheet_for(name)
    assert sheet is hw.DENSE_16BIT[key] and sheet.flops == tflops * 1e12
    assert "http" in sheet.source or "datasheet" in sheet.source


def test_cuda_peak_is_the_datasheet_for_a_known_gpu(monkeypatch):
    monkeypatch.setattr(hw, "cuda_device_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(hw, "measure_matmul_flops", lambda **kw: pytest.fail("a known GPU is not measured"))
    pk = hw.peak("cuda", "bfloat16")
    assert pk.flops == 989e12 and pk.how.startswith("datasheet") and "h200" in pk.how.lower()


def test_cuda_peak_of_an_unknown_gpu_is_a_large_matmul(monkeypatch):
    seen = {}

    def fake_measure(n=1024, **kw):
        seen["n"] = n
        return 1.0e14
    monkeypatch.setattr(hw, "cuda_device_name", lambda: "Some Future GPU")
    monkeypatch.setattr(hw, "measure_matmul_flops", fake_measure)
    pk = hw.peak("cuda", "bfloat16")
    assert seen["n"] >= hw.GPU_MIN_MATMUL_N and pk.how.startswith("measured") and str(seen["n"]) in pk.how


def test_a_t4_has_no_bf16_datasheet_figure(monkeypatch):
    """A T4 trains in fp16 (looplab.accel); asked for bf16 it is measured, not given its fp16 figure."""
    monkeypatch.setattr(hw, "cuda_device_name", lambda: "Tesla T4")
    monkeypatch.setattr(hw, "measure_matmul_flops", lambda n=1024, **kw: 2e13)
    assert hw.peak("cuda", "float16").flops == 65e12
    assert hw.peak("cuda", "bfloat16").how.startswith("measured")


def test_a_small_matmul_cannot_stand_for_a_gpu_peak():
    with pytest.raises(ValueError, match="n=1024 is too small to stand for a GPU's peak.*n >= 4096"):
        hw.measure_matmul_flops(n=1024, device="cuda")


def test_cpu_peak_is_measured_here():
    pk = hw.peak("cpu", "float32")
    assert pk.flops > 1e8 and pk.how.startswith("measured") and hw.peak_flops("cpu") == pk.flops


def test_sizing_and_economics_read_the_same_datasheets():
    from looplab.economics import CHIPS
    from looplab.course.sizing import H100, T4
    assert CHIPS["H100"].peak_flops == H100.peak_flops == hw.DENSE_16BIT["H100"].flops
    assert T4.peak_flops == hw.DENSE_16BIT["T4"].flops
