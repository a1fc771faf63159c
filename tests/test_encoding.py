"""Every text file the library opens names its encoding (UTF-8): Windows' locale is cp1252.

Without ``encoding=``, ``open`` / ``Path.read_text`` / ``Path.write_text`` use the locale's encoding,
which on Windows cannot write the course's ✓, ≈ or σ̂ (and reads UTF-8 files as mojibake).
tests/test_labs.py runs the lab generator under an ASCII locale; this test reads the source so
that a new call without an encoding is caught wherever it is.
"""
import ast
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "utils" / "looplab"
TEXT_METHODS = {"read_text", "write_text"}


def _mode(call: ast.Call, position: int) -> str | None:
    """The mode string of an open-like call (positional ``position`` or ``mode=``), if literal."""
    for kw in call.keywords:
        if kw.arg == "mode" and isinstance(kw.value, ast.Constant):
            return kw.value.value
    if len(call.args) > position and isinstance(call.args[position], ast.Constant):
        return call.args[position].value
    return None


def _needs_encoding(call: ast.Call) -> bool:
    """Is this call a text-mode file open/read/write?"""
    f = call.func
    if isinstance(f, ast.Name) and f.id == "open":                   # open(path, mode)
        return "b" not in (_mode(call, 1) or "r")
    if isinstance(f, ast.Attribute) and f.attr == "fdopen":          # os.fdopen(fd, mode)
        return "b" not in (_mode(call, 1) or "r")
    if isinstance(f, ast.Attribute) and f.attr == "open":            # Path.open(mode); not ChainStore.open(cfg)
        literal_first = not call.args or isinstance(call.args[0], ast.Constant)
        return literal_first and "b" not in (_mode(call, 0) or "r")
    return isinstance(f, ast.Attribute) and f.attr in TEXT_METHODS


def missing_encodings(folder: Path = LIBRARY) -> list[str]:
    out = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and _needs_encoding(node)
                    and not any(kw.arg == "encoding" for kw in node.keywords)):
                out.append(f"{path.relative_to(folder)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return out


def test_every_text_open_in_the_library_names_its_encoding():
    missing = missing_encodings()
    assert not missing, "add encoding=\"utf-8\" to:\n" + "\n".join(missing)


def test_the_scan_sees_what_it_should(tmp_path):
    (tmp_path / "m.py").write_text(
        "from pathlib import Path\n"
        "open('a')\nopen('a', 'w')\nPath('a').read_text()\nPath('a').write_text('x')\nPath('a').open('a')\n"
        "open('a', 'rb')\nopen('a', encoding='utf-8')\nPath('a').read_text(encoding='utf-8')\n"
        "Path('a').open('rb')\nstore.open(config, fresh=True)\nos.fdopen(3, 'wb')\n", encoding="utf-8")
    assert [line.split(":")[1] for line in missing_encodings(tmp_path)] == ["2", "3", "4", "5", "6"]
