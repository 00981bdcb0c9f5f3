"""The import rules of the layout, read from the code itself (ast), not hand-listed.

- ``flavors → modelpack ← serving``: core names no flavor and no serving module
  (``modelpack/cli.py``, the one composition root, is the exception);
- inside ``serving/``, each capability folder imports only what its ``__init__``
  docstring allows;
- no module imports a ``_private`` module or name of another package;
- no circle between modules, counting the imports made inside functions too (an
  import deferred to break a circle at start-up is still a circle to a reader);
  imports under ``if TYPE_CHECKING:`` are for annotations only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder in the checkout → the package it is installed as
PACKAGES = {
    "modelpack": "modelpack",
    "flavors": "modelpack.flavors",
    "serving": "modelpack.serving",
}
COMPOSITION_ROOT = "modelpack.cli"
#: tracking's public side: what users call, and what it may not reach past stores.base
TRACKING_PUBLIC = (
    "client", "fluent", "models", "entities", "names", "uri_forms", "search", "resolve",
    "artifact_bytes", "cli", "registry_search", "registry_client", "search_grammar", "fluent_experiments", "fluent_registry", "search_keys", "experiment_search",
)  # fmt: skip
TRACKING_STORE_CODE = ("modelpack.tracking.stores.sql", "modelpack.tracking.stores.rest")


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _type_checking_only(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(sub) for sub in ast.walk(child))
    return skipped


def _imports(module: str) -> Iterator[tuple[str, list[str]]]:
    """(imported module, names taken from it) for each import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, [alias.name for alias in node.names]


def _edges(module: str) -> set[str]:
    """The project modules ``module`` imports (a submodule named in a from-import counts)."""
    found = set()
    for base, names in _imports(module):
        for name in names:
            if f"{base}.{name}" in MODULES:
                found.add(f"{base}.{name}")
            elif base in MODULES:
                found.add(base)
        if not names and base in MODULES:
            found.add(base)
    found.discard(module)
    return found


GRAPH = {module: _edges(module) for module in MODULES}


def _circles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(GRAPH):
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(GRAPH[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _package_of(module: str) -> str:
    """The top package a module belongs to: core, flavors or serving."""
    for package in sorted(PACKAGES.values(), key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return module


def test_the_graph_is_read_from_the_code() -> None:
    # a guard against a reader that silently finds nothing
    assert all(f"modelpack.tracking.{public}" in MODULES for public in TRACKING_PUBLIC)
    assert "modelpack.tracking.stores.sql.engine" in GRAPH["modelpack.tracking.stores.sql.runs"]
    assert "modelpack.serving.http.app" in GRAPH["modelpack.serving.http.server"]
    assert "modelpack.pyfunc_model" in GRAPH["modelpack.serving.http.app"]


def test_no_circles_between_modules() -> None:
    assert _circles() == []


@pytest.mark.parametrize(
    ("owner", "forbidden"),
    [
        ("modelpack", ("modelpack.flavors", "modelpack.serving")),
        ("modelpack.flavors", ("modelpack.serving",)),
        ("modelpack.serving", ("modelpack.flavors",)),
        ("modelpack.serving.http", ("modelpack.serving.batch", "modelpack.serving.container")),
        ("modelpack.serving.batch", ("modelpack.serving.http", "modelpack.serving.container")),
        ("modelpack.serving.container", ("modelpack.serving.http", "modelpack.serving.batch")),
        (
            "modelpack.serving.envs",
            ("modelpack.serving.http", "modelpack.serving.batch", "modelpack.serving.container"),
        ),
        (
            "modelpack.serving.encoding",
            ("modelpack.serving.http", "modelpack.serving.batch", "modelpack.serving.container"),
        ),
        (
            "modelpack.serving.parsing",
            ("modelpack.serving.http", "modelpack.serving.batch", "modelpack.serving.container"),
        ),
        # the two tracking stores stand side by side behind stores.base
        ("modelpack.tracking.stores.sql", ("modelpack.tracking.stores.rest",)),
        ("modelpack.tracking.stores.rest", ("modelpack.tracking.stores.sql",)),
        # snapshots and artifact stores serve every store and know none
        ("modelpack.tracking.snapshots", ("modelpack.tracking.stores",)),
        (
            "modelpack.tracking.artifact_stores",
            ("modelpack.tracking.stores", "modelpack.tracking.snapshots"),
        ),
        *[(f"modelpack.tracking.{public}", TRACKING_STORE_CODE) for public in TRACKING_PUBLIC],
        # config reads URIs: the parsers of both stores, not their code
        ("modelpack.tracking.config", ("modelpack.tracking.stores.sql.engine",)),
    ],
)
def test_imports_point_one_way(owner: str, forbidden: tuple[str, ...]) -> None:
    offenders = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _package_of(module) == _package_of(owner)
        and _inside(module, owner)
        and module != COMPOSITION_ROOT
        for target in targets
        if any(_inside(target, package) for package in forbidden)
    ]
    assert offenders == []


def test_no_private_module_or_name_imported_across_packages() -> None:
    offenders = []
    for module in MODULES:
        for base, names in _imports(module):
            if not base.startswith("modelpack"):
                continue
            private_module = any(part.startswith("_") for part in base.split("."))
            own = (
                _package_of(base) == _package_of(module)
                and base.rpartition(".")[0] == module.rpartition(".")[0]
            )
            if private_module and not own:
                offenders.append(f"{module} imports the private module {base}")
            offenders += [
                f"{module} imports {base}.{name}"
                for name in names
                if name.startswith("_")
                and not name.startswith("__")
                and _package_of(base) != _package_of(module)
            ]
    assert offenders == []
