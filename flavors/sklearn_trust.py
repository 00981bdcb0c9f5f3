"""Which skops payloads load without ``trust=True``: exact names, checked before loading.

A skops file is a zip whose ``schema.json`` describes the saved object as a tree of
nodes; each node names its loader (how skops rebuilds it) and a type (module and name).
skops trusts whatever type a caller lists, so modelpack decides first: it reads the
schema and refuses the file, before anything in it is imported or built, unless every
node is on this allow-list for what its loader does with it:

- instances (``ObjectNode``): scikit-learn's public estimators
  (``sklearn_estimator_names``) and the internal types fitted models hold, all by
  exact name; never "anything under ``sklearn.``";
- containers and arrays: builtins, numpy arrays and scalar types, ``RandomState`` and
  the real bit generators, scipy sparse matrices and arrays;
- type objects (``TypeNode``, which skops may call, e.g. ``str`` for dict keys):
  builtin scalars and containers, numpy scalar types;
- functions (``FunctionNode``: ``FunctionTransformer.func`` and any callable parameter):
  only the elementwise ufuncs in ``SAFE_UFUNCS``. Bound methods, ``functools.partial``
  and ``operator`` callables are refused: they reach any method of any object.

The ``skops_trusted_types`` an MLmodel may carry are never read here: a file cannot
vouch for itself.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from pickle import whichmodule  # type: ignore[attr-defined]
from typing import Any

from modelpack.errors import ModelFormatError, UntrustedPayloadError
from modelpack.flavors.sklearn_estimator_names import ESTIMATOR_NAMES
from modelpack.flavors.sklearn_trusted_names import (
    BIT_GENERATOR_NAMES,
    BUILTIN_CONTAINERS,
    BUILTIN_SCALARS,
    DEFAULT_FUNCTION_NAMES,
    SAFE_SCIPY_UFUNC_NAMES,
    SAFE_UFUNC_NAMES,
    SKLEARN_INTERNAL_NAMES,
    SKLEARN_LOSS_NAMES,
)

SCHEMA_FILE = "schema.json"
#: The skops protocol whose loaders this module knows; older files use other loaders.
SKOPS_PROTOCOL = 2
#: Decoded size limits: ``schema.json`` alone, and every member of the zip together.
MAX_SCHEMA_BYTES = 256 * 2**20
MAX_EXPANSION = 64

#: Loaders that rebuild a callable that is not a plain function: refused without trust.
_CALLABLE_LOADERS = {
    "MethodNode": "a bound method",
    "PartialNode": "functools.partial",
    "OperatorFuncNode": "an operator.attrgetter/itemgetter/methodcaller",
}


def skops_type_name(obj: Any) -> str:
    """The name skops writes for ``obj``: its module (as pickle finds it), a dot, its name."""
    return f"{whichmodule(obj, obj.__name__)}.{obj.__name__}"


@cache
def _numpy_scalar_names() -> frozenset[str]:
    import numpy as np

    return frozenset(skops_type_name(t) for t in set(np.sctypeDict.values()))


def _np() -> Any:
    import numpy as np

    return np


#: For each skops loader, the exact types it may rebuild from an untrusted file; each
#: set is built the first time a file needs it.
_ALLOWED: dict[str, Callable[[], frozenset[str]]] = {
    "ObjectNode": lambda: ESTIMATOR_NAMES | SKLEARN_INTERNAL_NAMES,
    "TreeNode": lambda: frozenset({"sklearn.tree._tree.Tree"}),
    "LossNode": lambda: SKLEARN_LOSS_NAMES,
    "DictNode": lambda: frozenset(
        {"builtins.dict", "collections.OrderedDict", "sklearn.utils._bunch.Bunch"}
    ),
    "DefaultDictNode": lambda: frozenset({"collections.defaultdict"}),
    "ListNode": lambda: frozenset({"builtins.list"}),
    "TupleNode": lambda: frozenset({"builtins.tuple"}),
    "SetNode": lambda: frozenset({"builtins.set"}),
    "SliceNode": lambda: frozenset({"builtins.slice"}),
    "BytesNode": lambda: frozenset({"builtins.bytes"}),
    "BytearrayNode": lambda: frozenset({"builtins.bytearray"}),
    "JsonNode": lambda: BUILTIN_SCALARS,
    "TypeNode": lambda: BUILTIN_SCALARS | BUILTIN_CONTAINERS | _numpy_scalar_names(),
    "FunctionNode": lambda: _safe_function_names(),
    "NdArrayNode": lambda: frozenset({skops_type_name(_np().ndarray)}) | _numpy_scalar_names(),
    "MaskedArrayNode": lambda: frozenset({skops_type_name(_np().ma.MaskedArray)}),
    "DTypeNode": lambda: frozenset({"numpy.dtype"}),
    "RandomStateNode": lambda: frozenset({skops_type_name(_np().random.RandomState)}),
    "RandomGeneratorNode": lambda: frozenset({skops_type_name(_np().random.Generator)}),
    "SparseMatrixNode": lambda: _sparse_names(),
}


@cache
def _allowed(loader: str) -> frozenset[str] | None:
    build = _ALLOWED.get(loader)
    return None if build is None else build()


def _safe_function_names() -> frozenset[str]:
    import numpy as np
    import scipy.special

    funcs = [getattr(np, name) for name in SAFE_UFUNC_NAMES]
    funcs += [getattr(scipy.special, name) for name in SAFE_SCIPY_UFUNC_NAMES]
    names: frozenset[str] = DEFAULT_FUNCTION_NAMES
    return frozenset(skops_type_name(f) for f in funcs) | names


def _sparse_names() -> frozenset[str]:
    import scipy.sparse

    kinds = ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
    return frozenset(
        skops_type_name(getattr(scipy.sparse, f"{kind}_{shape}"))
        for kind in kinds
        for shape in ("matrix", "array")
        if hasattr(scipy.sparse, f"{kind}_{shape}")
    )


def read_schema(path: Path) -> dict[str, Any]:
    """``schema.json`` of the skops file at ``path``, size-checked before it is decoded."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(info.file_size for info in members)
            limit = MAX_EXPANSION * path.stat().st_size + MAX_SCHEMA_BYTES
            if total > limit:
                raise ModelFormatError(
                    f"'{path.name}' would expand to {total} bytes, more than {limit}; "
                    "it is not a skops file modelpack loads"
                )
            info = archive.getinfo(SCHEMA_FILE)
            if info.file_size > MAX_SCHEMA_BYTES:
                raise ModelFormatError(
                    f"'{path.name}': {SCHEMA_FILE} is {info.file_size} bytes, more than "
                    f"the {MAX_SCHEMA_BYTES} a model's schema may have"
                )
            with archive.open(info) as handle:
                raw = handle.read(MAX_SCHEMA_BYTES + 1)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError):
        raise ModelFormatError(f"'{path.name}' is not a readable skops file") from None
    try:
        schema = json.loads(raw)
    except (ValueError, RecursionError):
        raise ModelFormatError(f"'{path.name}': {SCHEMA_FILE} is not valid JSON") from None
    if not isinstance(schema, dict):
        raise ModelFormatError(f"'{path.name}': {SCHEMA_FILE} is not a JSON object")
    return schema


def _nodes(schema: dict[str, Any], file_name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every node anywhere in the schema, as ``(loader, "module.name", node)``.

    The walk visits every JSON object, not only the children skops would follow, so no
    node skops builds can be missed (a node it reuses by id was checked where it first
    appeared).
    """
    stack: list[Any] = [schema]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
            continue
        if not isinstance(value, dict):
            continue
        if "__loader__" in value:
            loader, module, name = (value.get(k) for k in ("__loader__", "__module__", "__class__"))
            if not all(isinstance(part, str) for part in (loader, module, name)):
                raise ModelFormatError(
                    f"'{file_name}': a node in {SCHEMA_FILE} lacks a string __loader__, "
                    "__module__ or __class__; the file is corrupt"
                )
            yield str(loader), f"{module}.{name}", value
        stack.extend(value.values())


def _bit_generator(node: dict[str, Any]) -> str:
    """The bit generator a ``RandomGeneratorNode`` will call, which numpy stores as data."""
    try:
        stored = node["content"]["bit_generator"]["content"]["bit_generator"]["content"]
        name = json.loads(stored)
    except (KeyError, TypeError, ValueError):
        return "numpy.random.<unreadable bit generator>"
    return f"numpy.random.{name}"


def _refusal(loader: str, type_name: str, node: dict[str, Any]) -> tuple[str, str] | None:
    """``(name, why)`` when this node is not on the allow-list, else None."""
    if loader == "CachedNode":
        return None  # a reference to a node defined (and checked) earlier in the file
    if loader in _CALLABLE_LOADERS:
        if loader == "MethodNode":
            content = node.get("content")
            method = content.get("func") if isinstance(content, dict) else None
            type_name = f"{type_name}.{method}"
        return type_name, _CALLABLE_LOADERS[loader]
    allowed = _allowed(loader)
    if allowed is None:
        return f"{type_name} (skops loader {loader})", "a loader modelpack does not allow"
    if type_name not in allowed:
        return type_name, "not on the allow-list"
    if loader == "RandomGeneratorNode":
        bit_generator = _bit_generator(node)
        if bit_generator.removeprefix("numpy.random.") not in BIT_GENERATOR_NAMES:
            return bit_generator, "not a numpy bit generator"
    return None


def check_skops_file(path: Path, *, trust: bool) -> list[str]:
    """Check the skops file at ``path``; return the type names to pass skops as trusted.

    Raises UntrustedPayloadError naming the refused types (never data) when the file
    needs anything off the allow-list and ``trust`` is false; nothing from the file has
    been imported or built at that point.
    """
    schema = read_schema(path)
    names: set[str] = set()
    refused: dict[str, str] = {}
    for loader, type_name, node in _nodes(schema, path.name):
        names.add(type_name)
        if loader == "MethodNode":
            content = node.get("content")
            if isinstance(content, dict):
                names.add(f"{type_name}.{content.get('func')}")
        elif loader == "RandomGeneratorNode":
            names.add(_bit_generator(node))
        elif loader == "TreeNode":
            names.add("sklearn.tree._tree.Tree")
        refusal = _refusal(loader, type_name, node)
        if refusal is not None:
            refused.setdefault(*refusal)
    if trust:
        return sorted(names)
    protocol = schema.get("protocol")
    if protocol != SKOPS_PROTOCOL or isinstance(protocol, bool):
        refused.setdefault("a skops protocol", f"only protocol {SKOPS_PROTOCOL} is checked")
    if refused:
        listed = "; ".join(f"{name[:120]} ({why})" for name, why in sorted(refused.items())[:5])
        more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
        raise UntrustedPayloadError(
            f"'{path.name}' needs types outside modelpack's skops allow-list: {listed}{more}. "
            "Load it with trust=True only if you trust whoever saved it"
        )
    return sorted(names)


__all__ = [
    "check_skops_file",
    "read_schema",
    "skops_type_name",
]
