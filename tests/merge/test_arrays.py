import warnings

import numpy as np
import pytest
import torch

from weightspace.merge.arrays import NumpyArrays, TorchArrays, namespace
from weightspace.safetensors_io import read_header, save_tensors

BOTH = [NumpyArrays(), TorchArrays(torch.device("cpu"))]


def _arr(arrays, values, dtype="float32"):
    t = torch.tensor(values, dtype=getattr(torch, dtype))
    return t.numpy() if arrays.name == "numpy" else t


def test_namespace_is_the_arrays_own_library():
    assert namespace(np.zeros(2)) is np and namespace(torch.zeros(2)) is torch


@pytest.mark.parametrize("arrays", BOTH, ids=lambda a: a.name)
def test_both_backends_map_cast_compare_and_count_alike(tmp_path, arrays):
    path = tmp_path / "t.safetensors"
    save_tensors(path, {"h": torch.tensor([1.5, -2.0], dtype=torch.float16), "i": torch.tensor([3, 4])})
    infos, _ = read_header(path)
    h = arrays.map(path, infos["h"])
    assert namespace(h) is (np if arrays.name == "numpy" else torch)
    f = arrays.to_float32(h)
    assert str(f.dtype).removeprefix("torch.") == "float32" and f.tolist() == [1.5, -2.0]
    assert arrays.equal(arrays.map(path, infos["i"]), _arr(arrays, [3, 4], "int64"))
    assert not arrays.equal(arrays.map(path, infos["i"]), _arr(arrays, [3, 5], "int64"))
    # 7e4 does not fit float16: the cast overflows to Inf, which the engine must see (and count) quietly
    big = _arr(arrays, [1.0, 7e4, -7e4, float("nan")])
    with warnings.catch_warnings(), arrays.quiet():
        warnings.simplefilter("error")
        half = arrays.cast(big, "F16")
        assert arrays.count_nonfinite(half) == 3 and arrays.count_nonfinite(big) == 1
        assert arrays.count_nonfinite(_arr(arrays, [3e38, 3e38])) == 0  # only the float32 sum overflows
    assert str(half.dtype).removeprefix("torch.") == "float16"
    assert arrays.count_nonfinite(_arr(arrays, [1, 2], "int64")) == 0
    assert arrays.abs_max(_arr(arrays, [1.0, -7e4])) == 7e4


def test_numpy_casts_a_numpy_scalar_to_an_array():
    # 0-d numpy arithmetic gives numpy scalars; the writer takes arrays
    got = NumpyArrays().cast(np.float32(2.5) * 2.0, "F32")
    assert isinstance(got, np.ndarray) and got.shape == () and float(got) == 5.0


def test_torch_compute_tunes_threads_per_kind_of_work_and_restores_the_callers_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # candidates (2, 1): the caller's count, then one thread
    try:
        arrays = TorchArrays(torch.device("cpu"))
        used: dict[str, list[int]] = {}
        for kind in ["svd", "bias", "svd", "bias"]:
            with arrays.compute(kind):
                used.setdefault(kind, []).append(torch.get_num_threads())
            assert torch.get_num_threads() == 2
        assert used == {"svd": [2, 1], "bias": [2, 1]}  # each kind probed on its own work
    finally:
        torch.set_num_threads(before)


def test_numpy_compute_leaves_torch_alone():
    with NumpyArrays().compute("svd") as got:
        assert got is None
