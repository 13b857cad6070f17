"""A Hugging Face Hub on 127.0.0.1 for tests: the endpoints the real ``huggingface_hub`` client uses to
create a repo, commit files (all "regular" uploads: no LFS/Xet), make a branch, and download a snapshot
(model info, tree listing, ``HEAD``/``GET`` resolve). Repos are kept in memory; every request is counted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import unquote, urlsplit


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    private: bool = False
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit -> {path: content}

    def commit(self, files: dict[str, bytes], branch: str, message: str) -> str:
        parent = self.refs.get(branch, "")
        oid = hashlib.sha1(json.dumps([parent, message, sorted(
            (p, git_blob_sha(d)) for p, d in files.items())]).encode()).hexdigest()
        self.commits[oid] = files
        self.refs[branch] = oid
        return oid

    def resolve(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class FakeHub:
    def __init__(self, token: str | None = None):
        self.token = token  # when set, requests must carry it ("Authorization: Bearer <token>")
        self.repos: dict[str, Repo] = {}
        self.gated: set[str] = set()  # repos whose terms the caller has not accepted
        self.yaml_errors: list[str] = []  # what validate-yaml reports for any README
        self.requests: list[tuple[str, str]] = []
        self.auth_headers: list[str] = []
        self.url = ""

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(revision)]

    def tamper(self, repo_id: str, path: str, data: bytes, revision: str = "main") -> str:
        """Commit changed bytes for one file (as someone editing the repo by hand would)."""
        repo = self.repos[repo_id]
        files = dict(self.files(repo_id, revision))
        files[path] = data
        return repo.commit(files, revision, f"tamper {path}")


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        # -- plumbing -------------------------------------------------------------------------------
        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, ctype="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, obj, headers: dict | None = None):
            self._send(status, json.dumps(obj).encode(), headers)

        def _error(self, status: int, code: str | None = None, message: str = "error", headers: dict | None = None):
            h = dict(headers or {})
            if code:
                h["X-Error-Code"] = code
            h["X-Error-Message"] = message
            self._json(status, {"error": message}, h)

        def _authorised(self) -> bool:
            auth = self.headers.get("Authorization") or ""
            hub.auth_headers.append(auth)
            if hub.token is None or auth == f"Bearer {hub.token}":
                return True
            self._error(401, None, "Invalid credentials in Authorization header")
            return False

        def _repo(self, repo_id: str) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
            elif repo_id in hub.gated and self.command != "POST":
                self._error(403, "GatedRepo", "Access to this model is restricted")
                return None
            return repo

        def _dispatch(self):
            hub.requests.append((self.command, self.path))
            body = self._body()
            if not self._authorised():
                return
            path = urlsplit(self.path).path
            parts = [unquote(p) for p in path.strip("/").split("/")]
            if parts[:1] == ["api"]:
                return self._api(parts[1:], body)
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
            self._error(404, None, f"no route for {path}")

        do_GET = do_POST = do_HEAD = _dispatch

        # -- API --------------------------------------------------------------------------------------
        def _api(self, parts: list[str], body: bytes):
            if parts == ["repos", "create"]:
                req = json.loads(body)
                repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
                url = f"{hub.url}/{repo_id}"
                if repo_id in hub.repos:
                    return self._json(409, {"error": "You already created this model repo", "url": url})
                private = bool(req.get("private")) or req.get("visibility") == "private"
                repo = hub.repos[repo_id] = Repo(private=private)
                repo.commit({".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"},
                            "main", "initial commit")
                return self._json(200, {"url": url, "name": repo_id})
            if parts == ["validate-yaml"]:
                errors = [{"message": m} for m in hub.yaml_errors]
                return self._json(400 if errors else 200, {"errors": errors, "warnings": []})
            if len(parts) < 3 or parts[0] != "models":
                return self._error(404, None, "unknown API route")
            repo_id, rest = f"{parts[1]}/{parts[2]}", parts[3:]
            repo = self._repo(repo_id)
            if repo is None:
                return
            if not rest or rest[0] == "revision":
                revision = rest[1] if len(rest) > 1 else "main"
                return self._model_info(repo_id, repo, revision)
            kind, revision = rest[0], "/".join(rest[1:]) or "main"
            if kind == "preupload":
                files = json.loads(body)["files"]
                return self._json(200, {"files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})
            if kind == "commit":
                return self._commit(repo_id, repo, revision, body)
            if kind == "branch":
                if revision in repo.refs:
                    return self._error(409, None, "Reference already exists")
                repo.refs[revision] = repo.refs["main"]
                return self._json(200, {})
            if kind == "tree":
                commit = repo.resolve(revision)
                if commit is None:
                    return self._error(404, "RevisionNotFound", "Invalid rev id")
                return self._json(200, [
                    {"type": "file", "path": p, "size": len(d), "oid": git_blob_sha(d)}
                    for p, d in sorted(repo.commits[commit].items())])
            self._error(404, None, "unknown model route")

        def _model_info(self, repo_id: str, repo: Repo, revision: str):
            commit = repo.resolve(revision)
            if commit is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            self._json(200, {"id": repo_id, "modelId": repo_id, "sha": commit, "private": repo.private,
                             "siblings": [{"rfilename": p} for p in sorted(repo.commits[commit])]})

        def _commit(self, repo_id: str, repo: Repo, branch: str, body: bytes):
            if branch not in repo.refs:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            files = dict(repo.commits[repo.refs[branch]])
            summary = ""
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "header":
                    summary = item["value"]["summary"]
                elif item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "deletedFile":
                    files.pop(item["value"]["path"], None)
                else:
                    return self._error(400, None, f"fake hub does not support {item['key']}")
            oid = repo.commit(files, branch, summary)
            self._json(200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "commitOid": oid,
                             "pullRequestUrl": None})

        def _resolve(self, repo_id: str, revision: str, filename: str):
            repo = self._repo(repo_id)
            if repo is None:
                return
            commit = repo.resolve(revision)
            if commit is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            data = repo.commits[commit].get(filename)
            if data is None:
                return self._error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})
            self._send(200, data, {"X-Repo-Commit": commit, "ETag": f'"{git_blob_sha(data)}"'},
                       ctype="application/octet-stream")

    return Handler


@contextlib.contextmanager
def serve(token: str | None = None) -> Iterator[FakeHub]:
    hub = FakeHub(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def use_fake_hub(monkeypatch, hub: FakeHub, cache_dir, token: str | None) -> None:
    """Point weightspace + huggingface_hub at ``hub`` for one test: online, no Xet, a private cache."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)
    else:
        monkeypatch.setenv("HF_TOKEN", token)
