import numpy as np

from weightspace.data.synthetic.motion import ACTIONS, pose

T = np.linspace(0, 1, 16)


def _pose(action, seed=0):
    return pose(action, T, np.random.default_rng(seed))


def test_at_least_24_actions_with_full_pose_arrays():
    assert len(ACTIONS) >= 24 and len(set(ACTIONS)) == len(ACTIONS)
    for a in ACTIONS:
        p = _pose(a)
        for f in ("dx", "dy", "angle", "sx", "sy", "alpha"):
            assert getattr(p, f).shape == (16,), (a, f)
        assert (p.alpha >= 0).all() and (p.alpha <= 1).all() and (p.sx > 0).all() and (p.sy > 0).all(), a


def test_every_action_moves_differently_from_standing_still():
    for a in ACTIONS:
        p = _pose(a)
        change = sum(np.ptp(getattr(p, f)) for f in ("dx", "dy", "angle", "sx", "sy", "alpha"))
        assert change > 0.3, a


def test_directions():
    assert np.all(np.diff(_pose("moving left").dx) < 0) and np.all(np.diff(_pose("moving right").dx) > 0)
    assert np.all(np.diff(_pose("moving up").dy) < 0) and np.all(np.diff(_pose("moving down").dy) > 0)
    assert np.all(np.diff(_pose("spinning clockwise").angle) > 0) and np.all(np.diff(_pose("spinning counterclockwise").angle) < 0)
    assert np.all(np.diff(_pose("growing").sx) > 0) and np.all(np.diff(_pose("shrinking").sx) < 0)
    assert _pose("fading out").alpha[-1] == 0 and _pose("fading in").alpha[0] == 0


def test_orbit_directions_on_screen():
    # y points down: clockwise on screen means positive cross product of position and velocity
    for action, sign in (("orbiting clockwise", 1), ("orbiting counterclockwise", -1)):
        p = _pose(action, seed=4)
        cross = p.dx[:-1] * np.diff(p.dy) - p.dy[:-1] * np.diff(p.dx)
        assert np.all(np.sign(cross) == sign), action


def test_blinking_switches_on_and_off():
    alpha = _pose("blinking").alpha
    assert set(np.unique(alpha)) == {0.0, 1.0} and np.count_nonzero(np.diff(alpha)) >= 4
