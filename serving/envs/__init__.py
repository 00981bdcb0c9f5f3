"""Environments a model runs in: ``--env-manager local`` or ``virtualenv``.

``virtualenv`` builds (and caches, by the hash of what goes in) an isolated environment
from a model's ``python_env.yaml`` and ``requirements.txt``, and runs a modelpack
command inside it; ``wheel`` builds the running modelpack as a wheel to install there.

May import: ``modelpack`` core only.
"""
