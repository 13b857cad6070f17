"""One place that talks to huggingface_hub: the endpoint, the token, and turning its errors into one line.

``huggingface_hub`` reads ``HF_ENDPOINT`` once, at import; we read it again at call time so a mirror (or the
test suite's loopback Hub) can be chosen later. The token comes from ``huggingface_hub.get_token()``
(``HF_TOKEN``, then the ``hf auth login`` file). It is handed to ``HfApi`` and never printed or written.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Iterator

from weightspace.errors import WeightspaceError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

LOGIN_HINT = "set HF_TOKEN or run `hf auth login`"


def endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def stored_token() -> str | None:
    from huggingface_hub import get_token

    return get_token()


def make_api(token: str | None = None) -> "HfApi":
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token, library_name="weightspace")


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def describe(exc: BaseException, target: str, action: str) -> str | None:
    """A one-line message for a huggingface_hub / network failure, or None if ``exc`` is not one."""
    import httpx2
    from huggingface_hub import errors

    chain = list(_chain(exc))
    kinds = tuple(type(e) for e in chain)

    def has(*types) -> bool:
        return any(issubclass(k, types) for k in kinds)

    status = next((e.response.status_code for e in chain
                   if isinstance(e, errors.HfHubHTTPError) and e.response is not None), None)
    if has(errors.OfflineModeIsEnabled) or (has(errors.LocalEntryNotFoundError) and _offline()):
        return (f"{target}: cannot {action}: offline mode is on (HF_HUB_OFFLINE=1) and it is not in the local "
                "Hugging Face cache; unset HF_HUB_OFFLINE to reach the Hub")
    if has(errors.GatedRepoError):
        return f"{target}: cannot {action}: the repo is gated; accept its terms on the Hub and {LOGIN_HINT}"
    if has(errors.RevisionNotFoundError):
        return f"{target}: cannot {action}: revision not found in the repo"
    if has(errors.RepositoryNotFoundError):
        return (f"{target}: cannot {action}: repository not found or not accessible ({status or 404}); check the "
                f"name, and for a private repo {LOGIN_HINT}")
    if status in (401, 403):
        access = " (the token needs write access)" if action == "push" else ""
        return f"{target}: cannot {action}: the Hub refused the credentials ({status}); {LOGIN_HINT}{access}"
    if has(errors.RemoteEntryNotFoundError):
        return f"{target}: cannot {action}: a required file is missing from the repo"
    if has(httpx2.ConnectError, httpx2.TimeoutException, errors.LocalEntryNotFoundError, ConnectionError):
        cached = " and it is not cached locally" if action == "download" else ""
        return f"{target}: cannot {action}: cannot reach the Hub at {endpoint()} (offline?){cached}"
    if isinstance(exc, ValueError) and str(exc).startswith("Invalid metadata in README.md"):
        problems = "; ".join(line.lstrip("- ") for line in str(exc).splitlines()[1:] if line.strip())
        return f"{target}: cannot {action}: the Hub rejected the model card metadata ({problems or 'no details'})"
    if isinstance(exc, errors.HfHubHTTPError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{target}: cannot {action}: {first}"
    return None


@contextlib.contextmanager
def hub_errors(target: str, action: str) -> Iterator[None]:
    """Re-raise Hub and network failures inside the block as one-line ``WeightspaceError``s."""
    try:
        yield
    except WeightspaceError:
        raise
    except Exception as exc:
        message = describe(exc, target, action)
        if message is None:
            raise
        raise WeightspaceError(message) from None
