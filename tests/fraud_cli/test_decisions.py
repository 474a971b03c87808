"""`fraud policy` and `fraud lists`: invalid policies refused with exit 2 and the rule, publish verifies then
moves the pointer, promote rolls back, lists change without a new policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraud_cli.main import main
from fraud_model import policy_store
from fraud_model.policy import DEFAULT_POLICY
from fraud_model.store import LocalStore

EXAMPLE = {
    "mode": "all_matched",
    "lists": ["blocked_dest"],
    "rules": [
        {"id": "blocked", "expression": "nameDest in lists.blocked_dest", "outcome": "block"},
        {"id": "risky", "expression": "probability >= 0.2", "outcome": "review"},
    ],
}


def _file(tmp_path: Path, document: object, name: str = "policy.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_policy_validate_refuses_a_bad_rule_with_exit_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"rules": [{"id": "oops", "expression": "amount > 'x'", "outcome": "block"}]}
    assert main(["policy", "validate", _file(tmp_path, bad), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "fraud policy: error: rule 'oops', column 1: compares a number with a string"


def test_policy_publish_list_promote_and_roll_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LocalStore(tmp_path / "store")
    assert policy_store.read_policy_pointer(store) == "default"
    assert main(["policy", "publish", _file(tmp_path, DEFAULT_POLICY), "--store", store.uri]) == 0
    first = policy_store.read_policy_pointer(store)
    assert main(["policy", "publish", _file(tmp_path, EXAMPLE), "--store", store.uri]) == 0
    second = policy_store.read_policy_pointer(store)
    capsys.readouterr()
    assert main(["policy", "list", "--store", store.uri]) == 0
    assert capsys.readouterr().out.splitlines() == [f"  {first}", f"* {second}"]
    assert main(["policy", "promote", first, "--store", store.uri]) == 0
    assert policy_store.read_policy_pointer(store) == first
    policy, document = policy_store.load_policy(store, second)
    assert document == EXAMPLE and policy.mode == "all_matched"


def test_policy_publish_refuses_what_does_not_compile(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    bad = {"rules": [{"id": "x", "expression": "nameDest in lists.nope", "outcome": "block"}]}
    assert main(["policy", "publish", _file(tmp_path, bad), "--store", store.uri]) == 2
    assert policy_store.list_policies(store) == []


def test_policy_tampered_version_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    version = policy_store.publish_policy(store, EXAMPLE)
    (Path(store.uri) / "policies" / version / "policy.json").write_text(json.dumps(DEFAULT_POLICY))
    assert main(["policy", "promote", version, "--store", store.uri]) == 1


def test_lists_add_remove_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = str(tmp_path / "store")
    assert main(["lists", "add", "blocked_dest", "C1", "C2", "--store", uri]) == 0
    assert main(["lists", "remove", "blocked_dest", "C1", "--store", uri]) == 0
    capsys.readouterr()
    assert main(["lists", "show", "blocked_dest", "--store", uri]) == 0
    assert capsys.readouterr().out.split() == ["C2"]
    assert main(["lists", "add", "bad name", "C3", "--store", uri]) == 2
