import numpy as np

from weightspace.data.synthetic.scenes import NEUTRAL_SCENES, SCENE_PHRASES, SCENES, STYLES, TEXTURES, render_scene


def test_at_least_8_textured_scenes():
    assert len(SCENES) >= 8 and set(SCENE_PHRASES) == set(SCENES) | set(NEUTRAL_SCENES)
    assert len(NEUTRAL_SCENES) >= 3 and not set(NEUTRAL_SCENES) & set(SCENES)  # held out of every training world
    y, x = np.mgrid[0:48, 0:48].astype(float) / 47
    for s in SCENES + NEUTRAL_SCENES:
        pattern = TEXTURES[s](x, y, 1.0, np.random.default_rng(0))
        assert pattern.shape == (48, 48) and pattern.min() >= 0 and pattern.max() <= 1, s
        assert pattern.std() > 0.1, s  # a texture, not a flat colour


def test_scenes_differ_from_each_other():
    y, x = np.mgrid[0:48, 0:48].astype(float) / 47
    every = SCENES + NEUTRAL_SCENES
    patterns = [TEXTURES[s](x, y, 1.0, np.random.default_rng(1)).ravel() for s in every]
    corr = np.corrcoef(patterns)
    assert np.abs(corr[~np.eye(len(every), dtype=bool)]).max() < 0.9


def test_styles_change_the_look_not_the_geometry():
    rgb = {name: np.mean([render_scene("stripes", STYLES[name], 32, np.random.default_rng(i)).mean((0, 1)) for i in range(20)], 0)
           for name in ("daylight", "dusk", "pastel", "forest")}
    assert rgb["daylight"].mean() > rgb["dusk"].mean()  # bright vs dark worlds
    assert rgb["forest"][1] > rgb["forest"][2] and rgb["dusk"][2] > rgb["dusk"][0]  # green vs blue hues
    img = render_scene("checkerboard", STYLES["pastel"], 32, np.random.default_rng(0))
    assert img.shape == (32, 32, 3) and img.min() >= 0 and img.max() <= 1
