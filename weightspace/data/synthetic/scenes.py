"""Scenes of the built-in world: procedural background textures, drawn in a per-world style.

A texture is a pattern value in [0, 1] per pixel (its geometry: stripes, checks, dots, ...), coloured with two
colours drawn from the world's style (hue / saturation / value ranges, contrast, pattern scale). Geometry stays
recognisable across styles, so a scene means the same thing in every world while looking different.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Callable

import numpy as np

TAU = 2 * np.pi

TextureFn = Callable[[np.ndarray, np.ndarray, float, np.random.Generator], np.ndarray]
TEXTURES: dict[str, TextureFn] = {}
# the phrase a caption uses for each scene
SCENE_PHRASES: dict[str, str] = {}
_HELD_OUT: list[str] = []


def texture(name: str, phrase: str, *, held_out: bool = False):
    """Register a texture; ``held_out`` ones are neutral scenes that no action prefers and no training world or
    pretraining frame shows (the SCUBA-like out-of-context split pastes the target's actions onto them)."""

    def register(fn: TextureFn) -> TextureFn:
        TEXTURES[name] = fn
        SCENE_PHRASES[name] = phrase
        if held_out:
            _HELD_OUT.append(name)
        return fn

    return register


def _soft(x: np.ndarray, sharp: float = 4.0) -> np.ndarray:
    """A smooth square wave from a sine-like signal in [-1, 1]."""
    return 0.5 + 0.5 * np.tanh(sharp * x)


def _rotated(x, y, rng):
    a = rng.uniform(0, np.pi)
    return x * np.cos(a) + y * np.sin(a)


@texture("stripes", "a striped background")
def _stripes(x, y, f, rng):
    return _soft(np.sin(TAU * 4 * f * _rotated(x, y, rng) + rng.uniform(0, TAU)))


@texture("checkerboard", "a checkerboard")
def _checker(x, y, f, rng):
    p = rng.uniform(0, TAU, 2)
    return _soft(np.sin(TAU * 3 * f * x + p[0]) * np.sin(TAU * 3 * f * y + p[1]), 6.0)


@texture("dots", "a dotted background")
def _dots(x, y, f, rng):
    n = 4 * f
    u, v = (x * n + rng.uniform()) % 1.0 - 0.5, (y * n + rng.uniform()) % 1.0 - 0.5
    return _soft(0.28 - np.sqrt(u * u + v * v), 30.0)


@texture("gradient", "a smooth gradient")
def _gradient(x, y, f, rng):
    r = _rotated(x - 0.5, y - 0.5, rng)
    return np.clip(r / 1.2 + 0.5, 0, 1)


@texture("noise", "a noisy background")
def _noise(x, y, f, rng):
    n = max(3, int(round(6 * f)))
    coarse = rng.random((n, n))
    yi = np.clip((y * (n - 1)), 0, n - 1.001)
    xi = np.clip((x * (n - 1)), 0, n - 1.001)
    i0, j0 = yi.astype(int), xi.astype(int)
    fy, fx = yi - i0, xi - j0
    top = coarse[i0, j0] * (1 - fx) + coarse[i0, j0 + 1] * fx
    bottom = coarse[i0 + 1, j0] * (1 - fx) + coarse[i0 + 1, j0 + 1] * fx
    return top * (1 - fy) + bottom * fy


@texture("waves", "a wavy background")
def _waves(x, y, f, rng):
    return _soft(np.sin(TAU * 3 * f * (y + 0.12 * np.sin(TAU * 2 * x + rng.uniform(0, TAU)))))


@texture("grid", "a grid")
def _grid(x, y, f, rng):
    n = 4 * f
    u, v = np.abs((x * n + rng.uniform()) % 1.0 - 0.5), np.abs((y * n + rng.uniform()) % 1.0 - 0.5)
    return _soft(np.maximum(u, v) - 0.38, 30.0)


@texture("bricks", "a brick wall")
def _bricks(x, y, f, rng):
    rows = 5 * f
    yy = y * rows + rng.uniform()
    row = np.floor(yy)
    xx = x * rows / 2 + 0.5 * (row % 2) + rng.uniform()
    mortar = np.maximum(np.abs(yy % 1.0 - 0.5), np.abs(xx % 1.0 - 0.5))
    return _soft(mortar - 0.42, 30.0)


@texture("rings", "concentric rings")
def _rings(x, y, f, rng):
    cx, cy = rng.uniform(0.2, 0.8, 2)
    return _soft(np.sin(TAU * 3 * f * np.hypot(x - cx, y - cy)))


@texture("zigzags", "a zigzag pattern")
def _zigzags(x, y, f, rng):
    n = 3 * f
    tri = np.abs((x * n * 2) % 2.0 - 1.0)
    return _soft(np.sin(TAU * (n * y + 0.5 * tri) + rng.uniform(0, TAU)))


@texture("honeycomb", "a honeycomb", held_out=True)
def _honeycomb(x, y, f, rng):
    n = 3 * f
    u, v = x * n + rng.uniform(), y * n * 1.15 + rng.uniform()
    cells = [np.cos(TAU * (u * np.cos(a) + v * np.sin(a))) for a in (0.0, TAU / 6, TAU / 3)]
    return _soft(sum(cells) / 3 + 0.1, 6.0)


@texture("plaid", "a plaid pattern", held_out=True)
def _plaid(x, y, f, rng):
    n = 3 * f
    p = rng.uniform(0, TAU, 2)
    return 0.5 * _soft(np.sin(TAU * n * x + p[0]), 3.0) + 0.5 * _soft(np.sin(TAU * n * y + p[1]), 3.0)


@texture("scales", "fish scales", held_out=True)
def _scales(x, y, f, rng):
    n = 4 * f
    yy = y * n + rng.uniform()
    row = np.floor(yy)
    xx = x * n + 0.5 * (row % 2) + rng.uniform()
    return _soft(np.hypot(xx % 1.0 - 0.5, yy % 1.0) - 0.55, 20.0)


@texture("marble", "a marbled background", held_out=True)
def _marble(x, y, f, rng):
    k = rng.uniform(0, TAU, 2)
    return _soft(np.sin(TAU * 2 * f * (x + 0.3 * np.sin(TAU * y * 1.5 + k[0])) + 2 * np.sin(TAU * x + k[1])), 2.0)


SCENES: tuple[str, ...] = tuple(t for t in TEXTURES if t not in _HELD_OUT)  # the scenes of training worlds
NEUTRAL_SCENES: tuple[str, ...] = tuple(_HELD_OUT)


@dataclass(frozen=True)
class Style:
    """How a world's scenes look: colour ranges (HSV), contrast between the two colours, pattern scale."""

    hue: tuple[float, float]
    saturation: tuple[float, float]
    value: tuple[float, float]
    contrast: tuple[float, float]
    scale: tuple[float, float]


STYLES: dict[str, Style] = {
    "daylight": Style((0.05, 0.18), (0.2, 0.45), (0.55, 0.9), (0.6, 1.0), (1.0, 1.3)),
    "dusk": Style((0.55, 0.8), (0.25, 0.5), (0.2, 0.55), (0.5, 0.9), (0.8, 1.1)),
    "pastel": Style((0.0, 1.0), (0.1, 0.3), (0.7, 0.95), (0.35, 0.6), (1.2, 1.5)),
    "forest": Style((0.25, 0.45), (0.2, 0.45), (0.3, 0.7), (0.5, 0.9), (0.9, 1.4)),
    # the union of all of the above: pretraining frames, so scene geometry is learnt independent of colour
    "any": Style((0.0, 1.0), (0.1, 0.5), (0.2, 0.95), (0.35, 1.0), (0.8, 1.5)),
}


def _hsv(h, s, v) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v))


def render_scene(scene: str, style: Style, size: int, rng: np.random.Generator) -> np.ndarray:
    """float [size, size, 3] in [0, 1]."""
    y, x = np.mgrid[0:size, 0:size].astype(float) / (size - 1)
    pattern = TEXTURES[scene](x, y, rng.uniform(*style.scale), rng)
    h = rng.uniform(*style.hue)
    c1 = _hsv(h, rng.uniform(*style.saturation), rng.uniform(*style.value))
    c2 = _hsv(h + rng.uniform(-0.12, 0.12), rng.uniform(*style.saturation), rng.uniform(*style.value))
    contrast = rng.uniform(*style.contrast)
    # push the two colours apart in brightness so the pattern stays visible whatever the draw
    lift = contrast * 0.35
    c1, c2 = np.clip(c1 - lift, 0, 1), np.clip(c2 + lift, 0, 1)
    return c1 + (c2 - c1) * pattern[..., None]
