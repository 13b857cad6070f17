"""Prompt templates for turning class names into text-tower inputs.

``{}`` is replaced by the class name. Template sets are registered by name in ``TEMPLATES``:

- ``single``: "a video of a person {}." (X-CLIP's single prompt, Text4Vis; reads naturally for action
  phrases such as "move left" and is the usual single-prompt choice for video);
- ``kinetics``: OpenAI CLIP's 28 Kinetics templates (4 prefixes x 7 phrasings), reused unchanged by
  Open-VCLIP and FROSTER (openai/CLIP data/prompts.md, Kinetics700);
- ``photo``: ViFi-CLIP's "a photo of a {}.";
- ``bare``: the class name alone (the zero-shot-CLIP baseline in ViFi-CLIP).
"""

from __future__ import annotations

from typing import Sequence

from weightspace.errors import ConfigError

SINGLE_TEMPLATE = "a video of a person {}."

_KINETICS_PREFIXES = ("a photo of", "a video of", "a example of", "a demonstration of")
_KINETICS_PHRASINGS = (
    "{}.",
    "a person {}.",
    "a person using {}.",
    "a person doing {}.",
    "a person during {}.",
    "a person performing {}.",
    "a person practicing {}.",
)
# Order as in OpenAI CLIP's prompts.md: prefix-major.
KINETICS_TEMPLATES: tuple[str, ...] = tuple(f"{p} {s}" for p in _KINETICS_PREFIXES for s in _KINETICS_PHRASINGS)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "single": (SINGLE_TEMPLATE,),
    "kinetics": KINETICS_TEMPLATES,
    "photo": ("a photo of a {}.",),
    "bare": ("{}",),
}


def get_templates(name: str) -> tuple[str, ...]:
    """The template set registered under ``name``."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(f"templates {name!r}: unknown template set (choose from {', '.join(TEMPLATES)})") from None


def resolve_templates(spec: str | Sequence[str]) -> tuple[str, ...]:
    """A registered set name, or an explicit list of templates (each must contain ``{}``)."""
    if isinstance(spec, str):
        return get_templates(spec)
    templates = tuple(spec)
    if not templates:
        raise ConfigError("templates: empty list")
    for t in templates:
        if not isinstance(t, str) or "{}" not in t:
            raise ConfigError(f"template {t!r}: must be a string containing '{{}}' for the class name")
    return templates


def template_spec(templates: Sequence[str]) -> str | list[str]:
    """The registered name of a template set if it is one, else the list (for JSON configs)."""
    for name, ts in TEMPLATES.items():
        if tuple(templates) == ts:
            return name
    return list(templates)


def format_prompts(classnames: Sequence[str], templates: Sequence[str]) -> list[str]:
    """Class-major prompt list: all templates of class 0, then class 1, ..."""
    return [t.format(c) for c in classnames for t in templates]
