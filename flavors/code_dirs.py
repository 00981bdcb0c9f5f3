"""A custom model's ``code`` directory on ``sys.path``: imported from source, never written.

Python's default importer writes ``__pycache__`` beside the sources it imports, and
runs a ``.pyc`` it finds there in place of its source. Inside a model directory both
are wrong: the next load would refuse the new files (they are not in ``MLmodel``'s hash
table), and a planted ``.pyc`` would run instead of the source that was hashed. The path
hook here claims only the model code directories it was given (and their packages):
their modules are compiled from source each time and nothing is written.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
)
from pathlib import Path
from types import CodeType

_CODE_DIRS: set[str] = set()


class _SourceOnlyLoader(SourceFileLoader):
    """Compiles the source every time: reads no cached bytecode, writes none."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def _code_dir_hook(path: str) -> FileFinder:
    if not any(path == root or path.startswith(root + os.sep) for root in _CODE_DIRS):
        raise ImportError("not a model code directory")  # the next hook takes it
    return FileFinder(
        path, (_SourceOnlyLoader, SOURCE_SUFFIXES), (ExtensionFileLoader, EXTENSION_SUFFIXES)
    )


def add_code_dir(code_dir: Path) -> None:
    """Put a model's ``code`` directory first on ``sys.path``, imported by the hook above.

    >>> add_code_dir(Path("models/custom/code"))  # doctest: +SKIP
    """
    entry = str(code_dir)
    _CODE_DIRS.add(entry)
    if _code_dir_hook not in sys.path_hooks:
        sys.path_hooks.insert(0, _code_dir_hook)
    sys.path_importer_cache.pop(entry, None)
    if entry not in sys.path:
        sys.path.insert(0, entry)


__all__ = ["add_code_dir"]
