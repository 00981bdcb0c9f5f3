"""``python -m modelpack``: the same as the ``modelpack`` command."""

from modelpack.cli import main

main()
