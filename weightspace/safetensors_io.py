"""Low-level safetensors reading and writing, one tensor at a time.

Reading parses the header ourselves and ``pread``s each tensor's byte range, or maps just that range
(``map_tensor`` for torch, ``map_array`` for numpy, which does not import torch), so no file mapping
stays resident: peak memory is one tensor however many files are open (our measurement: summing four
ViT-B/16 files through open ``safe_open`` handles peaked at 2.8 GB RSS, byte-range reads at 0.7 GB).
Writing streams the header and then each tensor's bytes in order, on a background thread, so the
output never has to sit in memory whole and the producer of the next tensor runs meanwhile.
"""

from __future__ import annotations

import json
import math
import os
import queue
import stat
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from weightspace.errors import CheckpointError

if TYPE_CHECKING:  # torch is imported lazily: light paths (CLI help) must not pay for it
    import torch

# safetensors dtype codes -> (torch dtype name, bytes per element): every whole-byte dtype of the format
# (the sub-byte F4/F6 codes have no torch element type)
DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("float64", 8),
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "F8_E4M3": ("float8_e4m3fn", 1),
    "F8_E5M2": ("float8_e5m2", 1),
    "F8_E4M3FNUZ": ("float8_e4m3fnuz", 1),
    "F8_E5M2FNUZ": ("float8_e5m2fnuz", 1),
    "F8_E8M0": ("float8_e8m0fnu", 1),
    "C64": ("complex64", 8),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U64": ("uint64", 8),
    "U32": ("uint32", 4),
    "U16": ("uint16", 2),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
}
FLOAT_CODES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}
# the codes numpy has an element type for (under the same name as torch's): not bfloat16 nor the float8s
NUMPY_CODES = frozenset(code for code in DTYPES if code != "BF16" and not code.startswith("F8"))
MAX_HEADER = 100 * 1024 * 1024
WRITE_BUDGET = 64 << 20  # bytes produced but not yet written (plus one larger tensor alone)


def code_of(dtype) -> str:
    """The safetensors code of a torch or numpy dtype (both name their types alike)."""
    name = str(dtype).removeprefix("torch.")
    for code, (tname, _) in DTYPES.items():
        if tname == name:
            return code
    raise CheckpointError(f"dtype {dtype} cannot be stored in safetensors")


def torch_dtype(code: str) -> "torch.dtype":
    import torch

    return getattr(torch, DTYPES[code][0])


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives in a safetensors file."""

    name: str  # the name as stored in the file
    dtype: str  # safetensors code, e.g. "F32"
    shape: tuple[int, ...]
    start: int  # absolute byte offsets in the file
    end: int

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_CODES

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def read_header(path: str | os.PathLike) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Parse and validate a safetensors header: (tensors by stored name, metadata).

    Raises CheckpointError naming the file for a truncated, corrupt or inconsistent file.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path}: not a regular file (a FIFO, device or folder?)")
        size = info.st_size
        with open(path, "rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise CheckpointError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER or 8 + n > size:
                raise CheckpointError(f"{path}: corrupt or truncated safetensors header (length {n}, file {size} bytes)")
            header_bytes = fh.read(n)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    header = _parse_header_json(path, header_bytes)
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: corrupt safetensors header (__metadata__ must map strings to strings)")
    base = 8 + n
    tensors = {name: _entry(path, name, entry, base) for name, entry in header.items()}
    _check_layout(path, tensors, base, size)
    return tensors, metadata


def _parse_header_json(path: Path, raw: bytes) -> dict:
    if raw[:1] != b"{":  # also stops a deeply nested array before the JSON parser recurses into it
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt safetensors header (invalid JSON: {exc})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: corrupt safetensors header (JSON nested too deeply)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
    return header


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _entry(path: Path, name: str, entry, base: int) -> TensorInfo:
    """One header entry, checked as the reference loader does: known dtype, sizes that are counts."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{path}: corrupt safetensors entry for key {name!r} (expected dtype, shape, data_offsets)")
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(code, str) or code not in DTYPES:
        raise CheckpointError(f"{path}: key {name!r} has unsupported dtype {str(code)[:20]}")
    if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
        raise CheckpointError(f"{path}: key {name!r} has an invalid shape (dimensions must be integers >= 0)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets):
        raise CheckpointError(f"{path}: key {name!r} has invalid data_offsets")
    begin, end = offsets
    if end < begin or end - begin != math.prod(shape) * DTYPES[code][1]:
        raise CheckpointError(f"{path}: key {name!r} has a byte range that does not match its shape")
    return TensorInfo(name, code, tuple(shape), base + begin, base + end)


def _check_layout(path: Path, tensors: dict[str, TensorInfo], base: int, size: int) -> None:
    """Byte ranges must tile the data section exactly, as the reference loader requires: no overlap, no gap."""
    at = base
    for info in sorted(tensors.values(), key=lambda t: (t.start, t.end)):
        if info.end > size:
            raise CheckpointError(f"{path}: truncated (key {info.name!r} ends past the end of the file)")
        if info.start != at:
            what = "overlaps another tensor" if info.start < at else "starts after a gap"
            raise CheckpointError(f"{path}: key {info.name!r} {what} (corrupt byte ranges)")
        at = info.end
    if at != size:
        raise CheckpointError(f"{path}: corrupt safetensors file ({size - at} bytes after the last tensor)")


def read_tensor(path: str | os.PathLike, info: TensorInfo) -> "torch.Tensor":
    """Read one tensor with a positional read; the result owns its memory (no mapping kept)."""
    import torch

    nbytes = info.end - info.start
    if nbytes == 0:
        return torch.empty(info.shape, dtype=torch_dtype(info.dtype))
    flat = torch.empty(nbytes, dtype=torch.uint8)  # not zero-filled: the read overwrites every byte
    view = memoryview(flat.numpy())
    with open(path, "rb", buffering=0) as fh:
        got = 0
        while got < nbytes:
            k = os.preadv(fh.fileno(), [view[got:]], info.start + got)
            if k == 0:
                raise CheckpointError(f"{path}: truncated while reading key {info.name!r}")
            got += k
    return flat.view(torch_dtype(info.dtype)).reshape(info.shape)


def _map_bytes(path: str | os.PathLike, info: TensorInfo):
    """The tensor's bytes as a numpy uint8 array over a private mapping of just its byte range (no copy).

    The mapping lives exactly as long as the array (and views of it): unlike a ``safe_open`` handle
    kept open, nothing stays resident once it is dropped. Writes to it stay private (copy on write).
    The file size is checked first, so a file truncated since its header was read is an error rather
    than a SIGBUS.
    """
    import mmap

    import numpy as np

    nbytes = info.end - info.start
    if nbytes == 0:
        return np.empty(0, dtype=np.uint8)
    lead = info.start % mmap.ALLOCATIONGRANULARITY
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size < info.end:
            raise CheckpointError(f"{path}: truncated (key {info.name!r} ends past the end of the file)")
        mm = mmap.mmap(fh.fileno(), lead + nbytes, offset=info.start - lead, access=mmap.ACCESS_COPY)
    return np.frombuffer(mm, dtype=np.uint8, count=nbytes, offset=lead)


def map_array(path: str | os.PathLike, info: TensorInfo):
    """One tensor as a numpy array backed by a private mapping of its byte range (see ``_map_bytes``).

    For the dtypes numpy has (``NUMPY_CODES``); torch is not imported.
    """
    if info.dtype not in NUMPY_CODES:
        raise CheckpointError(f"{path}: key {info.name!r} is {info.dtype}, which numpy has no element type for")
    return _map_bytes(path, info).view(DTYPES[info.dtype][0]).reshape(info.shape)


def map_tensor(path: str | os.PathLike, info: TensorInfo) -> "torch.Tensor":
    """One tensor backed by a private mapping of its byte range (see ``_map_bytes``), any dtype."""
    import torch

    if info.end == info.start:  # torch cannot view an empty byte array of stride 0 as a wider dtype
        return torch.empty(info.shape, dtype=torch_dtype(info.dtype))
    return torch.from_numpy(_map_bytes(path, info)).view(torch_dtype(info.dtype)).reshape(info.shape)


def _header_bytes(specs: list[tuple[str, str, tuple[int, ...]]], metadata: dict[str, str] | None) -> bytes:
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, code, shape in specs:
        nbytes = math.prod(shape) * DTYPES[code][1]
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # 8-byte alignment, as the reference writer does
    return struct.pack("<Q", len(raw)) + raw


class _BackgroundWriter:
    """Writes byte buffers to ``fh`` (and feeds ``digest``) on one thread, in order.

    At most ``budget`` bytes wait (one larger buffer alone may), so the producer's next tensor is
    computed while the previous ones are written and hashed, with memory bounded. Both the write and
    hashlib's update release the GIL.
    """

    def __init__(self, fh, digest, budget: int):
        self._fh, self._digest, self._budget = fh, digest, budget
        self._waiting = 0
        self._error: BaseException | None = None
        self._stop = False
        self._cv = threading.Condition()
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="weightspace-writer", daemon=True)
        self._thread.start()

    def put(self, buf: memoryview) -> None:
        with self._cv:
            while self._waiting and self._waiting + buf.nbytes > self._budget and self._error is None:
                self._cv.wait()
            if self._error is not None:
                raise self._error
            self._waiting += buf.nbytes
        self._q.put(buf)

    def _run(self) -> None:
        while (buf := self._q.get()) is not None:
            try:
                if not self._stop and self._error is None:
                    self._fh.write(buf)
                    if self._digest is not None:
                        self._digest.update(buf)
            except BaseException as exc:  # handed to the producer by put() / close()
                self._error = exc
            finally:
                with self._cv:
                    self._waiting -= buf.nbytes
                    self._cv.notify_all()
                del buf

    def close(self, *, abort: bool = False) -> None:
        """Wait for every buffer to be written (``abort``: drop those not written yet); re-raise a write error."""
        self._stop = abort
        self._q.put(None)
        self._thread.join()
        if self._error is not None and not abort:
            raise self._error


def _raw_bytes(t) -> memoryview:
    """A torch tensor's or numpy array's bytes in C order (no copy when it is contiguous on the CPU)."""
    import numpy as np

    if not isinstance(t, np.ndarray):  # torch: numpy has no bf16/f8 type, so take the bytes as uint8
        import torch

        t = t.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy()
    return memoryview(np.ascontiguousarray(t).reshape(-1).view(np.uint8))


def write_streaming(
    path: str | os.PathLike,
    specs: list[tuple[str, str, tuple[int, ...]]],
    tensors: Iterable["torch.Tensor"],
    metadata: dict[str, str] | None = None,
    *,
    digest=None,
    budget: int = WRITE_BUDGET,
) -> None:
    """Write a safetensors file from ``specs`` (name, dtype code, shape) and tensors in that order.

    The bytes are written on a background thread (see ``_BackgroundWriter``) while the next tensor is
    produced, so a tensor must not be modified once yielded. ``digest`` (a ``hashlib`` object) is fed
    every byte written, from memory, so the file's hash costs no re-read.
    Tensors may be torch tensors or numpy arrays (a numpy-only writer never imports torch).
    Not atomic by itself: callers write into a temporary path (see ``weightspace.atomic``).
    """
    it: Iterator = iter(tensors)
    with open(path, "wb") as fh:
        head = _header_bytes(specs, metadata)
        fh.write(head)
        if digest is not None:
            digest.update(head)
        writer = _BackgroundWriter(fh, digest, budget)
        try:
            for name, code, shape in specs:
                try:
                    t = next(it)
                except StopIteration:
                    raise CheckpointError(
                        f"{path}: writer got fewer tensors than declared (missing {name!r})") from None
                if tuple(t.shape) != tuple(shape) or code_of(t.dtype) != code:
                    raise CheckpointError(
                        f"{path}: tensor {name!r} is {code_of(t.dtype)}{list(t.shape)}, declared {code}{list(shape)}"
                    )
                data = _raw_bytes(t)
                if data.nbytes:
                    writer.put(data)  # the view keeps the tensor alive
        except BaseException:
            writer.close(abort=True)
            raise
        writer.close()


def save_tensors(path: str | os.PathLike, tensors: dict[str, "torch.Tensor"], metadata: dict[str, str] | None = None) -> None:
    """Write a dict of tensors (non-atomic; see ``write_streaming``)."""
    specs = [(k, code_of(v.dtype), tuple(v.shape)) for k, v in tensors.items()]
    write_streaming(path, specs, tensors.values(), metadata)
