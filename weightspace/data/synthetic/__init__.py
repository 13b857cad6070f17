"""The built-in world: procedural action videos with static bias, and a tiny CLIP pretrained on its frames.

Videos show a coloured shape (actor: 8 shapes x 8 colours) moving over a textured background (scene: 10
textures in per-world styles, plus held-out neutral textures). The 30 actions are motions (``motion.py``), each
frame carries a faded trail of the motion, and in training worlds each action appears on its preferred scene with
probability 0.8.

``ensure_worlds(cache_root=None, seed=0) -> Worlds`` builds (or reuses) the default worlds; ``Worlds[name]``
is a ``World`` with ``.folder``, ``.list_file(split)``, ``.classnames_file(split)``, ``.classnames(split)``;
``Worlds.sources``, ``.target``, ``.ooc`` (the out-of-context worlds) name the roles. ``ensure_tiny_clip(cache_root=None, seed=0) -> Path``
is the pretrained tiny CLIP's checkpoint folder (``weightspace.checkpoint`` format).

Layout (cache root = argument, else ``$WEIGHTSPACE_CACHE``, else ``~/.cache/weightspace``)::

    <cache root>/worlds/seed-<seed>/        the default worlds (other specs: seed-<seed>-<spec hash>/)
        source_a/  source_b/  source_c/     12 actions each (partly overlapping), own scene style; 40 train + 10 val per
                                            class, + 20 per class in decorrelated_val (every action on every scene twice)
        target/                             12 actions: 6 seen in sources (base) + 6 in no source (novel); 16 + 16 per class
        ooc_neutral/                        target's val videos re-rendered on held-out neutral scenes (val only)
        ooc_swapped/                        target's val videos re-rendered on another action's scene (val only)
    <cache root>/worlds/seed-<seed>/<world>/
        world.json                  generator version, seed, spec (the cache key), counts per list
        classnames.json             {"0": "moving left", ...}          all actions of the world
        base_classnames.json        base actions, re-indexed from 0    (ViFi-CLIP base-to-novel convention)
        novel_classnames.json       novel actions, re-indexed from 0
        train.txt  val.txt  decorrelated_val.txt   "videos/<split>/<index>.mp4 <label>" (relative to the world folder)
        base_train.txt  base_val.txt  novel_val.txt   the same videos, labels in the base / novel class files
        videos.csv                  path, split, label, action, scene, preferred_scene, shape, colour, style
        videos/<split>/*.mp4        48x48 px, 16 frames, 8 fps, H.264 yuv420p
    <cache root>/tiny_clip/seed-<seed>/  checkpoint folder (open_clip_config.json, open_clip_model.safetensors,
                                         weightspace.json with provenance: recipe config, loss, zero-shot static bias)

A world is regenerated only when its spec, the seed or the generator version changes (for ``ooc_*``, also
the target's spec); every world and the checkpoint are written into a temporary folder and renamed, so an
interrupted run leaves no partial world, and a ``.lock`` file makes concurrent callers (DDP ranks) build once.
Everything is deterministic in the seed (each video has its own generator keyed by seed, world, split, index).
"""

from __future__ import annotations

from weightspace._lazy import lazy_exports

_EXPORTS = {
    "ensure_worlds": "worlds",
    "Worlds": "worlds",
    "World": "worlds",
    "WorldSpec": "worlds",
    "default_specs": "worlds",
    "tiny_specs": "worlds",
    "resolve_cache_root": "worlds",
    "PREFERRED_SCENE": "worlds",
    "NEUTRAL_SCENES": "scenes",
    "ACTIONS": "motion",
    "SCENES": "scenes",
    "STYLES": "scenes",
    "SHAPES": "render",
    "COLOURS": "render",
    "VideoSpec": "render",
    "render_video": "render",
    "ensure_tiny_clip": "tiny_clip",
    "PretrainConfig": "tiny_clip",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
