"""Video data: list files, class names, decoding, sampling, transforms, an optional frame cache.

Public API (imported lazily, so ``import weightspace.data`` does not pull in torch)::

    read_list(path, root=None) -> list[ListEntry]       # "path label", "path,label", rawframes "dir n label"
    load_classnames(path) -> list[str]                  # JSON {"0": name} or CSV id,name
    VideoDataset(list_file, classnames_file, ...)       # ds[i] -> {"video", "label", "index", "ok"}

The built-in procedural world lives in :mod:`weightspace.data.synthetic`.
"""

from __future__ import annotations

from weightspace._lazy import lazy_exports

_EXPORTS = {
    "ListEntry": "lists",
    "read_list": "lists",
    "load_classnames": "classnames",
    "check_labels": "classnames",
    "VideoDataset": "dataset",
    "Failure": "dataset",
    "VideoReadError": "decode",
    "open_source": "decode",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
