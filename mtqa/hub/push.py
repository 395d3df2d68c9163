"""The real push: the staged folder to a Hub repo through ``huggingface_hub``.

:func:`push_folder` takes the token from the environment (``HF_TOKEN``) or the Hugging Face
login (``hf auth login``) and nowhere else, checks who the token belongs to
(``HfApi.whoami``), refuses a repo under a namespace that is neither the user's nor one of
their organisations (unless ``--create-pr``, which proposes the upload to its owner),
creates the repo (``private`` when asked) and the ``--revision`` branch when missing, and
uploads with ``HfApi.upload_folder``, which resumes an interrupted upload when rerun (with
``hf_xet``, the default). Stale Parquet files of an earlier publish are deleted in the same
commit (``delete_patterns``), so a config's glob never reads two versions.

Every failure is one :class:`~mtqa.errors.MtqaError` line: not logged in, token rejected,
offline, unreachable, repo owned by someone else, no write access. The token is never
logged, never written and never part of a message (:func:`_scrub`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mtqa.errors import MtqaError, one_line
from mtqa.hub.config import PublishConfig, RepoKind

logger = logging.getLogger(__name__)

#: Remote files a dataset publish replaces: every Parquet file (the configs are regenerated whole).
DATASET_DELETE_PATTERNS = ["*.parquet"]


@dataclass(frozen=True, slots=True)
class PushResult:
    """Where the upload went."""

    repo_url: str
    commit_url: str | None
    pull_request_url: str | None
    user: str


def hub_token() -> str:
    """The token of the environment (``HF_TOKEN``) or of the Hugging Face login."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise MtqaError("not logged in to the Hugging Face Hub: run `hf auth login`, or set HF_TOKEN in the "
                        "environment (or use --dry-run to write the folder without uploading)")
    return token


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


def _status(error) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


@contextmanager
def hub_errors(token: str, repo: str, endpoint: str):
    """Turn what ``huggingface_hub`` raises into one line, without the token."""
    from huggingface_hub import errors

    try:
        yield
    except MtqaError as e:
        raise MtqaError(_scrub(str(e), token)) from None
    except errors.OfflineModeIsEnabled:
        raise MtqaError("the Hub is unreachable: offline mode is on (HF_HUB_OFFLINE is set); unset it to publish, "
                        "or use --dry-run to write the folder only") from None
    except errors.RepositoryNotFoundError:
        raise MtqaError(f"{repo}: not found on the Hub, or not visible to this token") from None
    except errors.HfHubHTTPError as e:
        status = _status(e)
        if status == 401:
            raise MtqaError("the Hub rejected the token (401 Unauthorized): log in again with `hf auth login`, "
                            "or set a valid HF_TOKEN") from None
        if status == 403:
            raise MtqaError(f"the Hub refused to write to {repo} (403 Forbidden): the token has no write access "
                            "there (a read-only or fine-grained token?)") from None
        raise MtqaError(_scrub(f"the Hub answered {status or 'an error'} for {repo}: {one_line(e)}", token)) from None
    except ValueError as e:  # the Hub's own check of the card's YAML, run before the upload
        detail = "; ".join(line.strip("- ").strip() for line in str(e).splitlines() if line.strip())
        raise MtqaError(_scrub(f"the Hub refused the upload to {repo}: {detail}", token)) from None
    except (ConnectionError, TimeoutError, OSError) as e:
        raise MtqaError(_scrub(f"cannot reach the Hub at {endpoint} ({one_line(e)}): check the network, "
                               "or use --dry-run", token)) from None
    except Exception as e:  # httpx's transport errors are not OSErrors
        if type(e).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "requests", "urllib3"):
            raise MtqaError(_scrub(f"cannot reach the Hub at {endpoint} ({one_line(e)}): check the network, "
                                   "or use --dry-run", token)) from None
        raise


def _repo_exists(api, repo: str, kind: RepoKind) -> tuple[bool, bool | None]:
    """(exists, private) of ``repo``."""
    from huggingface_hub import errors

    try:
        info = api.repo_info(repo, repo_type=kind.value)
    except errors.RepositoryNotFoundError:
        return False, None
    return True, getattr(info, "private", None)


def push_folder(stage: Path, config: PublishConfig, kind: RepoKind, *, api=None) -> PushResult:
    """Upload ``stage`` to ``config.repo`` (see the module docstring)."""
    from huggingface_hub import HfApi, constants

    token = hub_token()
    api = api or HfApi(token=token)
    endpoint = getattr(api, "endpoint", None) or constants.ENDPOINT
    repo = config.repo
    namespace = repo.split("/", 1)[0]
    with hub_errors(token, repo, endpoint):
        me = api.whoami()
        user = str(me.get("name") or "?")
        namespaces = {user, *(str(o.get("name")) for o in me.get("orgs") or [] if isinstance(o, dict))}
        exists, private = _repo_exists(api, repo, kind)
        if namespace not in namespaces:
            if not exists:
                raise MtqaError(f"cannot create {repo}: {namespace} is neither your account ({user}) nor one of "
                                "your organisations")
            if not config.create_pr:
                raise MtqaError(f"{repo} exists and belongs to {namespace}, not to you ({user}): pass --create-pr "
                                "to propose the upload as a pull request, or publish under your own namespace")
        elif not exists:
            # private=None leaves the namespace's default visibility (an organisation may default to private)
            api.create_repo(repo, repo_type=kind.value, private=True if config.private else None, exist_ok=True)
            logger.info("created %s repo %s%s", kind.value, repo, " (private)" if config.private else "")
        elif config.private and private is False:
            raise MtqaError(f"--private: {repo} exists and is public; change its visibility on the Hub first, "
                            "or publish without --private")
        if config.revision and not config.revision.startswith("refs/"):
            api.create_branch(repo, branch=config.revision, repo_type=kind.value, exist_ok=True)
        message = config.commit_message or f"mtqa publish: {Path(config.folder).name}"
        info = api.upload_folder(
            repo_id=repo, folder_path=str(stage), repo_type=kind.value, revision=config.revision,
            create_pr=config.create_pr or None, commit_message=message,
            delete_patterns=DATASET_DELETE_PATTERNS if kind == RepoKind.DATASET else None)
    prefix = "" if kind == RepoKind.MODEL else f"{kind.value}s/"
    return PushResult(repo_url=f"{endpoint.rstrip('/')}/{prefix}{repo}",
                      commit_url=getattr(info, "commit_url", None),
                      pull_request_url=getattr(info, "pr_url", None), user=user)
