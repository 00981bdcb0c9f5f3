"""Decision trees from an untrusted file must be well formed before anything predicts.

``sklearn.tree._tree.Tree`` is on the skops allow-list (every forest holds them), but
scikit-learn follows its node arrays without bounds checks: a file whose child or
feature indices point outside the tree makes ``predict`` read outside its memory. So
every ``Tree`` in a model loaded without trust is checked: children after their parent
and inside the tree (a leaf has neither), features inside the input, one value row per
node.
"""

from __future__ import annotations

from typing import Any

from modelpack.errors import ModelFormatError

#: How many objects of a model's graph are looked at, at most; a real model has far fewer.
MAX_OBJECTS = 1_000_000


def _tree_problem(tree: Any) -> str | None:
    import numpy as np

    count = int(tree.node_count)
    left, right = np.asarray(tree.children_left), np.asarray(tree.children_right)
    feature, value = np.asarray(tree.feature), np.asarray(tree.value)
    if not (len(left) == len(right) == len(feature) == count and value.shape[0] == count):
        return "its node arrays disagree on the number of nodes"
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        return "a node has one child"
    index = np.arange(count)
    inner = ~leaf
    for child in (left, right):
        if np.any(child[inner] <= index[inner]) or np.any(child[inner] >= count):
            return "a child index is outside the tree"
    if np.any(feature[inner] < 0) or np.any(feature[inner] >= int(tree.n_features)):
        return "a split names a feature outside the input"
    return None


def check_trees(model: Any, file_name: str) -> None:
    """Raise ModelFormatError when a ``Tree`` anywhere in ``model`` is malformed."""
    from sklearn.tree._tree import Tree

    seen: set[int] = set()
    stack = [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type(None))):
            continue
        seen.add(id(obj))
        if len(seen) > MAX_OBJECTS:
            raise ModelFormatError(f"'{file_name}' holds more than {MAX_OBJECTS} objects")
        if isinstance(obj, Tree):
            problem = _tree_problem(obj)
            if problem is not None:
                raise ModelFormatError(
                    f"'{file_name}' holds a malformed decision tree ({problem}); "
                    "it was not saved by scikit-learn as is"
                )
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif getattr(obj, "dtype", None) is not None:
            if obj.dtype == object:  # e.g. GradientBoosting's array of trees
                stack.extend(obj.ravel().tolist())
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.extend(vars(obj).values())


__all__ = ["check_trees"]
