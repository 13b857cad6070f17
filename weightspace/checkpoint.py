"""The one on-disk checkpoint format, and readers for what users bring.

A weightspace checkpoint is a folder in open_clip's Hub layout plus our own metadata::

    open_clip_config.json        {"model_cfg": {...}, "preprocess_cfg": {...}}   (open_clip reads it)
    open_clip_model.safetensors  CLIP state dict under open_clip's key names (exactly what open_clip loads)
    temporal_head.safetensors    only for temporal modules with weights (MoTE): the video head, keys ``temporal.*``
    weightspace.json             video-head config, base-model reference (+ sha256), provenance
    merge_manifest.json          only for merge outputs: inputs with hashes, method, parameters

``open_checkpoint`` also accepts a bare ``.safetensors`` file, a legacy ``.pt``/``.pth`` (loaded
with ``torch.load(weights_only=True)`` only: never unpickle arbitrary objects) and any reference of
:mod:`weightspace.refs` (``hf-hub:ORG/NAME[@REV]``, ``builtin:tiny-clip``, ``local-dir:PATH``).
Keys are normalised to CLIP's names (``module.``/``model.`` prefixes stripped) and tagged
visual / text / logit_scale / temporal / extra; a checkpoint's ``source()`` reads the head's keys
beside the CLIP's, so merging and inspection see one key space.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Protocol

from weightspace import __version__
from weightspace.atomic import atomic_dir, atomic_path
from weightspace.errors import CheckpointError
from weightspace.refs import PathRef, Ref, parse_ref
from weightspace.safetensors_io import TensorInfo, code_of, read_header, read_tensor, write_streaming

if TYPE_CHECKING:
    import torch

WEIGHTS_NAME = "open_clip_model.safetensors"
HEAD_NAME = "temporal_head.safetensors"
HEAD_PREFIX = "temporal."
LEGACY_WEIGHTS_NAME = "open_clip_pytorch_model.bin"  # older open_clip Hub repos ship only this (torch pickle)
CONFIG_NAME = "open_clip_config.json"
META_NAME = "weightspace.json"
MANIFEST_NAME = "merge_manifest.json"
LEGACY_SUFFIXES = (".pt", ".pth", ".pyth", ".bin")
FORMAT_VERSION = 1

_PREFIXES = ("module.", "model.")
# open_clip CLIP's text-tower keys that live at the top level of the state dict
_TEXT_ROOTS = ("transformer.", "token_embedding.", "ln_final.", "text.")
_TEXT_KEYS = ("positional_embedding", "text_projection", "attn_mask")
TAGS = ("visual", "text", "logit_scale", "temporal", "extra")


def normalize_key(key: str) -> str:
    """Strip wrapper prefixes (DDP ``module.``, SlowFast ``model.``), in any order and depth."""
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if key.startswith(p):
                key, changed = key[len(p):], True
    return key


def key_tag(key: str) -> str:
    """visual / text / logit_scale / temporal / extra for a normalised key."""
    if key.startswith("visual."):
        return "visual"
    if key.startswith(HEAD_PREFIX):
        return "temporal"
    if key in ("logit_scale", "logit_bias"):
        return "logit_scale"
    if key.startswith(_TEXT_ROOTS) or key in _TEXT_KEYS:
        return "text"
    return "extra"


def sha256_file(path: str | os.PathLike, window: int = 64 << 20) -> str:
    """The file's sha256, hashed from read-only mappings of ``window`` bytes (no copy out of the page cache:
    0.86x the CPU time of reading into a buffer). The size is checked before each window, so a file
    truncated meanwhile is an error rather than a SIGBUS."""
    import mmap

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        for offset in range(0, size, window):
            if os.fstat(fh.fileno()).st_size < size:
                raise CheckpointError(f"{path}: truncated while it was being hashed")
            with mmap.mmap(fh.fileno(), min(window, size - offset), offset=offset, access=mmap.ACCESS_READ) as mm:
                h.update(mm)
    return h.hexdigest()


class TensorSource(Protocol):
    """Read access to one checkpoint's tensors by normalised key, one tensor at a time."""

    label: str

    def keys(self) -> list[str]: ...
    def info(self, key: str) -> TensorInfo: ...
    def read(self, key: str) -> "torch.Tensor": ...


class SafetensorsSource:
    """Lazy reader: the header is parsed once; each ``read`` is a positional read of one tensor."""

    def __init__(self, path: str | os.PathLike, label: str | None = None):
        self.path = Path(path)
        self.label = label or str(path)
        raw, self.metadata = read_header(self.path)
        self._infos: dict[str, TensorInfo] = {}
        for name, info in raw.items():
            key = normalize_key(name)
            if key in self._infos:
                raise CheckpointError(f"{self.path}: keys {self._infos[key].name!r} and {name!r} both normalise to {key!r}")
            self._infos[key] = info
        self._order = sorted(self._infos, key=lambda k: self._infos[k].start)

    def keys(self) -> list[str]:
        return list(self._order)  # file order: sequential reads

    def info(self, key: str) -> TensorInfo:
        return self._infos[key]

    def read(self, key: str) -> "torch.Tensor":
        return read_tensor(self.path, self._infos[key])


class JoinedSource:
    """Several files read as one key space (a checkpoint's CLIP weights and its temporal head)."""

    def __init__(self, parts: list[SafetensorsSource], label: str):
        self.label = label
        self.parts = parts
        self._where: dict[str, SafetensorsSource] = {}
        for part in parts:
            for key in part.keys():
                if key in self._where:
                    raise CheckpointError(f"{part.path}: key {key!r} is also in {self._where[key].path}")
                self._where[key] = part

    def keys(self) -> list[str]:
        return list(self._where)

    def info(self, key: str) -> TensorInfo:
        return self._where[key].info(key)

    def read(self, key: str) -> "torch.Tensor":
        return self._where[key].read(key)


class MemorySource:
    """A state dict already in memory (legacy pickles cannot be read lazily)."""

    def __init__(self, tensors: dict[str, "torch.Tensor"], label: str):
        self.label = label
        self.metadata: dict[str, str] = {}
        self._t = {normalize_key(k): v for k, v in tensors.items()}

    def keys(self) -> list[str]:
        return list(self._t)

    def info(self, key: str) -> TensorInfo:
        t = self._t[key]
        return TensorInfo(key, code_of(t.dtype), tuple(t.shape), 0, t.numel() * t.element_size())

    def read(self, key: str) -> "torch.Tensor":
        return self._t[key]


def _unwrap_legacy(obj, path: Path) -> dict:
    """Find the state dict inside common training-checkpoint wrappers."""
    import torch

    for _ in range(3):
        if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
        if isinstance(obj, dict):
            for k in ("state_dict", "model_state", "model_state_dict", "model", "module"):
                if isinstance(obj.get(k), dict):
                    obj = obj[k]
                    break
            else:
                tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
                if tensors:
                    return tensors  # drop non-tensor extras (e.g. OpenAI JIT's input_resolution)
                break
    raise CheckpointError(f"{path}: no state dict of tensors found")


def load_legacy(path: str | os.PathLike) -> dict[str, "torch.Tensor"]:
    """Load a ``.pt``/``.pth`` through the safe unpickler only (``weights_only=True``)."""
    import pickle

    import torch

    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: cannot be loaded safely with torch.load(weights_only=True) ({first}); "
            "convert it to safetensors in a trusted environment"
        ) from exc
    return {normalize_key(k): v for k, v in _unwrap_legacy(obj, path).items()}


@dataclass
class Checkpoint:
    """A resolved checkpoint: where its weights are and what we know about it."""

    ref: str  # what the user gave
    weights: Path  # the safetensors or legacy weights file
    folder: Path | None = None  # set for the folder layout
    model_cfg: dict | None = None
    preprocess_cfg: dict | None = None
    meta: dict = field(default_factory=dict)
    head: Path | None = None  # the temporal head's safetensors (folder layout, temporal modules with weights)
    _sha: str | None = field(default=None, repr=False)

    @property
    def is_legacy(self) -> bool:
        return self.weights.suffix in LEGACY_SUFFIXES

    @property
    def name(self) -> str:
        return (self.folder or self.weights).name

    def sha256(self) -> str:
        """The weights' identity: the weights file's sha256, combined with the head file's when there is one."""
        if self._sha is None:
            self._sha = combined_sha256(sha256_file(self.weights), self.head)
        return self._sha

    def source(self) -> TensorSource:
        if self.is_legacy:
            return MemorySource(load_legacy(self.weights), label=self.ref)
        clip = SafetensorsSource(self.weights, label=self.ref)
        if self.head is None:
            return clip
        head = SafetensorsSource(self.head, label=self.ref)
        for key in clip.keys():
            if key_tag(key) == "temporal":
                raise CheckpointError(f"{self.weights}: temporal head key {key!r} belongs in {HEAD_NAME}")
        for key in head.keys():
            if key_tag(key) != "temporal":
                raise CheckpointError(f"{self.head}: key {key!r} is not a temporal head key ({HEAD_PREFIX}*)")
        return JoinedSource([clip, head], label=self.ref)

    def state_dict(self) -> dict[str, "torch.Tensor"]:
        src = self.source()
        return {k: src.read(k) for k in src.keys()}


def combined_sha256(weights_sha: str, head: Path | None) -> str:
    """A checkpoint's identity from its weights file's sha256 and, when it has one, its head file's."""
    if head is None:
        return weights_sha
    return hashlib.sha256(f"{weights_sha}+{sha256_file(head)}".encode()).hexdigest()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def open_checkpoint(ref: str | os.PathLike | Ref) -> Checkpoint:
    """Resolve a folder, a ``.safetensors``, a legacy ``.pt/.pth`` or a reference (``hf-hub:ORG/NAME[@REV]``...)."""
    ref_s = str(ref)
    parsed = parse_ref(ref)
    if not isinstance(parsed, PathRef):  # fetched or generated into a local folder first
        ckpt = open_checkpoint(parsed.resolve())
        ckpt.ref = ref_s
        return ckpt
    path = parsed.resolve()
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file or folder")
    if not path.is_dir() and not path.is_file():  # reading a FIFO or a device would block or never end
        raise CheckpointError(f"{path}: not a regular file or folder (a FIFO or device?)")
    if path.is_dir():
        weights = path / WEIGHTS_NAME
        if not weights.is_file():
            found = sorted(p for p in path.glob("*.safetensors") if p.name != HEAD_NAME) or sorted(path.glob(LEGACY_WEIGHTS_NAME))
            if len(found) != 1:
                raise CheckpointError(f"{path}: folder has no {WEIGHTS_NAME} (nor {LEGACY_WEIGHTS_NAME})")
            weights = found[0]
        cfg = _read_json(path / CONFIG_NAME) if (path / CONFIG_NAME).is_file() else {}
        meta = _read_json(path / META_NAME) if (path / META_NAME).is_file() else {}
        head = path / HEAD_NAME
        return Checkpoint(ref_s, weights, path, cfg.get("model_cfg"), cfg.get("preprocess_cfg"), meta,
                          head if head.is_file() else None)
    if path.suffix == ".safetensors":
        _, metadata = read_header(path)  # validates early
        try:
            meta = json.loads(metadata["weightspace"]) if "weightspace" in metadata else {}
        except (json.JSONDecodeError, RecursionError):
            raise CheckpointError(f"{path}: invalid JSON in the header's 'weightspace' metadata") from None
        if not isinstance(meta, dict):
            raise CheckpointError(f"{path}: the header's 'weightspace' metadata is not a JSON object")
        return Checkpoint(ref_s, path, None, meta.get("model_cfg"), meta.get("preprocess_cfg"), meta)
    if path.suffix in LEGACY_SUFFIXES:
        return Checkpoint(ref_s, path)
    raise CheckpointError(f"{path}: unknown checkpoint type (expected a folder, .safetensors, .pt or .pth)")


def base_reference(base: Checkpoint | None) -> dict | None:
    """How a derived checkpoint names its base: the reference and the weights' sha256."""
    if base is None:
        return None
    return {"ref": base.ref, "sha256": base.sha256()}


def make_meta(
    *,
    video: dict | None = None,
    base: Checkpoint | dict | None = None,
    provenance: dict | None = None,
) -> dict:
    """The ``weightspace.json`` document."""
    return {
        "format": "weightspace-checkpoint",
        "format_version": FORMAT_VERSION,
        "weightspace_version": __version__,
        "video": video or {},
        "base_model": base_reference(base) if isinstance(base, Checkpoint) else base,
        "provenance": provenance or {},
    }


def write_checkpoint_files(
    folder: Path,
    specs: list[tuple[str, str, tuple[int, ...]]],
    tensors: Iterable["torch.Tensor"],
    *,
    model_cfg: dict | None,
    preprocess_cfg: dict | None = None,
    meta: dict | None = None,
    extra_files: dict[str, dict] | None = None,
) -> None:
    """Write the folder layout into an existing (temporary) folder, streaming the weights."""
    write_weights(folder, specs, tensors)
    write_checkpoint_meta(folder, model_cfg=model_cfg, preprocess_cfg=preprocess_cfg, meta=meta, extra_files=extra_files)


def write_weights(folder: Path, specs: list[tuple[str, str, tuple[int, ...]]], tensors: Iterable["torch.Tensor"],
                  digest=None) -> None:
    """Stream CLIP tensors to ``open_clip_model.safetensors``; ``temporal.*`` ones (small) go to the head file."""
    is_head = [key_tag(key) == "temporal" for key, _, _ in specs]
    head: list["torch.Tensor"] = []
    stream = iter(zip(is_head, tensors, strict=True))

    def clip_tensors():
        for in_head, t in stream:
            if in_head:
                head.append(t)
            else:
                yield t

    write_streaming(folder / WEIGHTS_NAME, [s for s, h in zip(specs, is_head) if not h], clip_tensors(),
                    metadata={"format": "pt"}, digest=digest)
    head.extend(t for _, t in stream)  # head tensors after the last CLIP one
    if head:
        write_streaming(folder / HEAD_NAME, [s for s, h in zip(specs, is_head) if h], head, metadata={"format": "pt"})


def write_checkpoint_meta(
    folder: Path,
    *,
    model_cfg: dict | None,
    preprocess_cfg: dict | None = None,
    meta: dict | None = None,
    extra_files: dict[str, dict] | None = None,
) -> None:
    """The JSON files of the folder layout (for writers that stream the weights themselves)."""
    if model_cfg is not None:
        cfg = {"model_cfg": model_cfg}
        if preprocess_cfg:
            cfg["preprocess_cfg"] = preprocess_cfg
        (folder / CONFIG_NAME).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    (folder / META_NAME).write_text(json.dumps(meta or make_meta(), indent=2) + "\n", encoding="utf-8")
    for name, doc in (extra_files or {}).items():
        (folder / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def save_checkpoint(
    out: str | os.PathLike,
    state_dict: dict[str, "torch.Tensor"],
    *,
    model_cfg: dict | None,
    preprocess_cfg: dict | None = None,
    meta: dict | None = None,
    extra_files: dict[str, dict] | None = None,
    overwrite: bool = False,
) -> Checkpoint:
    """Save a state dict as a checkpoint folder, atomically (temp folder + rename)."""
    out = Path(out)
    specs = [(normalize_key(k), code_of(v.dtype), tuple(v.shape)) for k, v in state_dict.items()]
    try:
        with atomic_dir(out, overwrite=overwrite) as tmp:
            write_checkpoint_files(
                tmp, specs, state_dict.values(), model_cfg=model_cfg, preprocess_cfg=preprocess_cfg,
                meta=meta, extra_files=extra_files,
            )
    except FileExistsError:
        raise CheckpointError(f"{out}: already exists (refusing to overwrite)") from None
    return open_checkpoint(out)


def save_safetensors(out: str | os.PathLike, state_dict: dict[str, "torch.Tensor"], metadata: dict[str, str] | None = None) -> None:
    """Save a bare ``.safetensors`` atomically."""
    specs = [(k, code_of(v.dtype), tuple(v.shape)) for k, v in state_dict.items()]
    with atomic_path(out) as tmp:
        write_streaming(tmp, specs, state_dict.values(), metadata)
