import json

import pytest

from weightspace.cli.main import main


@pytest.fixture(scope="module")
def setup(eval_world, tmp_path_factory):
    """A one-benchmark suite over the tiny eval world, and tiny checkpoints."""
    w = eval_world
    root = tmp_path_factory.mktemp("eval-cli")
    full = w.make_world(root / "world")
    _, fts = w.make_checkpoints(root / "ckpts", n=2)
    d = full.parent
    suite = root / "closed.yaml"
    suite.write_text(f"name: closed\nmodel: {{templates: single, num_frames: 4}}\nbenchmarks: [{{name: all, protocol: "
                     f"closed-set, root: {d / 'videos'}, list: {d / 'all.txt'}, classnames: {d / 'all.json'}}}]\n")
    return root, suite, fts


def test_eval_prints_table_writes_json_and_reuses_store(setup, capsys):
    root, suite, fts = setup
    store, cache = root / "r.sqlite", root / "cache"
    out = root / "eval_results.json"
    args = ["eval", str(fts[0]), "--suite", str(suite), "--store", str(store), "--cache-dir", str(cache)]
    assert main(args + ["--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ft0 on closed" in text and "top1" in text and "closed-set" in text
    doc = json.loads(out.read_text())
    assert doc["suite"] == "closed" and {r["split"] for r in doc["results"]} == {"test"}
    assert main(args) == 0
    assert "from the results store" in capsys.readouterr().out


def test_eval_bad_label_is_one_line_error(setup, tmp_path, capsys):
    root, _, fts = setup
    d = root / "world"
    (tmp_path / "l.txt").write_text("v00.mp4 0\nv01.mp4 9\n")
    (tmp_path / "s.yaml").write_text(f"name: bad\nbenchmarks: [{{name: b, protocol: closed-set, root: {d / 'videos'}, "
                                     f"list: l.txt, classnames: {d / 'all.json'}}}]\n")
    code = main(["eval", str(fts[0]), "--suite", str(tmp_path / "s.yaml"), "--no-store", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error:") and "l.txt:2: label 9 out of range" in err and "\n" not in err


@pytest.mark.parametrize("extra, match", [
    (["--store", "x.sqlite", "--no-store"], "--store and --no-store are exclusive"),
    (["--rho", "1.5"], "--rho 1.5: must be in [0, 1]"),
])
def test_eval_bad_options(setup, capsys, extra, match):
    _, suite, fts = setup
    assert main(["eval", str(fts[0]), "--suite", str(suite), *extra]) == 1
    assert match in capsys.readouterr().err


def test_eval_unknown_suite(setup, capsys):
    _, _, fts = setup
    assert main(["eval", str(fts[0]), "--suite", "no-such-suite", "--no-store"]) == 1
    assert "suite no-such-suite: no such file" in capsys.readouterr().err


def test_eval_ensembling_options_and_missing_warning(setup, tmp_path, capsys):
    root, _, fts = setup
    d = root / "world"
    (tmp_path / "l.txt").write_text((d / "all.txt").read_text() * 2 + "gone.mp4 1\n")
    (tmp_path / "s.yaml").write_text(f"name: m\nmodel: {{templates: single, num_frames: 4}}\nbenchmarks: [{{name: b, "
                                     f"protocol: closed-set, root: {d / 'videos'}, list: l.txt, classnames: {d / 'all.json'}}}]\n")
    args = ["eval", str(fts[0]), "--suite", str(tmp_path / "s.yaml"), "--store", str(tmp_path / "r.sqlite"),
            "--cache-dir", str(tmp_path / "c")]
    assert main(args + ["--rho", "0.5"]) == 0  # frozen CLIP = the base recorded in the checkpoint
    captured = capsys.readouterr()
    assert "ens(rho=0.5" in captured.out
    assert "1 video(s) could not be read" in captured.err and "gone.mp4" in captured.err
    assert main(args + ["--wise-ft-alpha", "0.5"]) == 0
    assert "wise-ft(alpha=0.5)" in capsys.readouterr().out


def test_eval_tfm_scores_a_mote_checkpoint_separately(setup, eval_world, capsys):
    import torch

    from weightspace.models.factory import build_clip
    from weightspace.models.video_clip import VideoCLIP

    root, suite, fts = setup
    torch.manual_seed(0)
    model = VideoCLIP(build_clip(eval_world.TINY_CFG), model_cfg=eval_world.TINY_CFG,
                      temporal={"name": "mote", "layers": 1, "experts": 2, "heads": 2}, templates="single")
    model.remember_training_classes(["spin", "grow", "shrink"])  # a vocabulary unlike the test's: γ < 1
    with torch.no_grad():
        for p in model.temporal_head.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    ckpt = model.save(root / "mote")
    store = root / "tfm.sqlite"
    docs = []
    for extra in ([], ["--tfm"]):
        out = root / f"tfm{len(extra)}.json"
        assert main(["eval", str(ckpt.folder), "--suite", str(suite), "--store", str(store), "--out", str(out), *extra]) == 0
        docs.append(json.loads(out.read_text()))
    assert docs[0]["suite_hash"] != docs[1]["suite_hash"]  # stored apart: --tfm never answers from a plain score
    capsys.readouterr()
    assert main(["eval", str(fts[0]), "--suite", str(suite), "--no-store", "--tfm"]) == 1
    assert "temporal feature modulation needs a MoTE head (temporal is 'vclip')" in capsys.readouterr().err
