"""Models: open_clip CLIP construction and loading (``factory``), the video learner (``VideoCLIP``).

``VideoCLIP`` is imported lazily so ``import weightspace.models`` does not pull in torch.
"""

__all__ = ["VideoCLIP"]


def __getattr__(name):
    if name == "VideoCLIP":
        from weightspace.models.video_clip import VideoCLIP

        return VideoCLIP
    raise AttributeError(name)
