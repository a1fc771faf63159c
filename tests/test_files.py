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


def test_old_names_still_import():
    from looplab.data import atomic_write_text, cache_dir
    from looplab.economics import cache_dir as cache_dir2
    assert atomic_write_text is files.atomic_write_text and cache_dir is cache_dir2 is files.cache_dir
