import torch
import torch.nn.functional as F

from weightspace.models.video_clip import VideoCLIP
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.regularisers import get_regulariser

from ..fakes import CLASSNAMES, TensorVideos


def _learner(tiny_clip, temporal):
    video = VideoCLIP.from_pretrained(tiny_clip, temporal=temporal, templates="single")
    rfd = get_regulariser("rfd")(get_regulariser("rfd").check_params({}, "r"))
    module = TrainModule(video, {"rfd": rfd.head(video)})
    learner = Learner(module, module, CLASSNAMES, regularisers=[rfd])
    rfd.setup(learner)
    return learner, rfd


def test_zero_initialised_projectors_and_an_unchanged_student_give_zero_loss(tiny_clip):
    learner, rfd = _learner(tiny_clip, "none")  # student == frozen CLIP teacher
    batch = {"video": TensorVideos(n=4).videos, "label": torch.arange(4)}
    out = learner.forward(batch)
    assert torch.allclose(out["rfd_frames"], out["frame_features"])
    assert abs(rfd.loss(out, batch, learner)["rfd"].item()) < 1e-5


def test_loss_matches_the_froster_formula_by_hand(tiny_clip):
    learner, rfd = _learner(tiny_clip, "vclip")
    heads = learner.module.heads["rfd"]
    torch.manual_seed(0)
    with torch.no_grad():
        heads.video[2].weight.normal_()
        heads.text[2].weight.normal_()
    batch = {"video": TensorVideos(n=3).videos, "label": torch.tensor([0, 1, 2])}
    out = learner.forward(batch)
    teacher = VideoCLIP.from_pretrained(tiny_clip, temporal="none", templates="single")
    fv, ft = out["frame_features"], out["class_features"]
    pv = fv + 0.1 * heads.video(fv)
    pt = ft + 0.1 * heads.text(ft)
    want = 2.0 * ((1 - F.cosine_similarity(pv, teacher.encode_frames(batch["video"]), dim=-1)).mean()
                  + (1 - F.cosine_similarity(pt, teacher.text_features(CLASSNAMES), dim=-1)).mean())
    got = rfd.loss(out, batch, learner)["rfd"]
    assert torch.allclose(got, want, atol=1e-6) and got.item() > 0
    # the distillation gradient reaches the projectors and the visual tower, not the teacher
    learner.backward(batch)
    assert heads.video[0].weight.grad is not None and heads.text[2].weight.grad is not None
    assert learner.video.clip.visual.conv1.weight.grad is not None
    assert all(p.grad is None for p in rfd.teacher.parameters())
