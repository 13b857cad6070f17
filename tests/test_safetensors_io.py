import hashlib
import json
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file

from weightspace.errors import CheckpointError
from weightspace.safetensors_io import (
    NUMPY_CODES, code_of, map_array, map_tensor, read_header, read_tensor, save_tensors, write_streaming,
)

TENSORS = {
    "f32": torch.randn(3, 4),
    "f16": torch.randn(5).half(),
    "bf16": torch.randn(2, 3).bfloat16(),
    "f64": torch.randn(2).double(),
    "i64": torch.arange(6).reshape(2, 3),
    "u8": torch.tensor([1, 2, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False]),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 3),
    "u16": torch.tensor([1, 65535], dtype=torch.uint16),
    "u32": torch.tensor([1, 2**32 - 1], dtype=torch.uint32),
    "u64": torch.tensor([1, 2**63], dtype=torch.uint64),
    "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
    "f8e4": torch.tensor([0.5, 2.0]).to(torch.float8_e4m3fn),
    "f8e5": torch.tensor([0.5, 2.0]).to(torch.float8_e5m2),
    "f8e4nuz": torch.tensor([0.5, 2.0]).to(torch.float8_e4m3fnuz),
    "f8e5nuz": torch.tensor([0.5, 2.0]).to(torch.float8_e5m2fnuz),
}


def _equal(a, b):
    return torch.equal(a.view(torch.uint8), b.view(torch.uint8)) if a.dtype.itemsize == 1 else torch.equal(a, b)


@pytest.mark.parametrize("reader", [read_tensor, map_tensor])
def test_round_trip_every_dtype_and_agree_with_the_reference_library(tmp_path, reader):
    path = tmp_path / "t.safetensors"
    save_tensors(path, TENSORS, metadata={"k": "v"})
    infos, meta = read_header(path)
    assert meta == {"k": "v"}
    ref = load_file(path)  # the reference reader accepts our files
    for name, t in TENSORS.items():
        got = reader(path, infos[name])
        assert got.dtype == t.dtype and got.shape == t.shape and _equal(got, t) and _equal(ref[name], t)


def test_numpy_mapping_of_every_dtype_numpy_has_and_a_clear_error_for_the_others(tmp_path):
    path = tmp_path / "t.safetensors"
    save_tensors(path, TENSORS)
    infos, _ = read_header(path)
    for name, t in TENSORS.items():
        if infos[name].dtype in NUMPY_CODES:
            got = map_array(path, infos[name])
            assert got.shape == tuple(t.shape) and got.tobytes() == t.numpy().tobytes(), name
        else:
            with pytest.raises(CheckpointError, match=f"key '{name}' is {infos[name].dtype}, which numpy has no"):
                map_array(path, infos[name])
    assert {infos[n].dtype for n in TENSORS} - NUMPY_CODES == {"BF16", "F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ",
                                                               "F8_E5M2FNUZ"}


def test_numpy_arrays_are_written_as_the_same_bytes_as_torch_tensors(tmp_path):
    numpyable = {k: t for k, t in TENSORS.items() if code_of(t.dtype) in NUMPY_CODES}
    save_tensors(tmp_path / "pt.safetensors", numpyable)
    save_tensors(tmp_path / "np.safetensors", {k: t.numpy() for k, t in numpyable.items()})
    assert (tmp_path / "np.safetensors").read_bytes() == (tmp_path / "pt.safetensors").read_bytes()


def test_reads_files_written_by_the_reference_library(tmp_path):
    path = tmp_path / "ref.safetensors"
    save_file({"a": torch.arange(10.0), "b": torch.ones(2, 2, dtype=torch.bfloat16)}, path, metadata={"m": "1"})
    infos, meta = read_header(path)
    assert meta == {"m": "1"} and torch.equal(read_tensor(path, infos["a"]), torch.arange(10.0))


def test_streaming_writer_digest_is_the_file_sha256(tmp_path):
    path = tmp_path / "s.safetensors"
    h = hashlib.sha256()
    specs = [("x", "F32", (2, 2)), ("y", "I64", (3,))]
    write_streaming(path, specs, iter([torch.ones(2, 2), torch.arange(3)]), {"format": "pt"}, digest=h)
    assert h.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (8 + struct.unpack("<Q", path.read_bytes()[:8])[0]) % 8 == 0  # header padded to 8 bytes


@pytest.mark.parametrize("tensors,match", [
    ([torch.ones(2, 2)], "fewer tensors than declared \\(missing 'y'\\)"),
    ([torch.ones(2, 3), torch.arange(3)], "'x' is F32\\[2, 3\\], declared F32\\[2, 2\\]"),
    ([torch.ones(2, 2).half(), torch.arange(3)], "'x' is F16"),
])
def test_streaming_writer_refuses_tensors_that_do_not_fit(tmp_path, tensors, match):
    with pytest.raises(CheckpointError, match=match):
        write_streaming(tmp_path / "w.safetensors", [("x", "F32", (2, 2)), ("y", "I64", (3,))], tensors)


def _header_file(path, header: dict, data: bytes = b"") -> None:
    _raw_header(path, json.dumps(header).encode(), data)


def _raw_header(path, raw: bytes, data: bytes = b"") -> None:
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


F32_1 = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}


@pytest.mark.parametrize("make,match", [
    (lambda p: p.write_bytes(b"\x01\x02"), "shorter than its 8-byte header"),
    (lambda p: p.write_bytes(struct.pack("<Q", 10**6) + b"{}"), "corrupt or truncated safetensors header"),
    (lambda p: p.write_bytes(struct.pack("<Q", 5) + b"{nope"), "corrupt safetensors header"),
    (lambda p: _header_file(p, [1, 2]), "not a JSON object"),
    (lambda p: _header_file(p, {"a": {"dtype": "F32"}}), "corrupt safetensors entry for key 'a'"),
    (lambda p: _header_file(p, {"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"0000"), "unsupported dtype X9"),
    (lambda p: _header_file(p, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"0000"), "does not match its shape"),
    (lambda p: _header_file(p, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"0000"), "truncated \\(key 'a'"),
    (lambda p: _header_file(p, {"__metadata__": [1], "a": F32_1}, b"0000"), "__metadata__ must map strings to strings"),
    (lambda p: _header_file(p, {"__metadata__": {"k": {"deep": 1}}, "a": F32_1}, b"0000"), "__metadata__ must map"),
    (lambda p: _header_file(p, {"a": {"dtype": "F32", "shape": [-1, -1], "data_offsets": [0, 4]}}, b"0000"),
     "invalid shape"),
    (lambda p: _header_file(p, {"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, b"0000"), "invalid shape"),
    (lambda p: _header_file(p, {"a": F32_1, "b": F32_1}, b"00000000"), "overlaps another tensor"),
    (lambda p: _header_file(p, {"a": {**F32_1, "data_offsets": [4, 8]}}, b"00000000"), "starts after a gap"),
    (lambda p: _header_file(p, {"a": F32_1}, b"00000000"), "4 bytes after the last tensor"),
    (lambda p: _header_file(p, {"a": {**F32_1, "data_offsets": [-4, 0]}}, b"0000"), "invalid data_offsets"),
    (lambda p: _raw_header(p, b'{"__metadata__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "corrupt safetensors header"),
    (lambda p: _raw_header(p, b"[" * 100_000 + b"]" * 100_000), "not a JSON object"),
    (lambda p: _raw_header(p, b'{"a": \xff}'), "invalid JSON"),
])
def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path, make, match):
    path = tmp_path / "bad.safetensors"
    make(path)
    with pytest.raises(CheckpointError, match=match) as exc:
        read_header(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("reader", [read_tensor, map_tensor])
def test_file_truncated_after_its_header_was_read(tmp_path, reader):
    path = tmp_path / "t.safetensors"
    save_tensors(path, {"a": torch.ones(1000)})
    infos, _ = read_header(path)
    path.write_bytes(path.read_bytes()[:-400])
    with pytest.raises(CheckpointError, match="truncated"):
        reader(path, infos["a"])


def test_mapped_tensor_writes_stay_private(tmp_path):
    path = tmp_path / "t.safetensors"
    save_tensors(path, {"a": torch.zeros(4)})
    infos, _ = read_header(path)
    t = map_tensor(path, infos["a"])
    t += 1
    assert torch.equal(read_tensor(path, infos["a"]), torch.zeros(4))


def test_streaming_writer_keeps_order_whatever_the_budget(tmp_path):
    tensors = {f"t{i}": torch.randn(1000 + i) for i in range(20)}
    specs = [(k, "F32", tuple(v.shape)) for k, v in tensors.items()]
    path = tmp_path / "b.safetensors"
    h = hashlib.sha256()
    write_streaming(path, specs, iter(tensors.values()), digest=h, budget=1)  # every tensor waits for the last
    got = load_file(path)
    assert all(torch.equal(got[k], v) for k, v in tensors.items())
    assert h.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_write_error_on_the_writer_thread_reaches_the_caller():
    import errno

    specs = [(f"t{i}", "F32", (100_000,)) for i in range(4)]  # larger than the file buffer: written at once
    with pytest.raises(OSError) as exc:
        write_streaming("/dev/full", specs, (torch.ones(100_000) for _ in range(4)))
    assert exc.value.errno == errno.ENOSPC


def test_an_error_of_the_producer_stops_the_writer(tmp_path):
    def tensors():
        yield torch.ones(10)
        raise RuntimeError("producer failed")

    with pytest.raises(RuntimeError, match="producer failed"):
        write_streaming(tmp_path / "p.safetensors", [("a", "F32", (10,)), ("b", "F32", (10,))], tensors())
    import threading

    assert not any(t.name == "weightspace-writer" for t in threading.enumerate())
