import strands_vector_memory


def test_all_is_the_public_namespace() -> None:
    public = {name for name in dir(strands_vector_memory) if not name.startswith("_")}
    # Subpackages are importable but not part of the curated surface.
    public -= {"backends", "core", "embedders", "memory", "cli", "bench", "evals"}
    assert public == set(strands_vector_memory.__all__) - {"__version__"}


def test_every_public_name_has_a_docstring() -> None:
    for name in strands_vector_memory.__all__:
        obj = getattr(strands_vector_memory, name)
        if callable(obj):
            assert obj.__doc__, name
