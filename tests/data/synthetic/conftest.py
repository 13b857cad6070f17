import pytest

from weightspace.data.synthetic.worlds import ensure_worlds, tiny_specs


@pytest.fixture(scope="session")
def tiny_worlds(tmp_path_factory):
    """The miniature worlds (about 60 videos of 32 px x 8 frames), generated once per session."""
    return ensure_worlds(tmp_path_factory.mktemp("ws-cache"), seed=0, specs=tiny_specs(), workers=1, progress=False)
