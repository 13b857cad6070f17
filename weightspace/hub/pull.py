"""Pull: ``hf-hub:ORG/NAME[@REV]`` -> a local checkpoint folder in the huggingface_hub cache, verified.

Resolving an ``hf-hub:`` reference (:class:`weightspace.hub.refs.HubRef`, e.g. in
``weightspace.checkpoint.open_checkpoint``) calls :func:`download`, so merge inputs, eval and train init all
accept Hub ids. Files come from ``snapshot_download`` (cached, shared with
other Hugging Face tools; offline it serves the cached snapshot). After download, the weights' sha256 is
checked against every hash the repo itself records: the merge manifest's output hash and the
``weights_sha256`` that ``weightspace push`` adds to ``weightspace.json``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from weightspace.checkpoint import (CONFIG_NAME, HEAD_NAME, LEGACY_WEIGHTS_NAME, MANIFEST_NAME, META_NAME,
                                    WEIGHTS_NAME, combined_sha256, sha256_file)
from weightspace.atomic import atomic_dir
from weightspace.errors import CheckpointError, WeightspaceError
from weightspace.hub import EVAL_RESULTS_NAME, README_NAME, WEIGHTS_SHA_KEY
from weightspace.hub.client import endpoint, hub_errors
from weightspace.hub.refs import HubRef, parse_hub_ref

# Only what a checkpoint needs: repos made by open_clip also hold .bin weights and tokenizer files.
REPO_FILES = [CONFIG_NAME, WEIGHTS_NAME, HEAD_NAME, META_NAME, MANIFEST_NAME, EVAL_RESULTS_NAME, README_NAME]


def download(ref: str | HubRef, *, token: str | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """Download (or find in the cache) the checkpoint files of ``ref`` and verify the weights' hash."""
    from huggingface_hub import snapshot_download

    hub = ref if isinstance(ref, HubRef) else parse_hub_ref(ref)

    def fetch(patterns: list[str]) -> Path:
        with hub_errors(str(hub), "download"):
            return Path(snapshot_download(hub.repo_id, revision=hub.revision, endpoint=endpoint(), token=token,
                                          cache_dir=cache_dir, allow_patterns=patterns))

    folder = fetch(REPO_FILES)
    if not (folder / WEIGHTS_NAME).is_file():  # an older open_clip repo: pickled weights only, loaded weights_only
        folder = fetch(REPO_FILES + [LEGACY_WEIGHTS_NAME])
    if not (folder / WEIGHTS_NAME).is_file() and not (folder / LEGACY_WEIGHTS_NAME).is_file():
        raise CheckpointError(f"{hub}: the repo has no {WEIGHTS_NAME} nor {LEGACY_WEIGHTS_NAME} "
                              "(not a weightspace/open_clip checkpoint)")
    verify(folder, label=str(hub))
    return folder


def recorded_hashes(folder: Path) -> dict[str, str]:
    """{where: sha256} for every record of the weights' hash found in ``folder``."""
    found: dict[str, str] = {}
    output = read_json(folder / MANIFEST_NAME).get("output")
    sha = output.get("weights_sha256") if isinstance(output, dict) else None  # see weightspace.merge.manifest
    if isinstance(sha, str):
        found[MANIFEST_NAME] = sha
    meta_sha = read_json(folder / META_NAME).get(WEIGHTS_SHA_KEY)
    if isinstance(meta_sha, str):
        found[META_NAME] = meta_sha
    return found


def verify(folder: Path, *, label: str) -> str | None:
    """Check the weights against the recorded hashes; returns the verified sha256 (None: nothing recorded)."""
    expected = recorded_hashes(folder)
    if not expected:
        return None
    weights = folder / WEIGHTS_NAME
    head = folder / HEAD_NAME
    actual = combined_sha256(sha256_file(weights if weights.is_file() else folder / LEGACY_WEIGHTS_NAME),
                             head if head.is_file() else None)  # a checkpoint's identity, as Checkpoint.sha256
    for where, sha in expected.items():
        if sha.lower() != actual:
            raise CheckpointError(
                f"{label}: {WEIGHTS_NAME} has sha256 {actual[:16]}… but {where} records {sha[:16]}…; "
                "the download is corrupt or the repo was changed without updating its records"
            )
    return actual


def read_json(path: Path) -> dict:
    """A JSON object from a checkpoint folder; {} when the file is absent."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path.name} in {path.parent}: cannot read JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}


def copy_out(folder: Path, out: str | os.PathLike) -> Path:
    """Copy a pulled snapshot (symlinks into the cache) to a new, self-contained folder, atomically."""
    out = Path(out)
    try:
        with atomic_dir(out) as tmp:
            for f in sorted(folder.iterdir()):
                if f.is_file():
                    shutil.copyfile(f, tmp / f.name)
    except FileExistsError:
        raise WeightspaceError(f"--out {out}: already exists (refusing to overwrite)") from None
    return out
