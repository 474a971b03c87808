"""Fault injection over the store: each file of a version missing, truncated, byte-flipped, emptied or
replaced by another file of the version, with and without a manifest that matches the damage; the store gone,
unreadable, or answering S3 errors. Whatever the fault:

- `promote` refuses the version (it loads it completely first);
- with a good version in memory, the model routes never answer 5xx, and the pointer is re-read at most once
  per TTL;
- with none, they answer 503 in the error shape, and recover without a restart once the store is good again.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from fraud_model import artifact, constants
from fraud_model.errors import FraudError, StoreError
from fraud_model.store import LocalStore, S3Store, Store
from lambda_handler.config import Settings
from lambda_handler.handler import handler
from lambda_handler.model_cache import ModelCache
from tests.lambda_handler import model_factory
from tests.lambda_handler.gateway_events import FULL, SEED, Context, body_of, http_api

Damage = Callable[[bytes, dict[str, bytes]], bytes | None]  # (file, the version's files) -> new bytes or None
DAMAGES: dict[str, Damage] = {
    "missing": lambda data, files: None,
    "empty": lambda data, files: b"",
    "truncated": lambda data, files: data[: len(data) // 2],
    "byte-flipped": lambda data, files: (
        data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1 :]
    ),
    "other-file": lambda data, files: next(other for other in files.values() if other != data),
}
FILES = ["metadata", "manifest", "forest", "native"]


def _file_name(loaded: artifact.LoadedVersion, kind: str) -> str:
    spec = loaded.metadata.models["full"]  # the model that explains FULL in _statuses
    return {"metadata": constants.METADATA_FILE, "manifest": constants.MANIFEST_FILE,
            "forest": spec.forest_file, "native": spec.native_file}[kind]  # fmt: skip


def damaged_version(store: Store, good: str, kind: str, damage: str, *, matching_manifest: bool) -> str:
    """A copy of `good`, not current, with one file damaged (and the manifest rewritten to match it)."""
    bad = model_factory.copy_version(store, good, store, make_current=False)
    loaded = artifact.load_version(store, bad)
    name = _file_name(loaded, kind)
    prefix = artifact.version_prefix(bad)
    manifest_key = f"{prefix}/{constants.MANIFEST_FILE}"
    files = {**loaded.files, constants.MANIFEST_FILE: store.read(manifest_key)}
    data = DAMAGES[damage](files[name], files)
    if data is None:
        store.delete(f"{prefix}/{name}")
    else:
        store.write(f"{prefix}/{name}", data)
    if matching_manifest:
        manifest = json.loads(files[constants.MANIFEST_FILE])
        if data is None:
            manifest["files"].pop(name)
        else:
            manifest["files"][name] = artifact.sha256(data)
        store.write(manifest_key, json.dumps(manifest).encode())
    return bad


CASES = [
    pytest.param(kind, damage, matching, id=f"{kind}-{damage}{'-matching-manifest' if matching else ''}")
    for kind in FILES
    for damage in DAMAGES
    for matching in (False, True)
    if not (kind == "manifest" and matching)
]


def _statuses(context: Context) -> dict[str, int]:
    """The model routes' answers: scoring one and a batch, and explaining (native booster)."""
    return {
        "predict": handler(http_api(body=SEED), context)["statusCode"],
        "batch": handler(http_api(path="/predict/batch", body={"transactions": [SEED, FULL]}), context)[
            "statusCode"
        ],
        "explain": handler(http_api(body=FULL, query="explain=true"), context)["statusCode"],
    }


@pytest.mark.parametrize(("kind", "damage", "matching"), CASES)
def test_store_faults_promote_refuses_a_damaged_version(
    store: LocalStore, kind: str, damage: str, matching: bool
) -> None:
    good = artifact.read_pointer(store)
    bad = damaged_version(store, good, kind, damage, matching_manifest=matching)
    with pytest.raises(FraudError):
        artifact.promote(store, bad)
    assert artifact.read_pointer(store) == good


@pytest.mark.parametrize(("kind", "damage", "matching"), CASES)
def test_store_faults_good_version_in_memory_keeps_serving(
    store: LocalStore,
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    damage: str,
    matching: bool,
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")  # every request re-reads the pointer
    good = artifact.read_pointer(store)
    assert _statuses(context) == {"predict": 200, "batch": 200, "explain": 200}
    bad = damaged_version(store, good, kind, damage, matching_manifest=matching)
    model_factory.point_at(store, bad)  # as a promote that skipped verification would
    answers = _statuses(context)
    served = body_of(handler(http_api(body=SEED), context))["model_version"]
    if served == bad and kind == "forest":
        # The version's evasion forest (same features) in the shipped forest's place, behind a matching
        # manifest: a whole, valid forest, so it loads and scores; only `promote` (native against export)
        # can tell, and refuses it (the test above).
        assert (damage, matching) == ("other-file", True)
        assert answers == {"predict": 200, "batch": 200, "explain": 200}
    elif served == bad:
        # Only a native booster damaged behind a matching manifest gets this far: the forest export
        # scores, so the version loads; its booster does not, so explanations answer 503, not 500.
        assert (kind, matching) == ("native", True)
        assert answers == {"predict": 200, "batch": 200, "explain": 503}
    else:
        assert served == good
        assert answers == {"predict": 200, "batch": 200, "explain": 200}


@pytest.mark.parametrize(("kind", "damage", "matching"), CASES)
def test_store_faults_no_model_is_a_503_then_recovers(
    store: LocalStore, context: Context, kind: str, damage: str, matching: bool
) -> None:
    good = artifact.read_pointer(store)
    bad = damaged_version(store, good, kind, damage, matching_manifest=matching)
    model_factory.point_at(store, bad)
    response = handler(http_api(body=SEED), context)
    if response["statusCode"] == 200:  # scores come from a whole forest export (see the test above)
        assert (kind, matching) == ("native", True) or (kind, damage, matching) == (
            "forest",
            "other-file",
            True,
        )
        return
    assert response["statusCode"] == 503
    assert body_of(response)["error"]["code"] == "model_unavailable"
    model_factory.point_at(store, good)  # fixed in the store: no restart needed (retry interval 0 here)
    assert handler(http_api(body=SEED), context)["statusCode"] == 200


class CountingStore:
    """Counts manifest reads: one per load attempt."""

    def __init__(self, store: Store) -> None:
        self.store, self.loads = store, 0
        self.uri = store.uri

    def read(self, key: str) -> bytes:
        if key.endswith(constants.MANIFEST_FILE):
            self.loads += 1
        return self.store.read(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.mark.parametrize("kind", FILES)
def test_store_faults_reloads_at_most_once_per_ttl(store: LocalStore, kind: str) -> None:
    now = [1000.0]
    counting = CountingStore(store)
    cache = ModelCache(Settings(model_store=store.uri, pointer_ttl_seconds=30),
                       store_factory=lambda uri: counting, clock=lambda: now[0])  # fmt: skip
    good = cache.get().version
    bad = damaged_version(store, good, kind, "truncated", matching_manifest=False)
    model_factory.point_at(store, bad)
    loads = counting.loads
    now[0] += 30
    for _ in range(10):
        assert cache.get().version in (good, bad)
    assert counting.loads == loads + 1
    now[0] += 30
    cache.get()
    assert counting.loads == loads + 2


def test_store_faults_store_gone_keeps_the_model_then_503_for_a_new_instance(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    assert handler(http_api(body=SEED), context)["statusCode"] == 200
    backup = Path(store.uri).with_name("backup")
    shutil.move(store.uri, backup)
    assert _statuses(context) == {"predict": 200, "batch": 200, "explain": 200}
    from lambda_handler import model_cache

    model_cache.reset()  # a new instance (cold start) while the store is gone
    response = handler(http_api(body=SEED), context)
    assert response["statusCode"] == 503 and body_of(response)["error"]["code"] == "model_unavailable"
    shutil.move(backup, store.uri)
    assert handler(http_api(body=SEED), context)["statusCode"] == 200


def test_store_faults_unreadable_store_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StoreError):
        LocalStore(blocker / "store").read(constants.CURRENT_POINTER)


def test_store_faults_slow_store_still_serves(store: LocalStore) -> None:
    import time

    class SlowStore(CountingStore):
        def read(self, key: str) -> bytes:
            time.sleep(0.05)
            return super().read(key)

    cache = ModelCache(Settings(model_store=store.uri), store_factory=lambda uri: SlowStore(store))
    assert cache.get().version == artifact.read_pointer(store)


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "AccessDenied", "ServiceUnavailable"])
def test_store_faults_s3_errors_keep_the_model_and_503_without_one(
    monkeypatch: pytest.MonkeyPatch, reference: tuple[LocalStore, str], code: str
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="models")
        s3 = S3Store("models", "store")
        model_factory.copy_version(*reference, s3)
        failing = {"on": False}

        def throttle(**kwargs: Any) -> None:
            if failing["on"]:  # what the client raises once S3 (and botocore's retries) gave up
                error = {"Error": {"Code": code, "Message": "injected"}}
                raise ClientError(error, "GetObject")  # type: ignore[arg-type]

        s3.client.meta.events.register("before-call.s3.GetObject", throttle)
        now = [0.0]
        cache = ModelCache(Settings(model_store=s3.uri, pointer_ttl_seconds=30, load_retry_seconds=1),
                           store_factory=lambda uri: s3, clock=lambda: now[0])  # fmt: skip
        good = cache.get().version
        failing["on"] = True
        now[0] += 30
        assert cache.get().version == good  # the outage keeps the last good model
        fresh = ModelCache(Settings(model_store=s3.uri, load_retry_seconds=1), store_factory=lambda uri: s3,
                           clock=lambda: now[0])  # fmt: skip
        with pytest.raises(Exception, match="cannot be read right now") as raised:
            fresh.get()
        assert raised.type.__name__ == "ModelUnavailableError"
        failing["on"] = False
        now[0] += 1  # the retry interval
        assert fresh.get().version == good
