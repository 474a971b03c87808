"""The after-response extension against the Runtime API stand-in: registered only while the function
initialises, one piece of work an invocation run after the answer, and a failing piece never leaves Lambda
waiting. (Through the real runtime client, with the handler: test_runtime.py.)"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from lambda_handler.after_response import NAME, AfterResponse
from tests.runtime_api import RuntimeApi


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    api = RuntimeApi()
    yield api
    api.close()


def _serve_one(api: RuntimeApi) -> str:
    """What the runtime client does for one invocation: take it, answer it."""
    with urllib.request.urlopen(f"http://{api.address}/2018-06-01/runtime/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
    answer = urllib.request.Request(
        f"http://{api.address}/2018-06-01/runtime/invocation/{request_id}/response", data=b"{}", method="POST"
    )
    urllib.request.urlopen(answer).close()
    return str(request_id)


def test_after_response_runs_each_invocations_work_and_survives_a_failing_one(api: RuntimeApi) -> None:
    extension = AfterResponse.register(api.address)
    assert extension is not None and list(api.extensions.values()) == [NAME]
    done: list[str] = []

    def failing() -> None:
        raise RuntimeError("boom")

    for work in (failing, lambda: done.append("written")):
        api.events.put((f"req-{len(api.results)}", {}))
        request_id = _serve_one(api)
        extension.submit(work)
        api.wait_finished(request_id)  # the extension asked for more: Lambda may freeze or go on
        assert api.answered_at[request_id] <= api.finished[request_id]
    assert done == ["written"]


def test_after_response_is_refused_once_the_runtime_has_asked_for_an_event(api: RuntimeApi) -> None:
    api.events.put(("req-0", {}))
    _serve_one(api)
    assert AfterResponse.register(api.address) is None  # the caller then writes before answering
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(
            f"http://{api.address}/2020-01-01/extension/register", data=json.dumps({}).encode(), method="POST"
        ))  # fmt: skip
