"""Actions of the built-in world: each is a motion of the actor, a function of normalised time.

A motion maps times ``t`` (frame k of F at ``k / (F - 1)``; negative times give the trail before frame 0) and
a per-video generator to the actor's pose offsets: ``dx, dy`` (pixels, y down), ``angle`` (radians, positive
= clockwise on screen), ``sx, sy`` (scale) and ``alpha`` (opacity). The class name is the registry key, a
natural phrase, so text prompts such as "a video of {}" read well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

TAU = 2 * np.pi


@dataclass
class Pose:
    dx: np.ndarray
    dy: np.ndarray
    angle: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    alpha: np.ndarray


MotionFn = Callable[[np.ndarray, np.random.Generator], dict]
MOTIONS: dict[str, MotionFn] = {}


def motion(name: str):
    def register(fn: MotionFn) -> MotionFn:
        MOTIONS[name] = fn
        return fn

    return register


def _amp(rng) -> float:
    return float(rng.uniform(16, 24))


@motion("moving left")
def _left(t, rng):
    return {"dx": -_amp(rng) * t}


@motion("moving right")
def _right(t, rng):
    return {"dx": _amp(rng) * t}


@motion("moving up")
def _up(t, rng):
    return {"dy": -_amp(rng) * t}


@motion("moving down")
def _down(t, rng):
    return {"dy": _amp(rng) * t}


@motion("moving up and right")
def _up_right(t, rng):
    a = _amp(rng) * 0.75
    return {"dx": a * t, "dy": -a * t}


@motion("moving down and left")
def _down_left(t, rng):
    a = _amp(rng) * 0.75
    return {"dx": -a * t, "dy": a * t}


@motion("spinning clockwise")
def _spin_cw(t, rng):
    return {"angle": rng.uniform(0, TAU) + TAU * rng.uniform(0.8, 1.2) * t}


@motion("spinning counterclockwise")
def _spin_ccw(t, rng):
    return {"angle": rng.uniform(0, TAU) - TAU * rng.uniform(0.8, 1.2) * t}


@motion("growing")
def _grow(t, rng):
    return {"sx": 0.55 + 0.9 * np.clip(t, -0.3, 1), "sy": 0.55 + 0.9 * np.clip(t, -0.3, 1)}


@motion("shrinking")
def _shrink(t, rng):
    s = 1.45 - 0.9 * np.clip(t, 0, 1.3)
    return {"sx": s, "sy": s}


@motion("blinking")
def _blink(t, rng):
    period = rng.uniform(0.22, 0.3)
    phase = rng.uniform(0, period)
    return {"alpha": (((t + phase) % period) < period / 2).astype(float)}


@motion("bouncing")
def _bounce(t, rng):
    h = rng.uniform(14, 20)
    return {"dy": -h * np.abs(np.sin(TAU * t)), "dx": rng.uniform(-4, 4) * t}


def _orbit(t, rng, direction: float) -> dict:
    r = rng.uniform(9, 13)
    theta = rng.uniform(0, TAU) + direction * TAU * t
    return {"dx": r * np.cos(theta), "dy": r * np.sin(theta)}


@motion("orbiting clockwise")
def _orbit_cw(t, rng):
    return _orbit(t, rng, 1.0)  # y points down, so increasing theta turns clockwise on screen


@motion("orbiting counterclockwise")
def _orbit_ccw(t, rng):
    return _orbit(t, rng, -1.0)


@motion("zigzagging")
def _zigzag(t, rng):
    sign = rng.choice([-1.0, 1.0])
    tri = 2 * np.abs(((t * 3) % 1.0) - 0.5) - 0.5  # triangle wave in [-0.5, 0.5], 3 periods
    return {"dx": sign * _amp(rng) * (t - 0.5), "dy": 12 * tri}


@motion("shaking")
def _shake(t, rng):
    k = np.round(t * 15).astype(int)
    return {"dx": 3.0 * np.where(k % 2 == 0, 1.0, -1.0), "dy": rng.uniform(-1, 1, size=t.shape)}


@motion("pulsing")
def _pulse(t, rng):
    s = 1.0 + 0.35 * np.sin(TAU * 3 * t + rng.uniform(0, TAU))
    return {"sx": s, "sy": s}


@motion("swinging like a pendulum")
def _pendulum(t, rng):
    phi = 0.75 * np.sin(TAU * 1.5 * t + rng.uniform(0, TAU))
    length = 16.0
    return {"dx": length * np.sin(phi), "dy": length * (1 - np.cos(phi)), "angle": -phi}


@motion("jumping")
def _jump(t, rng):
    sign = rng.choice([-1.0, 1.0])
    return {"dx": sign * 14 * t, "dy": -rng.uniform(16, 22) * np.sin(np.pi * np.clip(t, 0, 1))}


@motion("sinking")
def _sink(t, rng):
    return {"dy": 0.6 * _amp(rng) * t, "alpha": np.clip(1 - 0.6 * t, 0, 1)}


@motion("floating up")
def _float(t, rng):
    return {"dy": -0.6 * _amp(rng) * t, "dx": 4 * np.sin(TAU * 2 * t + rng.uniform(0, TAU))}


@motion("sliding and stopping")
def _slide_stop(t, rng):
    sign = rng.choice([-1.0, 1.0])
    u = np.minimum(t / 0.55, 1.0)
    return {"dx": sign * _amp(rng) * (1 - (1 - u) ** 2)}


@motion("spiralling inwards")
def _spiral(t, rng):
    theta = rng.uniform(0, TAU) + TAU * 1.5 * t
    r = 15 * (1 - 0.75 * np.clip(t, -0.2, 1))
    return {"dx": r * np.cos(theta), "dy": r * np.sin(theta)}


@motion("tracing a figure eight")
def _figure_eight(t, rng):
    r = rng.uniform(12, 15)
    return {"dx": r * np.sin(TAU * t), "dy": 0.5 * r * np.sin(2 * TAU * t)}


@motion("teleporting")
def _teleport(t, rng):
    spots = rng.uniform(-14, 14, size=(4, 2))
    k = np.clip(np.floor((t + 0.25) * 3).astype(int), 0, 3)  # 3-4 jumps across the clip
    return {"dx": spots[k, 0], "dy": spots[k, 1]}


@motion("fading out")
def _fade_out(t, rng):
    return {"alpha": np.clip(1 - t, 0, 1)}


@motion("fading in")
def _fade_in(t, rng):
    return {"alpha": np.clip(t, 0, 1)}


@motion("rolling to the right")
def _roll(t, rng):
    a = _amp(rng)
    return {"dx": a * t, "angle": a * t / 6.0}  # no slipping: angle = distance / radius


@motion("squashing and stretching")
def _squash(t, rng):
    w = 0.35 * np.sin(TAU * 2 * t + rng.uniform(0, TAU))
    return {"sx": 1 + w, "sy": 1 - w}


@motion("moving back and forth")
def _back_forth(t, rng):
    return {"dx": 11 * np.sin(TAU * 1.5 * t + rng.uniform(0, TAU))}


ACTIONS: tuple[str, ...] = tuple(MOTIONS)


def pose(action: str, t: np.ndarray, rng: np.random.Generator) -> Pose:
    """The actor's pose offsets at times ``t`` for one action."""
    parts = MOTIONS[action](np.asarray(t, dtype=float), rng)
    one, zero = np.ones_like(t, dtype=float), np.zeros_like(t, dtype=float)

    def get(key, default):
        return np.broadcast_to(np.asarray(parts.get(key, default), dtype=float), t.shape).copy()

    return Pose(get("dx", zero), get("dy", zero), get("angle", zero), get("sx", one), get("sy", one), np.clip(get("alpha", one), 0, 1))
