"""`POST /labels`: a batch of labels appended to the store; a bad one refuses the batch (each bad label named,
nothing written); the same batch twice changes nothing."""

from __future__ import annotations

from fraud_model import labels
from fraud_model.store import LocalStore
from lambda_handler.handler import handler
from tests.lambda_handler.gateway_events import Context, body_of, http_api

GOOD = [
    {"record_id": "req-1:0", "label": "fraud", "label_time": "2026-12-04T10:00:00Z", "source": "cases"},
    {"record_id": "req-2:3", "label": False, "label_time": "2026-12-04T11:00:00"},
]


def test_labels_route_stores_a_batch_and_a_repeat_changes_nothing(
    store: LocalStore, context: Context
) -> None:
    for _ in range(2):
        response = handler(http_api("POST", "/labels", {"labels": GOOD}), context)
        assert response["statusCode"] == 200 and body_of(response) == {"accepted": 2}
    current = {row["record_id"]: row for row in labels.read(store).to_pylist()}
    assert {key: (row["label"], row["source"]) for key, row in current.items()} == {
        "req-1:0": (1, "cases"), "req-2:3": (0, "api")}  # fmt: skip


def test_labels_route_refuses_a_batch_with_a_bad_label_naming_it(store: LocalStore, context: Context) -> None:
    bad = [*GOOD, {"record_id": "req-3:0", "label": "maybe", "label_time": "2026-12-04T10:00:00Z"},
           {"label": True, "label_time": "2026-12-04T10:00:00Z"},
           {"record_id": "req-4", "label": True, "label_time": "yesterday"},
           {"record_id": "req-5:0", "label": True, "label_time": 1733306400}]  # fmt: skip
    response = handler(http_api("POST", "/labels", {"labels": bad}), context)
    assert response["statusCode"] == 422
    fields = {detail["field"] for detail in body_of(response)["error"]["details"]}
    assert {
        "labels[3].record_id",
        "labels[4].record_id",
        "labels[4].label_time",
        "labels[5].label_time",
    } <= fields
    assert any(field.startswith("labels[2].label") for field in fields)
    assert labels.read(store).num_rows == 0  # nothing written


def test_labels_route_refuses_fields_it_does_not_know(store: LocalStore, context: Context) -> None:
    response = handler(http_api("POST", "/labels", {"labels": [{**GOOD[0], "amount": 5}]}), context)
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["details"][0]["field"] == "labels[0].amount"
