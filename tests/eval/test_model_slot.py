def test_one_architecture_loads_into_one_model_and_the_same_weights_are_not_loaded_twice(ckpts, monkeypatch):
    from weightspace.checkpoint import open_checkpoint
    from weightspace.eval.model_slot import ModelSlot
    from weightspace.eval.suite import ModelDefaults
    from weightspace.models.video_clip import VideoCLIP

    _, fts = ckpts
    a, b = open_checkpoint(fts[0]), open_checkpoint(fts[1])
    slot = ModelSlot(ModelDefaults(temporal="vclip"))
    first = slot.load(a, a.sha256())
    second = slot.load(b, b.sha256())
    assert second.model is first.model and second.identity != first.identity
    assert second.text_digest == first.text_digest  # the fine-tunes leave the text tower alone
    loads = []
    real = VideoCLIP.load_clip_state
    monkeypatch.setattr(VideoCLIP, "load_clip_state", lambda self, state: loads.append(1) or real(self, state))
    assert slot.load(b, b.sha256()) is second and not loads
    assert slot.load(a, a.sha256()).identity == first.identity and loads == [1]


def test_a_failed_load_leaves_no_stale_identity(ckpts, monkeypatch):
    import pytest

    from weightspace.checkpoint import open_checkpoint
    from weightspace.eval.model_slot import ModelSlot
    from weightspace.eval.suite import ModelDefaults
    from weightspace.models.video_clip import VideoCLIP

    _, fts = ckpts
    a, b = open_checkpoint(fts[0]), open_checkpoint(fts[1])
    slot = ModelSlot(ModelDefaults(temporal="vclip"))
    first = slot.load(a, a.sha256())

    def broken(self, state):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(VideoCLIP, "load_clip_state", broken)
    with pytest.raises(RuntimeError):
        slot.load(b, b.sha256())
    monkeypatch.undo()
    again = slot.load(a, a.sha256())  # the half-loaded model is not taken for a's
    assert again.model is not first.model and again.identity == first.identity
