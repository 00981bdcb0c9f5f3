"""``modelpack serve``: the HTTP scoring server.

Starlette under uvicorn; MLflow's ``/invocations`` formats and the Open Inference
Protocol (``v2``), request batching (``batching``, ``model_thread``), the served model
and its ``--watch`` swaps (``model_state``), Prometheus metrics, the OpenAPI document.
``config`` is the one frozen config the CLI builds and ``server`` runs.

May import: ``modelpack`` core, ``modelpack.serving.parsing``,
``modelpack.serving.encoding``, ``modelpack.serving.envs`` (from the CLI only). Never ``batch`` or ``container``.
"""
