import pytest

from merge.fakes import make_ckpt


@pytest.fixture
def family(tmp_path):
    """A base and three fine-tuned checkpoints (epochs 1..3) of the fake CLIP: (dir, {name: state dict})."""
    base = make_ckpt(tmp_path / "base", 0)
    sds = {"base": base}
    for i, name in enumerate(["a", "b", "c"], start=1):
        sds[name] = make_ckpt(tmp_path / name, 100 + i, base=base, epoch=i)
    return tmp_path, sds
