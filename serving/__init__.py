"""Serving a model: the HTTP scoring server, the batch scorer and container builds."""
