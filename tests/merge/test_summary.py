import pytest

from merge.fakes import make_ckpt
from weightspace.checkpoint import open_checkpoint
from weightspace.merge.summary import summarize


def test_summary_counts_parameters_and_task_vectors(tmp_path):
    base = make_ckpt(tmp_path / "base", 0)
    make_ckpt(tmp_path / "a", 1, base=base, epoch=4)
    make_ckpt(tmp_path / "b", 2, base=base)
    rep = summarize([tmp_path / "a", tmp_path / "b"], base=tmp_path / "base", include=["visual"])
    a = rep["checkpoints"][0]
    assert a["parameters"] == sum(v.numel() for v in base.values())
    assert a["parameters_by_tag"]["visual"] == 96 + 192 + 24 + 32
    assert a["provenance"]["epoch"] == 4 and a["kind"] == "folder" and len(a["sha256"]) == 64
    b, f = open_checkpoint(tmp_path / "base").state_dict(), open_checkpoint(tmp_path / "a").state_dict()
    visual = sum(float(((f[k].double() - b[k].double()) ** 2).sum()) for k in b if k.startswith("visual."))
    assert rep["task_vectors"]["norms"][0]["visual"] == pytest.approx(visual ** 0.5, rel=1e-6)
    assert set(rep["task_vectors"]["norms"][0]) == {"visual", "total"}
    assert summarize([tmp_path / "a"])["task_vectors"] is None
