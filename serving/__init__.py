"""Serving a model, one folder per capability.

- ``http``: ``modelpack serve``, the scoring server (MLflow's protocol and the Open
  Inference Protocol) with request batching, metrics and version watching.
- ``batch``: ``modelpack predict``, streaming batch scoring of parquet, CSV and JSON lines.
- ``container``: ``modelpack generate-dockerfile`` / ``build-docker``.
- ``envs``: isolated environments built from a model's requirements (``--env-manager``),
  and the modelpack wheel they and the images install.
- ``parsing`` and ``encoding``: MLflow's scoring request formats in, predictions out as
  JSON; shared by ``http`` (request bodies) and ``batch`` (scoring documents, JSON lines).

Imports point one way: every folder may import ``modelpack`` core, ``parsing`` and
``encoding``; ``container`` and the CLIs may import ``envs``; ``http`` and ``batch``
never import each other. No folder imports a flavor: it works on the generic loaded model.
"""
