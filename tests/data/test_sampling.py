import numpy as np
import pytest

from weightspace.data.sampling import segment_indices, spatial_positions, view_indices


def test_test_mode_takes_segment_centres():
    # seg = 20 / 4 = 5: int(5 i + 2.5)
    assert segment_indices(20, 4).tolist() == [2, 7, 12, 17]
    # fewer frames than segments: seg = 3 / 8 = 0.375, int(0.375 i + 0.1875)
    assert segment_indices(3, 8).tolist() == [0, 0, 0, 1, 1, 2, 2, 2]


def test_train_mode_takes_one_random_frame_per_segment():
    rng = np.random.default_rng(0)
    draws = np.stack([segment_indices(20, 4, rng=rng) for _ in range(200)])
    for i in range(4):
        assert draws[:, i].min() == 5 * i and draws[:, i].max() == 5 * i + 4  # covers the whole segment, no more
    assert segment_indices(20, 4, rng=np.random.default_rng(3)).tolist() == segment_indices(20, 4, rng=np.random.default_rng(3)).tolist()


def test_multi_view_offsets():
    # V = 2: offsets 0.25 and 0.75 of each 5-frame segment
    assert view_indices(20, 4, 2).tolist() == [[1, 6, 11, 16], [3, 8, 13, 18]]
    assert view_indices(20, 4, 1).tolist() == [segment_indices(20, 4).tolist()]
    assert view_indices(7, 4, 3).max() == 6


def test_bad_arguments():
    with pytest.raises(ValueError):
        segment_indices(0, 4)
    with pytest.raises(ValueError):
        view_indices(10, 4, 0)
    assert spatial_positions(3) == ("left", "centre", "right")
    with pytest.raises(ValueError, match="1 or 3"):
        spatial_positions(2)


def test_window_takes_frames_stride_apart_from_a_random_start():
    from weightspace.data.sampling import window_indices

    # 8 frames at stride 16 span 113 frames; a 200-frame video leaves starts 0..87
    assert window_indices(200, 8, 16).tolist() == [43 + 16 * i for i in range(8)]  # centred: 87 // 2
    starts = {int(window_indices(200, 8, 16, rng=np.random.default_rng(s))[0]) for s in range(300)}
    assert min(starts) == 0 and max(starts) == 87
    assert window_indices(50, 4, 16).tolist() == [0, 16, 32, 48]  # span 49 <= 50: start 0
    assert window_indices(20, 4, 16).tolist() == [0, 16, 19, 19]  # too short: the last frame repeats


def test_window_test_views_run_from_the_first_frame_to_the_end():
    from weightspace.data.sampling import sample_views, window_view_indices

    v = window_view_indices(200, 8, 16, 3)
    assert v[:, 0].tolist() == [0, 44, 87] and v[-1, -1] == 199 and (np.diff(v, axis=1) == 16).all()
    assert sample_views("tsn", 20, 4, 16, 2).tolist() == view_indices(20, 4, 2).tolist()
    with pytest.raises(ValueError):
        window_view_indices(10, 4, 0, 1)
