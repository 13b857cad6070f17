"""The streaming merge executor: one key at a time, from every input, straight to the output file.

For each key the method reads the inputs one after another (``KeyJob.inputs`` is lazy), computes in
float32 and the result is written at once, so peak memory is a few copies of the largest tensor
however many inputs there are. Each safetensors tensor is read through a private mapping of just its
byte range (``map_tensor``: no copy, headers parsed once by ``SafetensorsSource``), released as soon
as the tensor is dropped: no mapping stays resident, unlike ``safe_open`` handles kept open (whose
touched pages make RSS grow with the number of inputs). Input sha256s are computed from these same
bytes on a background thread (``hashing.py``), not by re-reading the files. Legacy ``.pt``/``.pth`` inputs are loaded whole (``MemorySource``): they are
not streamed, convert them to safetensors for large merges.

Before anything is written, every input's header is checked against the reference (the base, else
the first input): same keys, same shapes, compatible dtypes. Output dtype per key: ``dtype`` if
given, else the reference's. Integer/bool tensors are never merged: they are copied from the
reference after checking every input holds the same values (a mismatch is an error). Keys left out
by include/exclude are copied from the reference unchecked. The same input given twice counts twice
(unlike mergekit issue #214, where identical references collapse into one): ``average A A B`` weights
A by 2/3. The output folder is written in a temporary sibling and renamed when complete.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from weightspace.atomic import atomic_dir, check_replaceable
from weightspace.checkpoint import (
    MANIFEST_NAME, WEIGHTS_NAME, Checkpoint, SafetensorsSource, TensorSource, make_meta, open_checkpoint,
    write_checkpoint_meta,
)
from weightspace.errors import CheckpointError, ConfigError
from weightspace.merge.filters import KeyFilter
from weightspace.merge.hashing import AsyncDigest, FileHasher, HashWorker
from weightspace.merge.manifest import build_manifest
from weightspace.merge.registry import InputsInfo, KeyJob, get_method
from weightspace.safetensors_io import map_tensor, torch_dtype, write_streaming

if TYPE_CHECKING:
    import torch

DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64",
               "fp32": "F32", "fp16": "F16", "bf16": "BF16"}


@dataclass
class MergeInput:
    """One opened input (or the base) and the hash of its file, built from the reads."""

    ckpt: Checkpoint
    source: TensorSource
    role: str  # "base" | "input"
    hasher: FileHasher | None

    @property
    def label(self) -> str:
        return self.ckpt.ref

    def read(self, key: str) -> "torch.Tensor":
        if isinstance(self.source, SafetensorsSource):
            t = map_tensor(self.source.path, self.source.info(key))  # zero-copy; released with the tensor
        else:
            t = self.source.read(key)
        if self.hasher is not None and t.numel():
            info = self.source.info(key)
            self.hasher.feed(info.start, info.end, t.reshape(-1).view(_uint8()).numpy())
        return t

    def sha256(self) -> str:
        if self.ckpt._sha is None:
            self.ckpt._sha = self.hasher.hexdigest() if self.hasher is not None else self.ckpt.sha256()
        return self.ckpt._sha


def _uint8():
    import torch

    return torch.uint8


class LazyInputs(Sequence):
    """The inputs' tensors for one key, read (and cast to float32) on each access, never cached."""

    def __init__(self, inputs: list[MergeInput], key: str):
        self._inputs, self._key = inputs, key

    def __len__(self) -> int:
        return len(self._inputs)

    def __getitem__(self, i):
        import torch

        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        return self._inputs[i].read(self._key).to(torch.float32)


@dataclass
class KeyPlan:
    key: str
    action: str  # "merge" | "copy" | "copy-checked" (integer tensors: inputs must agree)
    dtype: str  # output safetensors code
    shape: tuple[int, ...]


class KeyStream:
    """Streaming passes over the merged keys, for methods that need whole-model statistics first."""

    def __init__(self, plan: list[KeyPlan], inputs: list[MergeInput], base: MergeInput | None, progress):
        self._keys = [p.key for p in plan if p.action == "merge"]
        self._inputs, self._base, self._progress = inputs, base, progress
        self.n_inputs = len(inputs)

    def jobs(self, description: str) -> Iterator[KeyJob]:
        import torch

        task = self._progress.add_task(description, total=len(self._keys))
        for key in self._keys:
            base = self._base.read(key).to(torch.float32) if self._base else None
            yield KeyJob(key, LazyInputs(self._inputs, key), base, params={})
            self._progress.advance(task)


def _resolve_dtype(dtype: str | None) -> str | None:
    if dtype is None:
        return None
    code = DTYPE_NAMES.get(str(dtype).lower())
    if code is None:
        raise ConfigError(f"option 'dtype': expected one of float32, float16, bfloat16, float64, got {dtype!r}")
    return code


def _check_output(out: Path, ckpts: list[Checkpoint], overwrite: bool) -> None:
    target = out.resolve()
    for c in ckpts:
        for p in filter(None, (c.weights, c.folder)):
            p = p.resolve()
            if p == target or target in p.parents:
                raise ConfigError(f"{out}: output path is the input {c.ref} (refusing to overwrite an input)")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: already exists (use --overwrite to replace it)")
    if out.exists() or out.is_symlink():
        check_replaceable(out)


def plan_keys(ref: MergeInput, others: list[MergeInput], filt: KeyFilter, dtype: str | None) -> list[KeyPlan]:
    """Check every input against the reference from headers alone; decide each key's action."""
    keys = ref.source.keys()
    keyset = set(keys)
    for o in others:
        theirs = set(o.source.keys())
        if theirs != keyset:
            missing = sorted(keyset - theirs)
            if missing:
                raise CheckpointError(f"{o.label}: key {missing[0]!r} is missing (present in {ref.label})")
            extra = sorted(theirs - keyset)[0]
            raise CheckpointError(f"{o.label}: unexpected key {extra!r} (not in {ref.label})")
    filt.check_against(keys)
    plan = []
    for key in keys:
        info = ref.source.info(key)
        if not filt(key):
            out_code = dtype if (dtype and info.is_float) else info.dtype
            plan.append(KeyPlan(key, "copy", out_code, info.shape))
            continue
        for o in others:
            other = o.source.info(key)
            if other.shape != info.shape:
                raise CheckpointError(
                    f"{o.label}: key {key!r} has shape {list(other.shape)}, {ref.label} has {list(info.shape)}")
            if other.is_float != info.is_float or (other.dtype != info.dtype and not (dtype and info.is_float)):
                hint = " (give --dtype to merge mixed float dtypes)" if other.is_float and info.is_float else ""
                raise CheckpointError(
                    f"{o.label}: key {key!r} is {other.dtype}, {ref.label} has {info.dtype}{hint}")
        if info.is_float:
            plan.append(KeyPlan(key, "merge", dtype or info.dtype, info.shape))
        else:
            plan.append(KeyPlan(key, "copy-checked", info.dtype, info.shape))
    if not any(p.action == "merge" for p in plan):
        raise ConfigError("nothing to merge: no floating-point key passes the include/exclude filters")
    return plan


def _open(ref: str | os.PathLike, role: str, hashers: dict[Path, FileHasher], worker: HashWorker) -> MergeInput:
    ckpt = open_checkpoint(ref)
    source = ckpt.source()
    hasher = None
    if not ckpt.is_legacy:  # legacy pickles are hashed from the file (they are read whole anyway)
        path = ckpt.weights.resolve()
        hasher = hashers.setdefault(path, FileHasher(path, worker))  # duplicates share one hash
    return MergeInput(ckpt, source, role, hasher)


def _progress(enabled: bool | None):
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from weightspace.progress import progress_bar

    return progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        enabled=True if enabled is None else enabled)


def _donor(inputs: list[MergeInput], base: MergeInput | None) -> Checkpoint:
    """Whose architecture config and video section the output carries: first input that has one."""
    for m in inputs + ([base] if base else []):
        if m.ckpt.model_cfg:
            return m.ckpt
    return inputs[0].ckpt


def merge(
    method: str,
    inputs: Sequence[str | os.PathLike],
    *,
    base: str | os.PathLike | None = None,
    out: str | os.PathLike,
    params: dict | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    dtype: str | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Merge ``inputs`` (checkpoint refs) with ``method`` into the checkpoint folder ``out``."""
    import torch

    out = Path(out)
    spec = get_method(method)
    if not inputs:
        raise ConfigError("no inputs to merge")
    filt = KeyFilter(include, exclude)
    out_dtype = _resolve_dtype(dtype)
    # The per-key work is elementwise and memory-bound: one compute thread plus the hash thread keeps
    # two cores busy without OpenMP barrier stalls (which are severe on a loaded machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    worker = HashWorker()
    try:
        hashers: dict[Path, FileHasher] = {}
        base_in = _open(base, "base", hashers, worker) if base is not None else None
        ins = [_open(r, "input", hashers, worker) for r in inputs]
        _check_output(out, [m.ckpt for m in ins + ([base_in] if base_in else [])], overwrite)
        info = InputsInfo(len(ins), base_in is not None, [m.ckpt.meta for m in ins], [m.label for m in ins])
        resolved = spec.resolve_params(params, info)
        ref = base_in or ins[0]
        plan = plan_keys(ref, [m for m in ins if m is not ref], filt, out_dtype)
        everyone = ([base_in] if base_in else []) + ins

        with _progress(progress) as bar:
            state = spec.prepare(resolved, KeyStream(plan, ins, base_in, bar)) if spec.prepare else None

            def tensors() -> Iterator["torch.Tensor"]:
                task = bar.add_task(f"merge ({spec.name})", total=len(plan))
                for kp in plan:
                    if kp.action == "merge":
                        base_t = base_in.read(kp.key).to(torch.float32) if base_in else None
                        t = spec.merge_key(KeyJob(kp.key, LazyInputs(ins, kp.key), base_t, resolved, state))
                    else:
                        t = ref.read(kp.key)
                        if kp.action == "copy-checked":
                            for m in everyone:
                                if m is not ref and not torch.equal(m.read(kp.key), t):
                                    raise CheckpointError(
                                        f"{m.label}: integer tensor {kp.key!r} differs from {ref.label} "
                                        "(integer tensors are never merged; they must agree)")
                    bar.advance(task)  # before the yield: the writer stops pulling after the last tensor
                    yield t.to(torch_dtype(kp.dtype))

            digest = AsyncDigest(worker)
            donor = _donor(ins, base_in)
            try:
                with atomic_dir(out, overwrite=overwrite) as tmp:
                    specs = [(kp.key, kp.dtype, kp.shape) for kp in plan]
                    write_streaming(tmp / WEIGHTS_NAME, specs, tensors(), metadata={"format": "pt"}, digest=digest)
                    parents = [{"ref": m.label, "sha256": m.sha256(), "role": m.role} for m in everyone]
                    base_ref = {"ref": base_in.label, "sha256": base_in.sha256()} if base_in else \
                        ins[0].ckpt.meta.get("base_model")
                    provenance = {"kind": "merge", "method": spec.name, "params": resolved, "parents": parents,
                                  **filt.as_dict()}
                    manifest = build_manifest(spec, resolved, base_in, ins, filt, dtype, plan,
                                              digest.hexdigest(), state)
                    write_checkpoint_meta(
                        tmp, model_cfg=donor.model_cfg, preprocess_cfg=donor.preprocess_cfg,
                        meta=make_meta(video=donor.meta.get("video"), base=base_ref, provenance=provenance),
                        extra_files={MANIFEST_NAME: manifest},
                    )
            except FileExistsError:
                raise ConfigError(f"{out}: already exists (use --overwrite to replace it)") from None
    finally:
        worker.close()
        torch.set_num_threads(threads)
    return out

