"""looplab.files: all-or-nothing writes, the download cache folder, installed data packages."""
import json

import pytest

from looplab import files


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    p = tmp_path / "sub" / "a.json"
    files.atomic_write_json(p, {"b": 2, "a": 1})
    assert p.read_text(encoding="utf-8") == '{\n "a": 1,\n "b": 2\n}\n'
    files.atomic_write_text(p, "é\n")
    assert p.read_bytes() == "é\n".encode("utf-8")
    assert [q.name for q in p.parent.iterdir()] == ["a.json"]


def test_a_failed_write_or_check_keeps_the_old_file(tmp_path):
    p = tmp_path / "a.txt"
    files.atomic_write_text(p, "old")
    with pytest.raises(TypeError, match="writes a str"):
        files.atomic_write_text(p, 12345)

    def refuse(tmp):
        assert tmp.read_bytes() == b"new" and tmp.parent == p.parent
        raise ValueError("wrong format")

    with pytest.raises(ValueError, match="wrong format"):
        files.atomic_write_bytes(p, b"new", check=refuse)
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["a.txt"]
    seen = []
    files.atomic_write_bytes(p, b"new", check=lambda tmp: seen.append(json.dumps(tmp.read_text())))
    assert p.read_text() == "new" and seen == ['"new"']


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    assert files.cache_dir() == tmp_path
    monkeypatch.delenv("LOOPLAB_CACHE")
    assert files.cache_dir().parts[-2:] == (".cache", "looplab")


def test_package_dir_finds_without_importing():
    assert files.package_dir("no_such_package_looplab") is None
    d = files.package_dir("json")
    assert d is not None and (d / "__init__.py").is_file()
    assert files.package_dir("math") is None        # a module, not a package



def test_runs_dir_is_one_place_for_every_lesson(monkeypatch, tmp_path):
    monkeypatch.delenv("LOOPLAB_BUILD", raising=False)
    (tmp_path / "lessons").mkdir()
    monkeypatch.chdir(tmp_path / "lessons")          # a notebook in the course's lessons/
    assert files.runs_dir("03", "workshop") == tmp_path / "build" / "03_an_llm_runs_the_experiments" / "workshop"
    monkeypatch.chdir(tmp_path)                      # anywhere else: ./build
    assert files.runs_dir("05", "smoke") == tmp_path / "build" / "05_independent_grading" / "smoke"
    monkeypatch.setenv("LOOPLAB_BUILD", str(tmp_path / "elsewhere"))
    assert files.runs_dir("04", "full") == tmp_path / "elsewhere" / "04_model_collapse" / "full"
    from looplab.research.classroom import lesson03_ledger_path
    assert lesson03_ledger_path("smoke") == tmp_path / "elsewhere" / "03_an_llm_runs_the_experiments" / "smoke" / "ledger.jsonl"
    with pytest.raises(ValueError, match=r"lesson='02' keeps no runs; choose one of 03, 04, 05"):
        files.runs_dir("02", "smoke")
