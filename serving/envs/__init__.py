"""Environments a model runs in: ``--env-manager local`` or ``virtualenv``.

``spec`` reads what an environment is built from (a model's ``python_env.yaml`` and
``requirements.txt``); ``virtualenv`` builds it (cached by the hash of what goes in)
and runs a modelpack command inside it; ``wheel`` builds the running modelpack as a
wheel to install there.

May import: ``modelpack`` core only.
"""
