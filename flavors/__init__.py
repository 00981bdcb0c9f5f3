"""Built-in flavor plugins: ``pyfunc``, ``sklearn``, ``onnx``.

Each is registered under the ``modelpack.flavors`` entry-point group, exactly as a
third-party flavor would be. Import them by their short names: ``modelpack.sklearn``.
"""
