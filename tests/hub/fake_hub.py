"""A Hugging Face Hub stand-in on 127.0.0.1, for the push tests (there is no Hub here).

It answers the endpoints ``huggingface_hub`` calls for ``whoami``, ``repo_info``,
``create_repo``, ``create_branch``, ``list_repo_files`` and ``upload_folder`` on its
single-commit path (``hf_xet`` disabled: ``preupload`` answers "regular" for every file, so
the file bytes arrive base64-encoded in the ``commit`` request), with the status codes and
``X-Error-Code`` headers the real Hub uses for a bad token (401) and a missing repo (404).
Everything it receives is kept in :attr:`FakeHub.requests` (method, path, headers, body), so
a test can check what was sent and where the token went.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


@dataclass
class Repo:
    kind: str
    owner: str
    private: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    branches: set = field(default_factory=lambda: {"main"})
    commits: list[dict] = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class FakeHub:
    """``with FakeHub(token="hf_...", user="alice", orgs=["team"]) as hub: hub.url``"""

    def __init__(self, token: str, user: str = "alice", orgs: tuple[str, ...] = ()):
        self.token, self.user, self.orgs = token, user, list(orgs)
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self.prs = 0
        self.yaml_errors: list[str] = []  # what /api/validate-yaml answers (400) when set
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                hub._handle(self, "GET")

            def do_POST(self):
                hub._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_repo(self, repo_id: str, kind: str = "dataset", private: bool = False) -> Repo:
        self.repos[f"{kind}s/{repo_id}"] = repo = Repo(kind, repo_id.split("/")[0], private)
        return repo

    def repo(self, repo_id: str, kind: str = "dataset") -> Repo:
        return self.repos[f"{kind}s/{repo_id}"]

    # -- the endpoints ---------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        url = urlparse(h.path)
        self.requests.append(Request(method, h.path, {k.lower(): v for k, v in h.headers.items()}, body))
        query = parse_qs(url.query)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(h, 401, {"error": "Invalid credentials in Authorization header"})
        if parts == ["api", "whoami-v2"]:
            return self._send(h, 200, {"type": "user", "name": self.user,
                                       "orgs": [{"name": o, "type": "org"} for o in self.orgs]})
        if parts == ["api", "validate-yaml"]:
            if self.yaml_errors:
                return self._send(h, 400, {"errors": [{"message": m} for m in self.yaml_errors], "warnings": []},
                                  {"X-Error-Code": "BadRequest"})
            return self._send(h, 200, {"errors": [], "warnings": []})
        if parts == ["api", "repos", "create"]:
            data = json.loads(body)
            repo_id = f"{data.get('organization') or self.user}/{data['name']}"
            kind = data.get("type") or "model"
            if f"{kind}s/{repo_id}" in self.repos:
                return self._send(h, 409, {"error": "You already created this repo", "url": repo_id})
            self.add_repo(repo_id, kind, bool(data.get("private")) or data.get("visibility") == "private")
            return self._send(h, 200, {"url": f"{self.url}/{kind}s/{repo_id}", "name": repo_id})
        if len(parts) >= 4 and parts[0] == "api" and parts[1] in ("models", "datasets"):
            key = f"{parts[1]}/{parts[2]}/{parts[3]}"
            repo = self.repos.get(key)
            if repo is None:
                return self._send(h, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            rest = parts[4:]
            if not rest or rest[0] == "revision":
                return self._send(h, 200, {"id": f"{parts[2]}/{parts[3]}", "private": repo.private,
                                           "sha": "0" * 40, "siblings": []})
            if rest[0] == "branch":
                repo.branches.add(rest[1])
                return self._send(h, 200, {})
            if rest[0] == "tree":
                return self._send(h, 200, [{"type": "file", "path": p, "size": len(b), "oid": "0" * 40}
                                           for p, b in sorted(repo.files.items())])
            if rest[0] == "preupload":
                files = json.loads(body)["files"]
                return self._send(h, 200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                      "shouldIgnore": False} for f in files]})
            if rest[0] == "commit":
                return self._commit(h, repo, key, rest[1], body, "create_pr" in query)
        return self._send(h, 404, {"error": f"fake hub: no endpoint {method} {url.path}"})

    def _commit(self, h, repo: Repo, key: str, revision: str, body: bytes, create_pr: bool) -> None:
        commit = {"revision": revision, "create_pr": create_pr, "added": {}, "deleted": []}
        for line in body.splitlines():
            item = json.loads(line)
            if item["key"] == "header":
                commit["header"] = item["value"]
            elif item["key"] == "file":
                commit["added"][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] == "deletedFile":
                commit["deleted"].append(item["value"]["path"])
        repo.commits.append(commit)
        pr_url = None
        if create_pr:
            self.prs += 1
            pr_url = f"{self.url}/{key}/discussions/{self.prs}"
        else:
            for path in commit["deleted"]:
                repo.files.pop(path, None)
            repo.files.update(commit["added"])
        self._send(h, 200, {"commitUrl": f"{self.url}/{key}/commit/{'1' * 40}", "commitOid": "1" * 40,
                            "pullRequestUrl": pr_url})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, payload, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
