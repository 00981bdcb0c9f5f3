"""Loading skops files: the allow-list first, then ``skops.io`` without its slow start.

``import skops.io`` builds skops' default trusted-type list from
``sklearn.utils.all_estimators()``, which imports nearly every scikit-learn module and
was most of the time a model took to load. modelpack passes skops the exact types of
each file (checked by ``sklearn_trust``), so it only needs skops' own defaults to be
there, not to be rebuilt: before the first ``import skops.io`` it provides skops'
``_trusted_types`` module with the same values, the estimator names coming from the
committed list (``sklearn_estimator_names``). When the installed scikit-learn is not
the one that list was generated from, or skops was imported already, skops builds its
list itself as before: slower, never different.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from modelpack.errors import DependencyMissing, ModelFormatError
from modelpack.flavors.sklearn_estimator_names import ESTIMATOR_NAMES, SKLEARN_VERSION
from modelpack.flavors.sklearn_tree_check import check_trees
from modelpack.flavors.sklearn_trust import check_skops_file, skops_type_name

_TRUSTED_TYPES = "skops.io._trusted_types"
#: skops' own default-trusted internal scikit-learn types (``SKLEARN_INTERNAL_TYPE_NAMES``).
_SKOPS_INTERNAL = (
    *(
        f"sklearn._loss.link.{name}"
        for name in (
            "HalfLogitLink",
            "IdentityLink",
            "Interval",
            "LogitLink",
            "LogLink",
            "MultinomialLogit",
        )
    ),
    *(
        f"sklearn._loss.loss.{name}"
        for name in (
            "AbsoluteError",
            "ExponentialLoss",
            "HalfBinomialLoss",
            "HalfGammaLoss",
            "HalfMultinomialLoss",
            "HalfPoissonLoss",
            "HalfSquaredError",
            "HuberLoss",
            "PinballLoss",
        )
    ),
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
)


def _public_names(module: types.ModuleType, oftype: Any) -> list[str]:
    """skops' ``get_public_type_names``: objects of ``oftype`` that ``dir(module)`` shows."""
    root = module.__name__.rpartition(".")[0]
    objects: dict[str, Any] = {}
    for attr in dir(module):
        obj: Any = getattr(module, attr)
        if isinstance(obj, oftype):
            objects[obj.__name__] = obj
    modules = _which_modules(objects)
    return sorted({f"{modules[name]}.{name}" for name in objects if modules[name].startswith(root)})


def _which_modules(objects: dict[str, Any]) -> dict[str, str]:
    """``pickle.whichmodule`` for many objects at once, in one pass over ``sys.modules``.

    An object without ``__module__`` (scipy's ufuncs) belongs to the first module in
    ``sys.modules`` that has it under its name. ``whichmodule`` asks every module for
    every name with ``getattr``, which took seconds for scipy's 230 ufuncs; this looks in
    each module's namespace instead, the same answer unless a module offers the object
    only through a module-level ``__getattr__`` (then skops trusts one ufunc less).
    """
    found: dict[str, str] = {}
    pending: dict[str, Any] = {}
    for name, obj in objects.items():
        module_name = getattr(obj, "__module__", None)
        if module_name is None:
            pending[name] = obj
        else:
            found[name] = module_name
    for module_name, module in sys.modules.copy().items():
        if not pending:
            break
        if module_name in ("__main__", "__mp_main__") or module is None:
            continue
        namespace = getattr(module, "__dict__", {})
        for name in pending.keys() & namespace.keys():
            if namespace[name] is pending[name]:
                found[name] = module_name
                del pending[name]
    found.update(dict.fromkeys(pending, "__main__"))
    return found


def _trusted_types_module() -> types.ModuleType | None:
    """skops' ``_trusted_types`` with the values skops computes, or None if not cheap."""
    import sklearn

    if sklearn.__version__ != SKLEARN_VERSION:
        return None
    import warnings

    import numpy as np
    import scipy.special

    module = types.ModuleType(_TRUSTED_TYPES, "skops' default trusted types, cached by modelpack")
    module.PRIMITIVES_TYPES = [int, float, str, bool]  # type: ignore[attr-defined]
    module.PRIMITIVE_TYPE_NAMES = [f"builtins.{t.__name__}" for t in module.PRIMITIVES_TYPES]  # type: ignore[attr-defined]
    module.CONTAINER_TYPES = [list, set, map, tuple]  # type: ignore[attr-defined]
    module.CONTAINER_TYPE_NAMES = [f"builtins.{t.__name__}" for t in module.CONTAINER_TYPES]  # type: ignore[attr-defined]
    module.SKLEARN_ESTIMATOR_TYPE_NAMES = sorted(ESTIMATOR_NAMES)  # type: ignore[attr-defined]
    module.SKLEARN_INTERNAL_TYPE_NAMES = list(_SKOPS_INTERNAL)  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        scipy_ufuncs = set(_public_names(scipy.special, np.ufunc))
        probe = getattr(scipy.special, "exp10", None)
        if probe is not None and not isinstance(probe, np.ufunc):
            return None  # scipy >= 2 wraps ufuncs; let skops find the wrapper type itself
    module.SCIPY_UFUNC_TYPE_NAMES = sorted(scipy_ufuncs)  # type: ignore[attr-defined]
    module.NUMPY_UFUNC_TYPE_NAMES = _public_names(np, np.ufunc)  # type: ignore[attr-defined]
    module.NUMPY_RANDOM_BIT_GENERATOR_TYPE_NAMES = sorted(  # type: ignore[attr-defined]
        f"numpy.random.{attr}"
        for attr in dir(np.random)
        if isinstance(obj := getattr(np.random, attr), type)
        and issubclass(obj, np.random.BitGenerator)
        and obj is not np.random.BitGenerator
    )
    module.NUMPY_DTYPE_TYPE_NAMES = sorted(  # type: ignore[attr-defined]
        {name for t in np.sctypeDict.values() if (name := skops_type_name(t)).startswith("numpy")}
    )
    module.__dict__["__getattr__"] = _from_real_module
    return module


def _from_real_module(name: str) -> Any:
    """A value a newer skops needs and the cache lacks: run skops' real module for it."""
    import importlib.machinery
    import importlib.util

    if name.startswith("__"):
        raise AttributeError(name)
    package = sys.modules["skops.io"]
    spec = importlib.machinery.PathFinder.find_spec(_TRUSTED_TYPES, package.__path__)
    if spec is None or spec.loader is None:
        raise AttributeError(name)
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)
    return getattr(real, name)


def import_skops_io() -> Any:
    """``skops.io``, imported without rebuilding its trusted-type list when possible."""
    if "skops.io" not in sys.modules and _TRUSTED_TYPES not in sys.modules:
        try:
            import skops  # noqa: F401  (the package alone is light)
        except ImportError:
            raise DependencyMissing(
                "this model was saved with skops; install it: pip install skops"
            ) from None
        cached = _trusted_types_module()
        if cached is not None:
            sys.modules[_TRUSTED_TYPES] = cached
    try:
        import skops.io
    except ImportError as exc:
        sys.modules.pop(_TRUSTED_TYPES, None)
        raise DependencyMissing(
            f"skops could not be imported ({exc}); install it: pip install skops"
        ) from None
    return skops.io


def load_skops(path: Path, *, trust: bool) -> Any:
    """The object in the skops file at ``path``, refused unless allowed (or trusted)."""
    trusted = check_skops_file(path, trust=trust)
    skops_io = import_skops_io()
    try:
        model = skops_io.load(path, trusted=trusted)
    except Exception as exc:
        raise ModelFormatError(
            f"'{path.name}' could not be loaded by skops ({type(exc).__name__})"
        ) from exc
    if not trust and "sklearn.tree._tree.Tree" in trusted:
        check_trees(model, path.name)
    return model


__all__ = ["import_skops_io", "load_skops"]
