"""``modelpack generate-dockerfile`` / ``build-docker``: a build context per model version.

``docker`` renders ``Dockerfile.template`` with the resolved model version, its
requirements and modelpack as a wheel; ``cli`` is the two commands.

May import: ``modelpack`` core and ``modelpack.serving.envs``. Never ``http`` or ``batch``.
"""
