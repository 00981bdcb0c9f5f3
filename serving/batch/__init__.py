"""``modelpack predict``: batch scoring of parquet, CSV and JSON-lines files.

Inputs are streamed in record batches (``inputs``), scored in one or more worker
processes (``workers``), and written atomically (``outputs``); ``job`` ties them
together and ``cli`` is the command.

May import: ``modelpack`` core, ``modelpack.serving.parsing``,
``modelpack.serving.encoding``, ``modelpack.serving.envs`` (from the CLI only). Never ``http`` or ``container``.
"""
