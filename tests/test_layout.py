"""The library's layout, checked statically (issue 32): no re-export shims, no private name crossing a
module line, a core that imports no lesson, and notebooks that import only public names."""
import ast
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "utils" / "looplab"
# The core every lesson builds on; it must not import a lesson's package.
CORE = ("accel", "checks", "config", "corpora", "cpus", "data", "files", "hardware", "model", "ngram", "plots",
        "sample", "textmetrics", "train")
LESSON_PACKAGES = ("economics", "research", "collapse", "grading")
# The course's tooling (the dry run, sizing, times, labs, environment check): one module per job, each with __all__.
TOOLING = ("course.dryrun", "course.sizing", "course.times", "course.labs", "course.envcheck")
NOTEBOOKS = sorted([*REPO.glob("lessons/*.ipynb"), *REPO.glob("solutions/*.ipynb"), *REPO.glob("labs/*.ipynb"),
                    *REPO.glob("instructors/*.ipynb")])


def _modules():
    return sorted(LIB.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` reads, as an absolute name."""
    if not node.level:
        return node.module or ""
    pkg = _name(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    base = pkg[:len(pkg) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def unused_imports(source: str) -> list[str]:
    """Names a module imports but neither uses nor lists in ``__all__``."""
    tree = ast.parse(source)
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for a in node.names:
                imported[a.asname or a.name] = node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                imported[a.asname or a.name.split(".")[0]] = node.lineno
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    listed = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            listed = set(ast.literal_eval(node.value))
    return sorted(n for n in imported if n not in used and n not in listed)


def test_the_check_finds_an_unused_import():
    assert unused_imports("from .a import b, c\nprint(b)\n") == ["c"]
    assert unused_imports("from .a import b, c\n__all__ = ['c']\nprint(b)\n") == []
    assert unused_imports("import os.path\nos.sep\n") == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_imports_a_name_it_neither_uses_nor_exports(path):
    assert unused_imports(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(REPO)} imports names it does not use: import each from its home where it is "
        "used, or (in a lesson package's __init__) list it in __all__")


def test_every_name_in_a_packages_all_exists():
    import importlib
    for pkg in LESSON_PACKAGES + TOOLING:
        mod = importlib.import_module(f"looplab.{pkg}")
        missing = [n for n in mod.__all__ if not hasattr(mod, n)]
        assert not missing, f"looplab.{pkg}.__all__ lists {missing}"


def test_no_private_name_crosses_a_module_line():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                bad += [f"{path.relative_to(LIB)}:{node.lineno} {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, f"private names imported across modules (make them public in their one home): {bad}"


def test_the_core_imports_no_lesson_package():
    bad = []
    NOT_CORE = LESSON_PACKAGES + ("course",)       # nor the course's tooling
    for mod in CORE:
        path = LIB / f"{mod}.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(path, node)
                if any(target == f"looplab.{p}" or target.startswith(f"looplab.{p}.") for p in NOT_CORE):
                    bad.append(f"{mod}.py:{node.lineno} imports {target}")
    assert not bad, bad


def _code(nb: Path):
    for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            try:
                yield ast.parse(src)
            except SyntaxError:        # a cell with IPython magics: check its Python lines
                yield ast.parse("\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebooks_use_only_public_library_names(nb):
    trees, bad = list(_code(nb)), []
    lib = set()                   # names bound to looplab modules, library objects, or what they return
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("looplab"):
                bad += [f"from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")]
                lib |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                lib |= {a.asname or a.name for a in node.names if a.name.startswith("looplab")}
    for tree in trees:            # smol = smollm2(): smol is the library's too
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                f = node.value.func
                root = f.id if isinstance(f, ast.Name) else (f.value.id if isinstance(f, ast.Attribute)
                                                             and isinstance(f.value, ast.Name) else None)
                if root in lib:
                    lib |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for tree in trees:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in lib
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                bad.append(f"{node.value.id}.{node.attr}")
    assert not bad, f"{nb.relative_to(REPO)} reaches into private library names: {bad}"


def test_the_readme_names_every_module():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| lesson | package and modules |"):]
    table = table[:table.index("\n\n")]
    missing = [str(p.relative_to(LIB)) for p in _modules()
               if p.name not in ("__init__.py", "__main__.py") and f"`{p.stem}`" not in table]
    packages = sorted({p.parent.name for p in _modules() if p.parent != LIB})
    missing += [f"looplab.{pkg}" for pkg in packages if f"`looplab.{pkg}`" not in table]
    assert not missing, f"README's library table does not name: {missing}"


CELL_LINES = 30   # issue 32: a lesson cell shows one step; the glue it needs lives in the library


@pytest.mark.parametrize("nb", sorted(REPO.glob("lessons/*.ipynb")), ids=lambda p: p.stem)
def test_no_lesson_code_cell_is_longer_than_30_lines(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    long = {i: len("".join(c["source"]).splitlines()) for i, c in enumerate(cells) if c["cell_type"] == "code"}
    assert not {i: n for i, n in long.items() if n > CELL_LINES}, (
        f"{nb.name}: code cells over {CELL_LINES} lines (cell index: lines); split them where a learner would "
        "pause, or move glue that teaches nothing into the lesson's package")
