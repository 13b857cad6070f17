import numpy as np
import pytest

from weightspace.data.synthetic import render
from weightspace.data.synthetic.render import COLOURS, SHAPES, VideoSpec, render_video


def _spec(action="moving right", shape="circle", colour="red"):
    return VideoSpec(action, "gradient", shape, colour, "dusk")


def test_vocabulary_sizes():
    assert len(SHAPES) >= 6 and len(COLOURS) >= 6


def test_same_seed_same_bytes():
    a = render_video(_spec(), np.random.default_rng([0, 1, 2]))
    b = render_video(_spec(), np.random.default_rng([0, 1, 2]))
    c = render_video(_spec(), np.random.default_rng([0, 1, 3]))
    assert a.dtype == np.uint8 and a.shape == (16, 48, 48, 3)
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()


def test_selected_frames_match_the_full_render():
    spec = _spec("orbiting clockwise", "star", "blue")
    full = render_video(spec, np.random.default_rng(5), size=32, frames=8)
    part = render_video(spec, np.random.default_rng(5), size=32, frames=8, indices=[0, 5, 7])
    assert np.array_equal(full[[0, 5, 7]], part)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_draws_an_actor(shape):
    video = render_video(_spec("pulsing", shape), np.random.default_rng(0)).astype(float)
    red = (video[..., 0] - video[..., 1:].mean(-1)) > 150
    assert 20 < red[0].sum() < 400


def test_the_trail_lies_behind_the_motion(monkeypatch):
    spec = _spec("moving right")
    with_trail = render_video(spec, np.random.default_rng(1)).astype(float)
    monkeypatch.setattr(render, "TRAIL_ALPHA", (0.0, 0.0, 0.0))
    without = render_video(spec, np.random.default_rng(1)).astype(float)
    diff = np.abs(with_trail - without).sum(-1)[8]
    actor = ((without[8, ..., 0] - without[8, ..., 1:].mean(-1)) > 150)
    cols_trail, cols_actor = np.nonzero(diff.sum(0) > 1)[0], np.nonzero(actor.sum(0))[0]
    assert cols_trail.size and cols_trail.mean() < cols_actor.mean()  # trail to the left of a right-moving actor


def test_spinning_is_visible_even_for_a_circle():
    video = render_video(_spec("spinning clockwise", "circle"), np.random.default_rng(0)).astype(float)
    assert np.abs(video[4] - video[8]).max() > 100  # the eye moved


def test_every_action_has_a_prop_of_its_own():
    from weightspace.data.synthetic.motion import ACTIONS

    pairs = {tuple(map(tuple, render.prop_colours(a))) for a in ACTIONS}
    assert len(pairs) == len(ACTIONS)


def test_the_prop_is_drawn_in_its_colours_in_front_of_the_actor(monkeypatch):
    spec = _spec("moving right", colour="red")  # angle 0: the actor faces right
    clip = render.render_clip(spec, np.random.default_rng(3))
    monkeypatch.setattr(render, "_draw_prop", lambda img, *args: img)
    bare = render.render_clip(spec, np.random.default_rng(3))
    k = 8
    changed = np.abs(clip.frames[k].astype(float) - bare.frames[k]).sum(-1) > 60
    ys, xs = np.nonzero(changed)
    assert 2 * 20 < changed.sum() < 2 * 60  # two dots of radius 3.5: about 38 pixels each
    assert xs.min() > clip.x[k] + render.RADIUS * clip.scale[k] - 1  # beyond the actor's edge, on its right
    assert abs(ys.mean() - clip.y[k]) < 1.5  # one dot above the facing line, one below
    expected = [255 * c for c in render.prop_colours(spec.action)]
    above = ys < clip.y[k]
    seen = [np.median(clip.frames[k][ys[m], xs[m]].astype(float), axis=0) for m in (above, ~above)]
    side = [min(range(2), key=lambda i, c=c: np.abs(c - expected[i]).max()) for c in seen]
    assert sorted(side) == [0, 1] and all(np.abs(c - expected[i]).max() < 40 for c, i in zip(seen, side))
