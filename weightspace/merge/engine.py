"""The streaming merge executor: one key at a time, from every input, straight to the output file.

For each key the method reads the inputs one after another (``KeyJob.inputs`` is lazy), computes in
float32 and the result is written at once, so peak memory is a few copies of the largest tensor
however many inputs there are. Each safetensors tensor is read through a private mapping of just its
byte range (``map_array`` / ``map_tensor``: no copy, headers parsed once by ``SafetensorsSource``),
released as soon as the tensor is dropped: no mapping stays resident, unlike ``safe_open`` handles
kept open (whose touched pages make RSS grow with the number of inputs). The output is written and
hashed on a background thread while the next key is computed (``write_streaming``). Legacy ``.pt``/``.pth``
inputs are loaded whole (``MemorySource``): they are not streamed, convert them to safetensors for
large merges.

Order of work, so the wait is short: headers, options and the output path are checked first (an
error costs no hashing); then the input files not in the ``HashCache`` are hashed on background
threads (``FileHashes``), which overlap the compute (and the import of torch, when it is needed).

The arithmetic runs on numpy arrays for the elementwise methods (``MergeMethod.numpy``) over
float16/32/64 safetensors on the CPU, so such a merge never imports torch; on torch otherwise
(``choose_arrays``, ``weightspace.merge.arrays``). Both give the same bits; provenance, manifest and
hash cache do not depend on which one ran.

Before anything is written, every input's header is checked against the reference (the base, else
the first input): same keys, same shapes, compatible dtypes. Keys every input has but the base lacks
(e.g. a ``temporal.*`` video head merged onto plain CLIP) are an error naming the key, unless they are
excluded (they are then left out of the output, which has the base's keys) or ``missing_in_base``
says what to do: ``drop`` (the same as excluding them) or ``keep:N`` (input N's tensor, N from 1). Output dtype per key: ``dtype`` if
given, else the reference's. Integer/bool tensors are never merged: they are copied from the
reference after checking every input holds the same values (a mismatch is an error). Keys left out
by include/exclude are copied from the reference unchecked. The same input given twice counts twice
(unlike mergekit issue #214, where identical references collapse into one): ``average A A B`` weights
A by 2/3. The output folder is written in a temporary sibling and renamed when complete.

Every float tensor written is checked: NaN/Inf in a merged tensor, or a ``dtype`` cast overflowing to
Inf, is an error naming the key (a logged warning with ``allow_nonfinite``). The per-key arithmetic
runs on ``device`` (``cuda`` if asked for and present, on torch); reading and writing stay on the CPU.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from weightspace.atomic import atomic_dir, check_replaceable
from weightspace.checkpoint import (
    HEAD_NAME, MANIFEST_NAME, WEIGHTS_NAME, Checkpoint, JoinedSource, SafetensorsSource, TensorSource, combined_sha256,
    make_meta, open_checkpoint, write_checkpoint_meta, write_weights,
)
from weightspace.errors import CheckpointError, ConfigError
from weightspace.merge.arrays import NumpyArrays, TorchArrays
from weightspace.merge.filters import KeyFilter
from weightspace.merge.hashing import FileHashes, HashCache, file_stamp
from weightspace.merge.manifest import build_manifest
from weightspace.merge.registry import InputsInfo, KeyJob, MergeMethod, get_method
from weightspace.safetensors_io import NUMPY_CODES

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64",
               "fp32": "F32", "fp16": "F16", "bf16": "BF16"}


@dataclass
class MergeInput:
    """One opened input (or the base) and the sha256 of its weights file (cached, or being hashed)."""

    ckpt: Checkpoint
    source: TensorSource
    role: str  # "base" | "input"
    path: Path  # the weights file, resolved
    stamp: list[int]  # its file_stamp when opened (for the hash cache)
    files: dict[str, Path] | None  # the safetensors file of each key; None for a source in memory (legacy .pt)
    weights_sha: str | None = None  # from the hash cache; else ``hashes`` computes it
    hashes: FileHashes | None = None
    _identity: str | None = None

    @property
    def label(self) -> str:
        return self.ckpt.ref

    def read(self, key: str, arrays: NumpyArrays | TorchArrays):
        if self.files is None:
            return self.source.read(key)  # torch tensors: ``choose_arrays`` picks torch for such inputs
        return arrays.map(self.files[key], self.source.info(key))  # zero-copy; released with the array

    def start_hash(self, hashes: FileHashes) -> None:
        if self.weights_sha is None:
            self.hashes = hashes
            hashes.start(self.path)

    def sha256(self) -> str:
        """The checkpoint's identity: the weights file's sha256 (combined with the head file's, if any)."""
        if self._identity is None:
            if self.weights_sha is None:
                self.weights_sha = self.hashes.result(self.path)
            self._identity = combined_sha256(self.weights_sha, self.ckpt.head)
        return self._identity


class LazyInputs(Sequence):
    """The inputs' tensors for one key, read (and cast to float32) on each access, never cached."""

    def __init__(self, inputs: list[MergeInput], key: str, arrays: NumpyArrays | TorchArrays):
        self._inputs, self._key, self._arrays = inputs, key, arrays

    def __len__(self) -> int:
        return len(self._inputs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        return _read_float(self._inputs[i], self._key, self._arrays)


@dataclass
class KeyPlan:
    key: str
    action: str  # "merge" | "copy" | "copy-checked" (integer tensors: inputs must agree) | "keep" (from src)
    dtype: str  # output safetensors code
    shape: tuple[int, ...]
    src: int | None = None  # "keep": index of the input whose tensor is written


class KeyStream:
    """Streaming passes over the merged keys, for methods that need whole-model statistics first."""

    def __init__(self, plan: list[KeyPlan], inputs: list[MergeInput], base: MergeInput | None, progress,
                 arrays: NumpyArrays | TorchArrays):
        self._keys = [(p.key, p.shape) for p in plan if p.action == "merge"]
        self._inputs, self._base, self._progress, self._arrays = inputs, base, progress, arrays
        self.n_inputs = len(inputs)

    def jobs(self, description: str) -> Iterator[KeyJob]:
        task = self._progress.add_task(description, total=len(self._keys))
        for key, shape in self._keys:
            with self._arrays.compute((description, tuple(shape))):  # the caller's work on the job is timed with it
                base = _read_float(self._base, key, self._arrays) if self._base else None
                yield KeyJob(key, LazyInputs(self._inputs, key, self._arrays), base, params={})
            self._progress.advance(task)


def _read_float(m: MergeInput, key: str, arrays: NumpyArrays | TorchArrays):
    return arrays.to_float32(m.read(key, arrays))


def parse_missing_rule(rule: str | None, n_inputs: int) -> tuple[str, int | None]:
    """``error`` | ``drop`` | ``keep:N`` (input N, counted from 1) -> (action, input index)."""
    text = str(rule or "error").strip()
    if text in ("error", "drop"):
        return text, None
    name, _, num = text.partition(":")
    if name == "keep" and num.strip().isdigit() and 1 <= int(num) <= n_inputs:
        return "keep", int(num) - 1
    raise ConfigError(f"option 'missing_in_base': expected error, drop or keep:N with N in 1..{n_inputs}, got {text!r}")


def _resolve_device(device: str | None) -> "torch.device":
    import torch

    name = str(device or "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available here (torch.cuda.is_available() is False)")
    try:
        dev = torch.device(name)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r}: expected cpu, cuda or cuda:N")
    return dev


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


def _same_keys(ref: MergeInput, others: list[MergeInput]) -> None:
    keyset = set(ref.source.keys())
    for o in others:
        theirs = set(o.source.keys())
        if theirs != keyset:
            missing = sorted(keyset - theirs)
            if missing:
                raise CheckpointError(f"{o.label}: key {missing[0]!r} is missing (present in {ref.label})")
            extra = sorted(theirs - keyset)[0]
            raise CheckpointError(f"{o.label}: unexpected key {extra!r} (not in {ref.label})")


def plan_keys(ref: MergeInput, others: list[MergeInput], filt: KeyFilter, dtype: str | None,
              missing_in_base: tuple[str, int | None] | None = None) -> list[KeyPlan]:
    """Check every input against the reference from headers alone; decide each key's action.

    With ``missing_in_base`` (a ``parse_missing_rule`` result) ``ref`` is the base and ``others`` the
    inputs: keys the inputs share but the base lacks follow that rule; otherwise all key sets must match.
    """
    keys = ref.source.keys()
    extra: list[str] = []
    if missing_in_base is None:
        _same_keys(ref, others)
    else:
        _same_keys(others[0], others[1:])
        mine = set(keys)
        extra = [k for k in others[0].source.keys() if k not in mine]
        absent = sorted(mine - set(others[0].source.keys()))
        if absent:
            raise CheckpointError(f"{others[0].label}: key {absent[0]!r} is missing (present in {ref.label})")
    filt.check_against(keys + extra)
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
    for key in extra:
        rule, src = missing_in_base
        if rule == "error" and filt(key):
            raise CheckpointError(
                f"{ref.label}: key {key!r} of the inputs is not in the base (--exclude it, or "
                "--missing-in-base keep:N to take input N's tensor, or drop)")
        if rule == "keep":  # a named rule holds whatever the filters say: the base has nothing to copy
            info = others[src].source.info(key)
            plan.append(KeyPlan(key, "keep", dtype if (dtype and info.is_float) else info.dtype, info.shape, src))
    if not any(p.action == "merge" for p in plan):
        raise ConfigError("nothing to merge: no floating-point key passes the include/exclude filters")
    return plan


def _files(source: TensorSource) -> dict[str, Path] | None:
    """Each key's safetensors file (a checkpoint with a head is two files); None for a source in memory."""
    parts = source.parts if isinstance(source, JoinedSource) else [source]
    if not all(isinstance(p, SafetensorsSource) for p in parts):
        return None
    return {key: p.path for p in parts for key in p.keys()}


def open_input(ref: str | os.PathLike, role: str, cache: HashCache) -> MergeInput:
    """Open a checkpoint for merging; its weights' sha256 comes from ``cache`` when the file is unchanged."""
    ckpt = open_checkpoint(ref)
    path = ckpt.weights.resolve()
    stamp = file_stamp(path)
    source = ckpt.source()
    return MergeInput(ckpt, source, role, path, stamp, _files(source), cache.get(path, stamp))


def choose_arrays(spec: MergeMethod, device: str | None, everyone: list[MergeInput],
                  plan: list[KeyPlan]) -> NumpyArrays | TorchArrays:
    """numpy where the method computes on it, on the CPU, from files, with numpy dtypes only; else torch."""
    codes = {kp.dtype for kp in plan} | {m.source.info(k).dtype for m in everyone for k in m.source.keys()}
    if (spec.numpy and str(device or "cpu") == "cpu" and all(m.files is not None for m in everyone)
            and codes <= NUMPY_CODES):
        return NumpyArrays()
    return TorchArrays(_resolve_device(device))


def _finite_or_report(kp: KeyPlan, merged, written, dtype: str | None, allow: bool,
                      arrays: NumpyArrays | TorchArrays) -> None:
    """NaN/Inf in a written float tensor is an error naming the key (a warning with ``allow``)."""
    bad = arrays.count_nonfinite(written)
    if not bad:
        return
    key = kp.key
    if dtype and not arrays.count_nonfinite(merged):
        peak = arrays.abs_max(merged)
        msg = f"key {key!r}: --dtype {dtype} overflows to Inf ({bad} entries, |value| up to {peak:.3g})"
    else:
        msg = f"key {key!r}: the merged tensor has {bad} NaN/Inf entries of {math.prod(kp.shape)}"
    if not allow:
        raise CheckpointError(msg + " (--allow-nonfinite writes it anyway)")
    log.warning("%s; written anyway (allow_nonfinite)", msg)


def _progress(enabled: bool | None):
    from weightspace.progress import LogProgress, progress_bar

    if enabled is False:
        return LogProgress(enabled=False)  # a silent merge draws and logs nothing
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

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
    missing_in_base: str | None = None,
    allow_nonfinite: bool = False,
    device: str | None = None,
    hash_cache: HashCache | None = None,
) -> Path:
    """Merge ``inputs`` (checkpoint refs) with ``method`` into the checkpoint folder ``out``.

    ``missing_in_base``: ``error`` (default) | ``drop`` | ``keep:N`` for keys the inputs have and the
    base lacks; ``device``: ``cpu`` (default) | ``cuda[:N]``; ``hash_cache``: where input hashes are
    remembered (default ``HashCache()``).
    """
    out = Path(out)
    spec = get_method(method)
    if not inputs:
        raise ConfigError("no inputs to merge")
    filt = KeyFilter(include, exclude)
    out_dtype = _resolve_dtype(dtype)
    rule = parse_missing_rule(missing_in_base, len(inputs))
    cache = hash_cache if hash_cache is not None else HashCache()
    base_in = open_input(base, "base", cache) if base is not None else None
    ins = [open_input(r, "input", cache) for r in inputs]
    everyone = ([base_in] if base_in else []) + ins
    _check_output(out, [m.ckpt for m in everyone], overwrite)
    info = InputsInfo(len(ins), base_in is not None, [m.ckpt.meta for m in ins], [m.label for m in ins])
    resolved = spec.resolve_params(params, info)
    ref = base_in or ins[0]
    plan = plan_keys(ref, [m for m in ins if m is not ref], filt, out_dtype, rule if base_in else None)

    if str(device or "cpu") != "cpu":
        _resolve_device(device)  # a bad or absent device fails before any hashing (cpu needs no check)
    hashes = FileHashes()  # from here on the inputs are hashed in the background (duplicates once)
    for m in everyone:
        m.start_hash(hashes)
    try:
        arrays = choose_arrays(spec, device, everyone, plan)  # torch, if chosen, is imported while hashing
        log.debug("merge %s computes on %s", spec.name, arrays.name)
        with _progress(progress) as bar:
            stream = KeyStream(plan, ins, base_in, bar, arrays)
            state = spec.prepare(resolved, stream) if spec.prepare else None

            def merged_key(kp: KeyPlan):
                if kp.action == "merge":
                    base_t = _read_float(base_in, kp.key, arrays) if base_in else None
                    return spec.merge_key(KeyJob(kp.key, LazyInputs(ins, kp.key, arrays), base_t, resolved, state))
                if kp.action == "keep":
                    return ins[kp.src].read(kp.key, arrays)
                t = ref.read(kp.key, arrays)
                if kp.action == "copy-checked":
                    for m in everyone:
                        if m is not ref and not arrays.equal(m.read(kp.key, arrays), t):
                            raise CheckpointError(
                                f"{m.label}: integer tensor {kp.key!r} differs from {ref.label} "
                                "(integer tensors are never merged; they must agree)")
                return t

            def tensors() -> Iterator:
                task = bar.add_task(f"merge ({spec.name})", total=len(plan))
                for kp in plan:
                    # threads by measurement, per action and shape (the writer and hash threads run beside): on 2
                    # shared cores 2 threads took 2.1x the wall of 1 for task-arith at load 5-6, 0.68x for SVDs at 1.1
                    with arrays.quiet(), arrays.compute((kp.action, tuple(kp.shape))):
                        t = merged_key(kp)
                        written = arrays.cast(t, kp.dtype)
                        _finite_or_report(kp, t, written, dtype, allow_nonfinite, arrays)
                    bar.advance(task)  # before the yield: the writer stops pulling after the last tensor
                    yield arrays.to_host(written)

            digest = hashlib.sha256()  # fed by the writer thread from the bytes it writes
            donor = _donor(ins, base_in)
            try:
                with atomic_dir(out, overwrite=overwrite) as tmp:
                    specs = [(kp.key, kp.dtype, kp.shape) for kp in plan]
                    write_weights(tmp, specs, tensors(), digest=digest)  # temporal.* keys -> the head file
                    parents = [{"ref": m.label, "sha256": m.sha256(), "role": m.role} for m in everyone]
                    base_ref = {"ref": base_in.label, "sha256": base_in.sha256()} if base_in else \
                        ins[0].ckpt.meta.get("base_model")
                    provenance = {"kind": "merge", "method": spec.name, "params": resolved, "parents": parents,
                                  **filt.as_dict()}
                    if any(kp.action == "keep" for kp in plan):
                        provenance["missing_in_base"] = missing_in_base
                    head = tmp / HEAD_NAME
                    out_sha = combined_sha256(digest.hexdigest(), head if head.is_file() else None)
                    manifest = build_manifest(spec, resolved, base_in, ins, filt, dtype, plan, out_sha, state)
                    write_checkpoint_meta(
                        tmp, model_cfg=donor.model_cfg, preprocess_cfg=donor.preprocess_cfg,
                        meta=make_meta(video=donor.meta.get("video"), base=base_ref, provenance=provenance),
                        extra_files={MANIFEST_NAME: manifest},
                    )
            except FileExistsError:
                raise ConfigError(f"{out}: already exists (use --overwrite to replace it)") from None
        for m in everyone:
            cache.put(m.path, m.stamp, m.weights_sha)
        # a later merge of the output hashes nothing
        cache.put(out / WEIGHTS_NAME, file_stamp(out / WEIGHTS_NAME), digest.hexdigest())
        cache.save()
    finally:
        hashes.close()
    return out
