"""Push: a checkpoint -> one commit on a Hub model repo, with the model card and eval results.

The repo gets the open_clip layout (``open_clip_config.json``, ``open_clip_model.safetensors``, which
``open_clip.create_model_and_transforms("hf-hub:ORG/NAME")`` reads), ``weightspace.json`` (with the weights'
sha256 added, so pulls can be verified), ``merge_manifest.json`` for merges, ``eval_results.json`` when
results exist (stale ones from an earlier push are deleted), and ``README.md``. Everything goes up in a
single ``create_commit`` (open_clip's own push helper is broken with huggingface_hub 2.x). ``dry_run_dir``
writes the same files to a folder instead and makes no network call: huggingface_hub has no upload dry-run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from weightspace import __version__
from weightspace.atomic import atomic_dir
from weightspace.checkpoint import (
    CONFIG_NAME, HEAD_NAME, MANIFEST_NAME, META_NAME, WEIGHTS_NAME, Checkpoint, make_meta, open_checkpoint, sha256_file,
)
from weightspace.errors import CheckpointError, ConfigError, OutputError, WeightspaceError
from weightspace.hub import EVAL_RESULTS_NAME, README_NAME, WEIGHTS_SHA_KEY
from weightspace.hub import eval_results as results_io
from weightspace.hub.card import render_card
from weightspace.hub.client import LOGIN_HINT, hub_errors, make_api, stored_token
from weightspace.hub.public import public
from weightspace.hub.pull import read_json
from weightspace.hub.refs import check_repo_id
from weightspace.safetensors_io import write_streaming

if TYPE_CHECKING:
    from huggingface_hub import HfApi

EvalInput = str | os.PathLike | dict
# Files a push writes only when the checkpoint has them; stale copies in the repo are deleted.
OPTIONAL_FILES = frozenset({MANIFEST_NAME, EVAL_RESULTS_NAME})


@dataclass
class StagedFile:
    """One file of the commit: its path in the repo, where its bytes are, size and sha256."""

    path: str
    source: Path | bytes
    size: int
    sha256: str

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> "StagedFile":
        return cls(path, data, len(data), hashlib.sha256(data).hexdigest())

    @classmethod
    def from_file(cls, path: str, source: Path, sha256: str | None = None) -> "StagedFile":
        return cls(path, source, source.stat().st_size, sha256 or sha256_file(source))

    def write_to(self, folder: Path) -> None:
        if isinstance(self.source, bytes):
            (folder / self.path).write_bytes(self.source)
        else:
            shutil.copyfile(self.source, folder / self.path)  # a copy, never a link to the input


@dataclass
class PushPlan:
    repo_id: str
    files: list[StagedFile]
    weights_sha256: str
    commit_message: str


@dataclass
class PushResult:
    plan: PushPlan
    repo_url: str | None = None
    commit_url: str | None = None
    commit_oid: str | None = None
    dry_run_dir: Path | None = None
    deleted: tuple[str, ...] = ()  # stale files removed from the repo by the commit


def _json_bytes(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _weights_file(ckpt: Checkpoint, scratch: Path) -> Path:
    """The weights as an open_clip safetensors: the folder's file as is, else rewritten with normalised keys."""
    if ckpt.folder is not None and ckpt.weights.name == WEIGHTS_NAME:
        return ckpt.weights
    src = ckpt.source()
    keys = src.keys()
    specs = [(k, src.info(k).dtype, src.info(k).shape) for k in keys]
    write_streaming(scratch / WEIGHTS_NAME, specs, (src.read(k) for k in keys), metadata={"format": "pt"})
    return scratch / WEIGHTS_NAME


def parents_license(ckpt: Checkpoint, manifest: dict) -> str:
    """The license the checkpoint records, else the one its local parents agree on; none -> ConfigError."""
    if isinstance(ckpt.meta.get("license"), str):
        return ckpt.meta["license"]
    found: set[str] = set()
    for entry in manifest.get("inputs") or []:
        folder = Path(str(entry.get("ref", "")))
        lic = read_json(folder / META_NAME).get("license") if folder.is_dir() else None
        if isinstance(lic, str):
            found.add(lic)
    if len(found) == 1:
        return found.pop()
    why = f"the parents have different licenses ({', '.join(sorted(found))})" if found else \
        "neither the checkpoint nor its parents record one"
    raise ConfigError(f"{ckpt.ref}: --license is required ({why}); e.g. --license mit")


def _eval_doc(ckpt: Checkpoint, given: list[EvalInput] | None, sha: str) -> dict | None:
    files: list[tuple[str, list[dict]]] = []
    for item in given or []:
        if isinstance(item, dict):
            results_io.validate(item, label="eval results")
            files.append(("eval results", [item]))
        else:
            files.append((str(item), results_io.read(item)))
    if not files and ckpt.folder is not None and (ckpt.folder / EVAL_RESULTS_NAME).is_file():
        path = ckpt.folder / EVAL_RESULTS_NAME
        files.append((str(path), results_io.read(path)))
    return results_io.for_checkpoint(files, sha)


@contextlib.contextmanager
def staged(
    ckpt_ref: str | os.PathLike,
    repo_id: str,
    *,
    eval_results_in: list[EvalInput] | None = None,
    license: str | None = None,
    card_template: str | os.PathLike | None = None,
    commit_message: str | None = None,
) -> Iterator[PushPlan]:
    """Everything the commit will contain; temporary files live until the block ends."""
    check_repo_id(repo_id, what="--repo")
    ckpt = open_checkpoint(ckpt_ref)
    if ckpt.model_cfg is None:
        raise CheckpointError(
            f"{ckpt.ref}: no open_clip model config ({CONFIG_NAME}); a pushed model must be loadable by open_clip"
        )
    manifest = read_json(ckpt.folder / MANIFEST_NAME) if ckpt.folder is not None else {}
    license = license or parents_license(ckpt, manifest)
    with tempfile.TemporaryDirectory(prefix="ws-push-") as scratch:
        weights = _weights_file(ckpt, Path(scratch))
        sha = ckpt.sha256() if weights == ckpt.weights else sha256_file(weights)
        eval_doc = public(_eval_doc(ckpt, eval_results_in, sha))
        config = {"model_cfg": ckpt.model_cfg}
        if ckpt.preprocess_cfg:
            config["preprocess_cfg"] = ckpt.preprocess_cfg
        meta = public(dict(ckpt.meta) if ckpt.meta else make_meta())
        meta[WEIGHTS_SHA_KEY] = sha
        meta["license"] = license  # a pull, and merges of the pull, know it
        manifest = public(manifest)
        files = [
            StagedFile.from_bytes(CONFIG_NAME, _json_bytes(config)),
            StagedFile.from_file(WEIGHTS_NAME, weights, None if ckpt.head else sha),  # with a head, sha names both
            *([StagedFile.from_file(HEAD_NAME, ckpt.head)] if ckpt.head else []),
            StagedFile.from_bytes(META_NAME, _json_bytes(meta)),
        ]
        if manifest:
            files.append(StagedFile.from_bytes(MANIFEST_NAME, _json_bytes(manifest)))
        if eval_doc is not None:
            files.append(StagedFile.from_bytes(EVAL_RESULTS_NAME, _json_bytes(eval_doc)))
        card = render_card(repo_id, replace(ckpt, meta=meta), weights_sha256=sha, manifest=manifest,
                           eval_doc=eval_doc, license=license, template=card_template)
        files.append(StagedFile.from_bytes(README_NAME, card.encode("utf-8")))
        method = manifest.get("method")
        message = commit_message or (f"weightspace {__version__}: {method} merge" if method
                                     else f"weightspace {__version__}: upload checkpoint")
        yield PushPlan(repo_id, files, sha, message)


def write_dry_run(plan: PushPlan, out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the staged files to ``out`` atomically; an existing non-empty folder is refused unless
    ``overwrite`` and weightspace wrote it (an earlier dry run)."""
    out = Path(out)
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"--dry-run {out}: already exists and is not an empty folder (pass --overwrite to "
                          "replace an earlier dry run)")
    with atomic_dir(out, overwrite=True) as tmp:
        for f in plan.files:
            f.write_to(tmp)
    return out


def push(
    ckpt_ref: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run_dir: str | os.PathLike | None = None,
    api: "HfApi | None" = None,
    token: str | None = None,
    commit_message: str | None = None,
    eval_results: list[EvalInput] | None = None,
    license: str | None = None,
    card_template: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> PushResult:
    """Upload ``ckpt_ref`` to ``repo_id`` in one commit (or, with ``dry_run_dir``, only write what would go up)."""
    with staged(ckpt_ref, repo_id, eval_results_in=eval_results, license=license,
                card_template=card_template, commit_message=commit_message) as plan:
        if dry_run_dir is not None:
            return PushResult(plan, dry_run_dir=write_dry_run(plan, dry_run_dir, overwrite=overwrite))
        if api is None:
            token = token or stored_token()
            if token is None:
                raise WeightspaceError(f"push to {repo_id}: no Hugging Face token found; {LOGIN_HINT}")
            api = make_api(token)
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        operations = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=f.source) for f in plan.files]
        auth = {"token": token} if token else {}
        with hub_errors(repo_id, "push"):
            repo_url = api.create_repo(repo_id, private=private or None, exist_ok=True, repo_type="model", **auth)
            if revision and revision != "main":
                api.create_branch(repo_id, branch=revision, exist_ok=True, **auth)
            # a previous push's manifest or results would describe other weights (and fail pull verification)
            staged_paths = {f.path for f in plan.files}
            existing = set(api.list_repo_files(repo_id, revision=revision, **auth))
            stale = sorted(OPTIONAL_FILES & existing - staged_paths)
            operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
            info = api.create_commit(repo_id, operations, commit_message=plan.commit_message,
                                     revision=revision, **auth)
        return PushResult(plan, repo_url=str(repo_url), commit_url=info.commit_url, commit_oid=info.oid,
                          deleted=tuple(stale))
