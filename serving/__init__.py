"""Serving a model, one folder per capability.

- ``http``: ``modelpack serve``, the scoring server (MLflow's protocol and the Open
  Inference Protocol) with request batching, metrics and version watching.
- ``batch``: ``modelpack predict``, streaming batch scoring of parquet, CSV and JSON lines.
- ``container``: ``modelpack generate-dockerfile`` / ``build-docker``.
- ``envs``: isolated environments built from a model's requirements (``--env-manager``),
  and the modelpack wheel they and the images install.
- ``encoding``: turning predictions into JSON, shared by ``http`` and ``batch``.

Imports point one way: every folder may import ``modelpack`` core and ``encoding``;
``container`` and the CLIs may import ``envs``; ``http`` and ``batch`` never import each
other. No folder imports a flavor: it works on the generic loaded model.
"""
