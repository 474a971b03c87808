"""Policies and lists in the model store, versioned like models.

`policies/<version>/policy.json` with `manifest.json` (its sha256), `policies/CURRENT` written last, after the
version has been read back and compiled; a policy that does not compile is never published. Lists change
without a new policy: `lists/<name>.json` holds one list's values, replaced whole (an atomic write on both
stores).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fraud_model import artifact, constants
from fraud_model.errors import ArtifactError, InputError, NotFoundError
from fraud_model.policy import DEFAULT_POLICY, Policy, PolicyError, compile_policy
from fraud_model.store import Store

POLICIES_PREFIX = "policies"
POLICY_POINTER = f"{POLICIES_PREFIX}/CURRENT"
POLICY_FILE = "policy.json"
LISTS_PREFIX = "lists"
DEFAULT_VERSION = "default"  # what serves when no policy was ever published
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_VALUE = 256


def parse(text: str | bytes) -> dict[str, Any]:
    """A policy document from its JSON text; PolicyError when it is not a JSON object."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PolicyError(f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError("a policy is a JSON object")
    return document


def publish_policy(store: Store, document: dict[str, Any], *, make_current: bool = True) -> str:
    """Compile, write, read back and compile again, then (optionally) move the pointer; the version id."""
    compile_policy(document)
    version = artifact.new_version_id()
    data = json.dumps(document, indent=2, sort_keys=True).encode()
    prefix = f"{POLICIES_PREFIX}/{version}"
    store.write(f"{prefix}/{POLICY_FILE}", data)
    manifest = {"version": version, "files": {POLICY_FILE: artifact.sha256(data)}}
    store.write(f"{prefix}/{constants.MANIFEST_FILE}", json.dumps(manifest, indent=2).encode())
    load_policy(store, version)
    if make_current:
        promote_policy(store, version)
    return version


def load_policy(store: Store, version: str) -> tuple[Policy, dict[str, Any]]:
    """One published version, verified (sha256) and compiled; ArtifactError or PolicyError otherwise."""
    if version == DEFAULT_VERSION:
        return compile_policy(DEFAULT_POLICY), DEFAULT_POLICY
    prefix = f"{POLICIES_PREFIX}/{_checked(version)}"
    try:
        manifest = json.loads(store.read(f"{prefix}/{constants.MANIFEST_FILE}"))
        data = store.read(f"{prefix}/{POLICY_FILE}")
        expected = manifest["files"][POLICY_FILE]
    except NotFoundError as exc:
        raise ArtifactError(f"policy version {version} is missing or incomplete") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"policy version {version} has an unreadable manifest") from exc
    if artifact.sha256(data) != expected:
        raise ArtifactError(f"policy version {version} does not match its sha256 (tampered or corrupt)")
    document = parse(data)
    return compile_policy(document), document


def read_policy_pointer(store: Store) -> str:
    """The current policy version; DEFAULT_VERSION when none was ever published."""
    try:
        return artifact.pointed_version(store, POLICY_POINTER)
    except NotFoundError:
        return DEFAULT_VERSION


def promote_policy(store: Store, version: str) -> None:
    """Make `version` current (also the rollback), after loading it completely."""
    load_policy(store, version)
    artifact.write_pointer(store, POLICY_POINTER, version)


def list_policies(store: Store) -> list[str]:
    """Published versions (those with a manifest), oldest first."""
    return artifact.published_versions(store, POLICIES_PREFIX)


def read_list(store: Store, name: str) -> frozenset[str]:
    """A list's values (empty when it was never written)."""
    try:
        document = json.loads(store.read(_list_key(name)))
        return frozenset(str(value) for value in document["values"])
    except NotFoundError:
        return frozenset()
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"list {name} in {store.uri} is unreadable") from exc


def read_lists(store: Store, names: Sequence[str]) -> dict[str, frozenset[str]]:
    """Every named list's values (what a policy's `lists` names), each read once."""
    return {name: read_list(store, name) for name in dict.fromkeys(names)}


def change_list(
    store: Store, name: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> frozenset[str]:
    """Add and remove values; the list's new values."""
    bad = [value for value in (*add, *remove) if not value or len(value) > _MAX_VALUE]
    if bad:
        raise InputError(f"list values are 1 to {_MAX_VALUE} characters: {bad[:3]}")
    values = (read_list(store, name) | set(add)) - set(remove)
    document = {"name": name, "values": sorted(values), "updated_at": datetime.now(UTC).isoformat()}
    store.write(_list_key(name), json.dumps(document, indent=1).encode())
    return frozenset(values)


def list_names(store: Store) -> list[str]:
    return sorted(key[len(LISTS_PREFIX) + 1 : -len(".json")] for key in store.list(LISTS_PREFIX)
                  if key.endswith(".json"))  # fmt: skip


def _list_key(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(f"invalid list name {name!r}: letters, digits and underscores")
    return f"{LISTS_PREFIX}/{name}.json"


def _checked(version: str) -> str:
    artifact.version_prefix(version)  # the same rule as model versions
    return version
