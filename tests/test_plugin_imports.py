"""Built-in plugins depend on the core and on the synthetic-corpus library, never on each other;
the core depends on no plugin at all.

A plugin that imports another breaks when that one is disabled (``WORKBENCH_DISABLE_PLUGINS``) or
its entry point removed, which the design promises never happens. This test reads every module
under ``plugins/`` with :mod:`ast` (imports inside functions included) and fails on an import of
another plugin's package that the allow-list below does not name with its reason. It reads every
module of the core (``workbench/``) the same way and fails on any import of a package under
``plugins/``: the core reaches plugins only through the registry (the specs they register, whose
``LazyFactory`` names a module as a string, imported when called).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGINS_DIR = REPO_ROOT / "plugins"
CORE_DIR = REPO_ROOT / "workbench"

LIBRARIES = {"workbench_synthetic"}
"""Packages under ``plugins/`` that register nothing and that every plugin may import."""

ALLOWED_EDGES: dict[tuple[str, str], str] = {
    # The hf plugin's lm-eval tasks are the few-shot evaluation's exact prompts (same held-out
    # items, demonstrations, instruction line and separators), so that the two evaluations compare
    # item by item; building them with the prompting plugin's own builder is what keeps them
    # identical. Both ship in this one distribution, so the package is always importable: with
    # prompting disabled its specs are not registered, but hf's lm-eval still imports the builder.
    ("workbench_hf", "workbench_prompting"): "lm-eval tasks reuse few-shot's prompt builder",
}
"""``(importer, imported)`` plugin packages allowed to depend on each other, with the reason."""


def plugin_packages() -> set[str]:
    """The top-level packages the ``workbench`` entry-point group registers."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    modules = project["project"]["entry-points"]["workbench"].values()
    return {module.split(":")[0].split(".")[0] for module in modules}


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every absolute import in ``path``, and of every
    ``import_module("...")`` or ``__import__("...")`` of a module named by a literal string."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        elif isinstance(node, ast.Call) and _names_an_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value.split(".")[0]


def _names_an_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def cross_imports() -> dict[tuple[str, str], list[str]]:
    """``(importer, imported)`` -> where, for every import between packages under plugins/."""
    ours = plugin_packages() | LIBRARIES
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PLUGINS_DIR.rglob("*.py")):
        owner = path.relative_to(PLUGINS_DIR).parts[0]
        for line, module in imported_modules(path):
            if module in ours and module != owner:
                where = f"{path.relative_to(REPO_ROOT)}:{line}"
                edges.setdefault((owner, module), []).append(where)
    return edges


def core_imports() -> dict[str, list[str]]:
    """plugin package -> where the core imports it."""
    ours = plugin_packages() | LIBRARIES
    found: dict[str, list[str]] = {}
    for path in sorted(CORE_DIR.rglob("*.py")):
        for line, module in imported_modules(path):
            if module in ours:
                found.setdefault(module, []).append(f"{path.relative_to(REPO_ROOT)}:{line}")
    return found


def test_the_plugin_packages_and_the_library_are_where_the_test_looks():
    packages = plugin_packages()
    assert "workbench_text" in packages and "workbench_synthetic" not in packages
    for name in packages | LIBRARIES:
        assert (PLUGINS_DIR / name / "__init__.py").is_file(), name


def test_no_plugin_imports_another_plugin():
    forbidden = {
        edge: where
        for edge, where in cross_imports().items()
        if edge[1] not in LIBRARIES and edge not in ALLOWED_EDGES
    }
    assert forbidden == {}, (
        "a plugin imports another plugin: move the shared piece into the core or "
        "workbench_synthetic, or allow the edge with its reason in ALLOWED_EDGES"
    )


def test_the_library_imports_no_plugin():
    """``workbench_synthetic`` depends on the core only, so any plugin may import it."""
    edges = {edge: where for edge, where in cross_imports().items() if edge[0] in LIBRARIES}
    assert edges == {}


def test_every_allowed_edge_is_still_used():
    """An allowance outlives its import only by mistake."""
    assert set(ALLOWED_EDGES) <= set(cross_imports())


def test_the_library_is_no_entry_point_and_registers_nothing():
    import workbench_synthetic

    assert not [name for name in vars(workbench_synthetic) if name.startswith("register_")]
    for name in workbench_synthetic.__all__:
        assert hasattr(workbench_synthetic, name), name


def test_the_core_imports_no_plugin():
    """Deleting a built-in plugin's entry point must break nothing in the core: it reaches a
    plugin's code only through the specs the plugin registers (a spec field such as a stage's
    ``proxy_pairs``, or a ``LazyFactory`` naming the module as a string)."""
    assert core_imports() == {}, (
        "the core imports a plugin: have the plugin offer it through a spec the core looks up in "
        "the registry, or move the generic piece into the core"
    )


def test_the_core_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from workbench_rlhf.hacking import x\n"
        "    importlib.import_module('workbench_gpt.model')\n"
    )
    assert [name for _, name in imported_modules(module)] == ["workbench_rlhf", "workbench_gpt"]
