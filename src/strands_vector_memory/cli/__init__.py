"""The ``strands-memory`` command line: a thin face over :class:`~strands_vector_memory.VectorMemory`.

Importing this package registers every command on :data:`cli`; :func:`main` is the
console-script entry point.
"""

from . import _commands, _eval, _forget, _lifecycle, _serve, _tenancy, _tenants, _tools, _transfer  # noqa: F401  (register the commands)
from ._app import cli, main

__all__ = ["cli", "main"]
