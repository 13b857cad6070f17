"""One reference grammar: every scheme parses into its typed reference, round-trips, and malformed text is one line."""

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from weightspace import refs
from weightspace.data.synthetic.refs import BuiltinRef
from weightspace.errors import ConfigError
from weightspace.hub.refs import HubRef
from weightspace.refs import LocalDirRef, PathRef, Ref, parse_ref, register_scheme, resolve


@pytest.mark.parametrize("text, expected", [
    ("hf-hub:org/name", HubRef("org/name")),
    ("hf-hub:org/name@v1.0", HubRef("org/name", "v1.0")),
    ("hf-hub:org/name@refs/pr/3", HubRef("org/name", "refs/pr/3")),
    ("builtin:tiny-clip", BuiltinRef("tiny-clip")),
    ("builtin:source_a", BuiltinRef("source_a")),
    ("builtin:target/base_train", BuiltinRef("target", "base_train")),
    ("builtin:target/val.txt", BuiltinRef("target", "val.txt")),
    ("builtin:source_a/videos/val/3.mp4", BuiltinRef("source_a", "videos/val/3.mp4")),
    ("local-dir:/srv/ckpt", LocalDirRef("/srv/ckpt")),
    ("local-dir:runs/x", LocalDirRef("runs/x")),
    ("runs/demo/plain", PathRef("runs/demo/plain")),
    ("/abs/model.safetensors", PathRef("/abs/model.safetensors")),
    ("ViT-B-16", PathRef("ViT-B-16")),  # an open_clip name is not a reference: callers tell it from a path
    (r"C:\models\soup", PathRef(r"C:\models\soup")),  # a drive letter is not a scheme
    ("c:/models/soup", PathRef("c:/models/soup")),
])
def test_every_scheme_parses_to_its_type_and_round_trips(text, expected):
    ref = parse_ref(text)
    assert ref == expected and type(ref) is type(expected)
    assert str(ref) == text
    assert parse_ref(str(ref)) == ref


def test_scheme_and_body():
    assert (parse_ref("hf-hub:org/name@dev").scheme, parse_ref("hf-hub:org/name@dev").body) == ("hf-hub", "org/name@dev")
    assert (parse_ref("builtin:target/val.txt").scheme, parse_ref("builtin:target/val.txt").body) == ("builtin", "target/val.txt")
    assert (parse_ref("local-dir:/a").scheme, parse_ref("local-dir:/a").body) == ("local-dir", "/a")
    assert (parse_ref("a/b").scheme, parse_ref("a/b").body) == (None, "a/b")
    assert LocalDirRef("x") != PathRef("x")  # the spelling is part of the reference


def test_a_path_object_is_always_a_path():
    assert parse_ref(Path("hf-hub:org")) == PathRef("hf-hub:org")
    ref = HubRef("org/name")
    assert parse_ref(ref) is ref


@pytest.mark.parametrize("text, needle", [
    ("hf-hub:", "expected ORG/NAME"),
    ("hf-hub:just-a-name", "expected ORG/NAME"),
    ("hf-hub:org/name/extra", "expected ORG/NAME"),
    ("hf-hub:org/name@", "the revision is empty or malformed"),
    ("hf-hub:org/name@a b", "the revision is empty or malformed"),
    ("hf-hub:org/name@a@b", "the revision is empty or malformed"),
    ("builtin:", "expected builtin:tiny-clip or builtin:WORLD"),
    ("builtin:/val.txt", "expected builtin:tiny-clip or builtin:WORLD"),
    ("builtin:target/", "expected builtin:tiny-clip or builtin:WORLD"),
    ("builtin:target//val.txt", "expected builtin:tiny-clip or builtin:WORLD"),
    ("builtin:target/../../etc", "expected builtin:tiny-clip or builtin:WORLD"),
    ("builtin:tiny-clip/open_clip_config.json", "has no /PART"),
    ("local-dir:", "the path is empty"),
    ("hf_hub:org/name", "unknown reference scheme 'hf_hub:'"),
    ("HF-HUB:org/name", "unknown reference scheme 'HF-HUB:'"),
    ("https://huggingface.co/org/name", "unknown reference scheme 'https:'"),
    ("builtins:source_a", "unknown reference scheme 'builtins:'"),
])
def test_malformed_reference_is_one_line_naming_it(text, needle):
    with pytest.raises(ConfigError) as exc:
        parse_ref(text)
    msg = str(exc.value)
    assert needle in msg and repr(text) in msg and "\n" not in msg


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"known: builtin:, hf-hub:, local-dir:; write a local path containing ':' "
                                          r"as \./PATH or local-dir:PATH"):
        parse_ref("ckpt:epoch3")
    assert parse_ref("./ckpt:epoch3") == PathRef("./ckpt:epoch3")


def test_where_prefixes_parse_and_resolve_errors():
    with pytest.raises(ConfigError, match=r"^model\.init: 'hf-hub:org': hub id 'org': expected ORG/NAME"):
        parse_ref("hf-hub:org", where="model.init")
    with pytest.raises(ConfigError, match=r"^data\.train: 'nope:x': unknown reference scheme"):
        resolve("nope:x", where="data.train")


def test_local_references_resolve_to_their_path():
    assert resolve("runs/x") == Path("runs/x")
    assert resolve("local-dir:/srv/ckpt") == Path("/srv/ckpt")
    assert resolve(Path("/a/b")) == Path("/a/b")


@dataclass(frozen=True)
class FakeRef(Ref):
    """A scheme an extension registers: ``fake:NAME`` -> /fake/NAME."""

    name: str
    scheme: ClassVar[str | None] = "fake"

    @classmethod
    def parse(cls, body: str, text: str) -> "FakeRef":
        return cls(body)

    @property
    def body(self) -> str:
        return self.name

    def resolve(self) -> Path:
        return Path("/fake") / self.name


class WrongScheme(FakeRef):
    scheme: ClassVar[str | None] = "other"


def test_registered_scheme_is_imported_on_first_use(monkeypatch):
    monkeypatch.setattr(refs, "_registry", dict(refs._registry))
    register_scheme("fake", f"{__name__}:FakeRef")
    assert refs._registry["fake"] == f"{__name__}:FakeRef"  # nothing imported yet
    ref = parse_ref("fake:thing")
    assert isinstance(ref, FakeRef) and str(ref) == "fake:thing" and ref.resolve() == Path("/fake/thing")
    assert refs._registry["fake"] is FakeRef
    with pytest.raises(ConfigError, match="known: builtin:, fake:, hf-hub:, local-dir:"):
        parse_ref("fak:thing")


def test_registering_a_wrong_class_or_name_fails(monkeypatch):
    monkeypatch.setattr(refs, "_registry", dict(refs._registry))
    register_scheme("other2", f"{__name__}:WrongScheme")
    with pytest.raises(TypeError, match="is not the Ref class of scheme 'other2'"):
        parse_ref("other2:x")
    with pytest.raises(ValueError, match="not a scheme name"):
        register_scheme("a", FakeRef)
    with pytest.raises(ValueError, match="not a scheme name"):
        register_scheme("has:colon", FakeRef)


def test_every_ref_class_is_a_ref():
    for text in ("hf-hub:o/n", "builtin:target", "local-dir:x", "x"):
        assert isinstance(parse_ref(text), Ref)


def test_parsing_imports_no_heavy_module_and_checkpoint_no_hub():
    code = textwrap.dedent("""
        import sys
        import weightspace.checkpoint
        assert not any(m.startswith("weightspace.hub") for m in sys.modules), "checkpoint imported hub"
        from weightspace.refs import parse_ref
        for text in ("hf-hub:org/name@v1", "builtin:target/val.txt", "builtin:tiny-clip", "local-dir:/x", "/x"):
            parse_ref(text)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "open_clip", "huggingface_hub", "numpy"))
        assert not heavy, heavy
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
