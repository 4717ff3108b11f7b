"""``python -m strands_vector_memory.cli``: the same as the ``strands-memory`` script."""

from . import main

main()
