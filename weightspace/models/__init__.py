"""Models: open_clip CLIP construction and loading (``factory``), the video learner (``VideoCLIP``)."""
