"""The layers import in one direction (docs/design.md, "Layers").

base (settings, errors, text, failpoints, db, versions, formats) → fetch → ingest → store → lake →
sample → serve → {defs, app, definitions}: a module may import its own package, the base, and the
packages before its own; never one after it. Read from the source (every `import`, also inside
functions), so a lazy import that closes a cycle is caught too.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "trade_etl"
BASE = {"settings", "errors", "text", "failpoints", "db", "versions", "formats"}
ORDER = ["fetch", "ingest", "store", "lake", "sample", "serve", "top"]
TOP = {"defs", "app", "definitions", "__main__", "__init__"}


def _unit(module: str) -> str:
    """The layer of `trade_etl.<first>…`: a base module, a layer, or 'top'."""
    first = module.split(".")[1] if "." in module else "__init__"
    return "top" if first in TOP else first


def imports(root: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """(importing file, imported trade_etl module, line) for every import in the package."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
                targets = [target] if node.module else names
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found += [(str(path.relative_to(root.parent)), t, node.lineno)
                      for t in targets if t.startswith("trade_etl.")]
    return found


def rank(unit: str) -> int:
    return -1 if unit in BASE else ORDER.index(unit)


def wrong_imports(root: Path = PACKAGE) -> list[str]:
    wrong = []
    for where, target, line in imports(root):
        source = _unit(where.removesuffix(".py").replace("/", "."))
        dest = _unit(target)
        if source == dest:
            continue
        if source in BASE and dest not in BASE:
            wrong.append(f"{where}:{line} imports {target}: the base imports no layer")
        elif rank(dest) > rank(source):
            wrong.append(f"{where}:{line} imports {target}: {dest} comes after {source}")
    return wrong


def test_every_import_points_down_or_sideways():
    wrong = wrong_imports()
    assert not wrong, "\n".join(wrong)


def test_formats_import_nothing_of_the_project_but_the_base():
    wrong = [f"{where}:{line} imports {target}" for where, target, line in imports()
             if where.startswith("trade_etl/formats/")
             and _unit(target) not in BASE | {"formats"}]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_packages():
    edges: dict[str, set[str]] = {}
    for where, target, _ in imports():
        source = _unit(where.removesuffix(".py").replace("/", "."))
        if source != _unit(target):
            edges.setdefault(source, set()).add(_unit(target))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(unit for unit in edges if reaches(unit, unit, {unit}))
    assert cycles == [], f"packages on an import cycle: {cycles}"


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The rule can fail: a fetch module importing the store, lazily, and a format importing
    the fetcher are both reported."""
    root = tmp_path / "trade_etl"
    for name, text in {
        "fetch/pages.py": "def f():\n    from trade_etl.store import freshness\n",
        "formats/manifest.py": "from trade_etl.fetch.pages import f\n",
        "store/freshness.py": "from trade_etl.formats import manifest\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert wrong_imports(root) == [
        "trade_etl/fetch/pages.py:2 imports trade_etl.store: store comes after fetch",
        "trade_etl/formats/manifest.py:1 imports trade_etl.fetch.pages: the base imports no "
        "layer",
    ]
