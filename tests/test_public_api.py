import strands_vector_memory
from strands_vector_memory import compat, strands_agents, tenancy


def test_all_is_the_public_namespace() -> None:
    public = {name for name in dir(strands_vector_memory) if not name.startswith("_")}
    # Subpackages are importable but not part of the curated surface.
    public -= {
        "backends",
        "core",
        "embedders",
        "memory",
        "cli",
        "bench",
        "evals",
        "server",
        "strands_agents",
        "tenancy",
        "compat",
    }
    assert public == set(strands_vector_memory.__all__) - {"__version__"}


def test_the_strands_faces_export_exactly_their_all() -> None:
    public = {name for name in dir(strands_agents) if not name.startswith("_") and name != "annotations"}
    assert public == set(strands_agents.__all__)


def test_every_public_name_has_a_docstring() -> None:
    for module in (strands_vector_memory, strands_agents, tenancy, compat):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                assert obj.__doc__, name
