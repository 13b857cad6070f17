import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from weightspace.data import VideoDataset
from weightspace.data.transforms import CLIP_MEAN, CLIP_STD
from weightspace.errors import ConfigError, WeightspaceError

from .conftest import STEP


def ids_of(video: torch.Tensor) -> np.ndarray:
    """Invert CLIP normalisation and read the gray-level frame index of [..., T, 3, H, W]."""
    mean = torch.tensor(CLIP_MEAN).view(3, 1, 1)
    std = torch.tensor(CLIP_STD).view(3, 1, 1)
    gray = (video * std + mean) * 255
    return np.rint(gray.flatten(-3).mean(-1).numpy() / STEP).astype(int)


@pytest.fixture
def videos(tmp_path, make_video):
    make_video("v/a.mp4", n=20)
    make_video("v/b.webm", n=16)
    (tmp_path / "v" / "bad.mp4").write_bytes(b"garbage" * 30)
    (tmp_path / "train.txt").write_text("v/a.mp4 0\nv/b.webm 1\n")
    (tmp_path / "mixed.txt").write_text("v/a.mp4 0\nv/bad.mp4 1\nv/b.webm 1\n")
    (tmp_path / "cls.csv").write_text("id,name\n0,moving left\n1,moving right\n")
    return tmp_path


def test_train_sample(videos):
    ds = VideoDataset(videos / "train.txt", videos / "cls.csv", num_frames=4, image_size=16, seed=1)
    assert len(ds) == 2 and ds.classnames == ["moving left", "moving right"] and ds.labels == [0, 1]
    s = ds[0]
    assert s["video"].shape == (4, 3, 16, 16) and s["video"].dtype == torch.float32
    assert s["label"] == 0 and s["index"] == 0 and s["ok"] is True
    ids = ids_of(s["video"])
    assert all(5 * i <= f < 5 * i + 5 for i, f in enumerate(ids))  # one frame per 5-frame segment
    assert np.array_equal(ids_of(ds[0]["video"]), ids)  # reproducible in (seed, epoch, index)
    seen = set()
    for e in range(8):
        ds.set_epoch(e)
        seen.add(tuple(ids_of(ds[0]["video"])))
    assert len(seen) > 1  # new offsets each epoch


def test_multi_view_test_sample(videos):
    ds = VideoDataset(videos / "train.txt", videos / "cls.csv", num_frames=4, image_size=16, mode="test",
                      temporal_views=2, spatial_crops=3)
    assert ds.num_views == 6 and ds.clip_shape == (6, 4, 3, 16, 16)
    v = ds[0]["video"]
    assert v.shape == (6, 4, 3, 16, 16)
    ids = ids_of(v)
    # temporal-view major: views 0-2 are temporal view 0 (offset 0.25), views 3-5 temporal view 1 (offset 0.75)
    assert ids[:3].tolist() == [[1, 6, 11, 16]] * 3 and ids[3:].tolist() == [[3, 8, 13, 18]] * 3
    single = VideoDataset(videos / "train.txt", videos / "cls.csv", num_frames=4, image_size=16, mode="test")
    assert single[1]["video"].shape == (1, 4, 3, 16, 16)
    assert ids_of(single[1]["video"])[0].tolist() == [2, 6, 10, 14]  # centres of 4-frame segments (webm, 16 frames)


def test_spatial_crops_differ_on_wide_video(tmp_path):
    from weightspace.data.encode import write_video

    frames = np.zeros((4, 16, 32, 3), np.uint8)
    frames[:] = (np.arange(32) * 7).astype(np.uint8)[None, None, :, None]  # brightness grows to the right
    write_video(tmp_path / "w.mp4", frames)
    (tmp_path / "l.txt").write_text("w.mp4 0\n")
    (tmp_path / "c.json").write_text('{"0": "x"}')
    v = VideoDataset(tmp_path / "l.txt", tmp_path / "c.json", num_frames=2, image_size=16, mode="test", spatial_crops=3)[0]["video"]
    left, centre, right = (v[i].mean().item() for i in range(3))
    assert left < centre < right


def test_unreadable_video_is_counted_not_raised(videos):
    ds = VideoDataset(videos / "mixed.txt", videos / "cls.csv", num_frames=4, image_size=16, mode="test")
    assert ds.report_failures() == ""
    bad = ds[1]
    assert bad["ok"] is False and bad["label"] == 1 and bad["video"].shape == (1, 4, 3, 16, 16)
    assert bad["video"].abs().sum() == 0
    ds[1]
    assert [(f.index, f.path.endswith("bad.mp4")) for f in ds.failures] == [(1, True)]
    report = ds.report_failures()
    assert report.startswith("1 of 3 videos") and "bad.mp4" in report


def test_failures_from_dataloader_workers_reach_the_parent(videos):
    ds = VideoDataset(videos / "mixed.txt", videos / "cls.csv", num_frames=2, image_size=8)
    batches = list(DataLoader(ds, batch_size=2, num_workers=2))
    assert torch.cat([b["ok"] for b in batches]).all()  # train mode: the unreadable one was replaced
    assert torch.cat([b["index"] for b in batches]).tolist()[1] in (0, 2)
    assert [f.index for f in ds.failures] == [1]


def test_unreadable_training_video_is_replaced_by_a_seeded_other_sample(videos):
    def draw(seed, epoch):
        ds = VideoDataset(videos / "mixed.txt", videos / "cls.csv", num_frames=2, image_size=8, seed=seed)
        ds.set_epoch(epoch)
        item = ds[1]
        assert item["ok"] and item["index"] != 1 and item["label"] == ds.entries[item["index"]].label
        assert "other samples were used" in ds.report_failures()
        return item["index"], item["video"]

    (i, v), (j, w) = draw(0, 0), draw(0, 0)
    assert i == j and torch.equal(v, w)  # the same replacement (and clip) in every run: resume is unaffected
    assert len({draw(s, e)[0] for s in range(4) for e in range(4)}) == 2  # both readable videos get drawn


def test_readability_is_checked_up_front_against_a_stated_fraction(videos):
    ds = VideoDataset(videos / "mixed.txt", videos / "cls.csv", num_frames=2, image_size=8, mode="test")
    with pytest.raises(WeightspaceError, match=r"1 of 3 videos cannot be read \(more than the 5% allowed\): .*bad\.mp4") as exc:
        ds.check_readable()
    assert "\n" not in str(exc.value)
    fails = ds.check_readable(limit=0.5)
    assert [f.index for f in fails] == [1] and ds.unreadable == {1}
    assert ds.check_readable(limit=0.5) == fails  # re-checking does not double-count


def test_frame_folders_from_a_rawframes_list(tmp_path, make_frame_folder):
    make_frame_folder("frames/clip", n=12)
    (tmp_path / "raw.txt").write_text("frames/clip 12 0\n")
    (tmp_path / "c.json").write_text('{"0": "x"}')
    ds = VideoDataset(tmp_path / "raw.txt", tmp_path / "c.json", num_frames=3, image_size=16, mode="test")
    assert ids_of(ds[0]["video"])[0].tolist() == [2, 6, 10]


def test_cache_gives_the_same_clips(videos):
    kw = dict(num_frames=4, image_size=24, mode="test")
    plain = VideoDataset(videos / "mixed.txt", videos / "cls.csv", **kw)
    cached = VideoDataset(videos / "mixed.txt", videos / "cls.csv", cache_dir=videos / "cache", cache_frames=20, **kw)
    assert np.array_equal(ids_of(plain[0]["video"]), ids_of(cached[0]["video"]))
    assert cached[1]["ok"] is False and "bad.mp4" in cached.report_failures()


def test_configuration_errors(videos):
    args = (videos / "train.txt", videos / "cls.csv")
    with pytest.raises(ConfigError, match="mode"):
        VideoDataset(*args, mode="val")
    with pytest.raises(ConfigError, match="1 or 3"):
        VideoDataset(*args, mode="test", spatial_crops=2)
    with pytest.raises(ConfigError, match="spatial_crops=1"):
        VideoDataset(*args, mode="test", spatial_crops=3, cache_dir=videos / "c")
    (videos / "one.json").write_text('{"0": "only"}')
    with pytest.raises(WeightspaceError, match=r"train\.txt:2: label 1 out of range"):
        VideoDataset(videos / "train.txt", videos / "one.json")


def test_window_sampler_and_augmentation_options(videos):
    from weightspace.data.transforms import Augmentation

    ds = VideoDataset(videos / "train.txt", videos / "cls.csv", num_frames=4, image_size=16, mode="test",
                      sampler="window", stride=3, temporal_views=2)
    assert ids_of(ds[0]["video"]).tolist() == [[0, 3, 6, 9], [10, 13, 16, 19]]  # 20 frames: first and last window
    aug = Augmentation(short_side=(16, 24), flip=True, color_jitter=0.4)
    tr = VideoDataset(videos / "train.txt", videos / "cls.csv", num_frames=4, image_size=16, sampler="window",
                      stride=3, augment=aug, seed=1)
    a, b = tr[0]["video"], tr[0]["video"]
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)  # seeded by (seed, epoch, index)
    with pytest.raises(ConfigError, match="sampler"):
        VideoDataset(videos / "train.txt", videos / "cls.csv", sampler="slowfast")
