"""Flavor discovery through the ``modelpack.flavors`` entry-point group.

Discovery is lazy (nothing is imported until a flavor is asked for) and cached. A
plugin that fails to import is reported when it is asked for, and never stops the
others from loading.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

from modelpack.errors import FlavorNotFound, ModelFormatError
from modelpack.types import Flavor

ENTRY_POINT_GROUP = "modelpack.flavors"
_MLFLOW_ONLY_LOADERS = frozenset({"mlflow.pyfunc.model"})

_INSTALL_HINT = (
    "install a package that provides it (flavors register under the entry-point group "
    f"'{ENTRY_POINT_GROUP}')"
)


@functools.cache
def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


@functools.cache
def _load(name: str) -> Flavor:
    entry_point = _entry_points()[name]
    try:
        obj: Any = entry_point.load()
    except Exception as exc:  # a broken plugin must not take the others down
        raise FlavorNotFound(
            f"flavor '{name}' is installed but failed to load "
            f"({type(exc).__name__}: {exc}); reinstall the package that provides it"
        ) from exc
    if not isinstance(obj, Flavor):
        raise FlavorNotFound(
            f"entry point '{name}' ({entry_point.value}) does not provide a Flavor: it needs "
            "'name', 'loader_modules' and 'load_pyfunc'"
        )
    return obj


def installed_flavors() -> list[str]:
    """Names of every flavor registered in the environment, sorted."""
    return sorted(_entry_points())


def get_flavor(name: str) -> Flavor:
    """The flavor plugin registered under ``name``.

    >>> get_flavor("sklearn").name
    'sklearn'
    """
    if name not in _entry_points():
        raise FlavorNotFound(
            f"no flavor named '{name}'; installed flavors: "
            f"{', '.join(installed_flavors()) or 'none'}; to add one, {_INSTALL_HINT}"
        )
    return _load(name)


def flavor_for_loader(loader_module: str, native_blocks: list[str]) -> Flavor:
    """The plugin that can load a model whose ``python_function`` block names ``loader_module``.

    ``native_blocks`` are the other flavor keys in ``MLmodel``; they are tried first so a
    directory saved by MLflow (``mlflow.sklearn``) loads with our plugin of the same name.
    """
    if loader_module in _MLFLOW_ONLY_LOADERS:
        raise FlavorNotFound(
            "this is a custom MLflow Python model (loader 'mlflow.pyfunc.model'): its code "
            "needs MLflow to run; load it with mlflow.pyfunc, or re-save it with "
            "modelpack.pyfunc.save_model"
        )
    names = [name for name in native_blocks if name in _entry_points()]
    names += [name for name in installed_flavors() if name not in names]
    broken: list[str] = []
    for name in names:
        try:
            flavor = _load(name)
        except FlavorNotFound:
            broken.append(name)
            continue
        if loader_module in flavor.loader_modules:
            return flavor
    hint = f" (flavors that failed to load: {', '.join(broken)})" if broken else ""
    raise ModelFormatError(
        f"no installed flavor can load models saved by '{loader_module}'{hint}; installed "
        f"flavors: {', '.join(installed_flavors()) or 'none'}; to add one, {_INSTALL_HINT}"
    )


def clear_cache() -> None:
    """Forget discovered plugins, so newly installed ones are seen (used by tests)."""
    _entry_points.cache_clear()
    _load.cache_clear()


__all__ = [
    "ENTRY_POINT_GROUP",
    "clear_cache",
    "flavor_for_loader",
    "get_flavor",
    "installed_flavors",
]
