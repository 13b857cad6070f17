import torch
import torch.nn.functional as F

from weightspace.models.video_clip import VideoCLIP
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.regularisers import get_regulariser

from ..fakes import CLASSNAMES, TensorVideos


def _learner(tiny_clip, temporal, prompts="templates", classnames=CLASSNAMES, templates="single", freeze_text=True):
    video = VideoCLIP.from_pretrained(tiny_clip, temporal=temporal, templates=templates, freeze_text=freeze_text)
    rfd = get_regulariser("rfd")(get_regulariser("rfd").check_params({"prompts": prompts}, "r"))
    module = TrainModule(video, {"rfd": rfd.head(video)})
    learner = Learner(module, module, classnames, regularisers=[rfd])
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


DESCRIBED = ["move left: a shape slides to the left", "spin: a shape turns around its centre"]


def test_froster_prompts_one_random_template_with_the_description_plus_the_bare_description(tiny_clip):
    templates = ["a video of {}.", "a clip of {}."]
    learner, rfd = _learner(tiny_clip, "vclip", "froster", DESCRIBED, templates, freeze_text=False)
    torch.manual_seed(0)
    drawn = {tuple(rfd.prompt_sets(learner)[0]) for _ in range(20)}
    assert drawn == {("a video of move left. move left: a shape slides to the left",
                      "a video of spin. spin: a shape turns around its centre"),
                     ("a clip of move left. move left: a shape slides to the left",
                      "a clip of spin. spin: a shape turns around its centre")}
    batch = {"video": TensorVideos(n=2).videos, "label": torch.tensor([0, 1])}
    out = learner.forward(batch)
    described, bare = learner.prompt_sets
    assert bare == DESCRIBED
    enc = lambda video, prompts: F.normalize(video.clip.encode_text(video.tokenizer(prompts)).float(), dim=-1)  # noqa: E731
    want = F.normalize(enc(learner.video, described) + enc(learner.video, bare), dim=-1)
    assert torch.allclose(out["class_features"], want, atol=1e-5)
    assert out["class_features"].requires_grad  # FROSTER trains the text tower through these prompts
    # the teacher encodes the same prompts
    teacher_want = F.normalize(enc(rfd.teacher, described) + enc(rfd.teacher, bare), dim=-1)
    text_term = (1 - F.cosine_similarity(out["rfd_classes"].float(), teacher_want, dim=-1)).mean()
    video_term = (1 - F.cosine_similarity(out["rfd_frames"].float(), rfd.teacher.encode_frames(batch["video"]), dim=-1)).mean()
    assert torch.allclose(rfd.loss(out, batch, learner)["rfd"], 2.0 * (video_term + text_term), atol=1e-5)
