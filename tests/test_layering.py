"""The house's arrows point down: backends <- core <- frontends <- app (static_api/eager_api never meet)."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# For each package, the top-level packages of this project it must never import.
FORBIDDEN = {
    "backends": {"core", "eager_api", "static_api", "dualflow"},
    "core": {"eager_api", "static_api", "dualflow"},
    "eager_api": {"static_api", "dualflow"},
    "static_api": {"eager_api", "dualflow"},
}


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):       # also imports inside functions: a lazy import is still an arrow
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_up_the_house(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    wrong = {str(p.relative_to(ROOT)): sorted(_imports(p) & FORBIDDEN[package]) for p in files}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_checker_sees_lazy_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    import eager_api.nn as nn\n    from static_api import keras\n")
    assert _imports(f) == {"eager_api", "static_api"}
