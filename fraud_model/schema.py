"""The PaySim transaction schema: columns, types and the constraints every valid transaction meets."""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 1  # bump when features or artifact layout change incompatibly

TRANSACTION_TYPES: Final = ("CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER")
TYPE_CODES: Final = {name: code for code, name in enumerate(TRANSACTION_TYPES)}

LABEL: Final = "isFraud"
TIME: Final = "step"
TYPE: Final = "type"
# Money columns: finite and non-negative in every valid row.
AMOUNT_COLUMNS: Final = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
NAME_COLUMNS: Final = ("nameOrig", "nameDest")  # identifiers: never features, never logged
LEGACY_COLUMNS: Final = ("isFlaggedFraud",)  # the original data's rule output: not a feature

COLUMNS: Final = (
    TIME, TYPE, "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig",
    "nameDest", "oldbalanceDest", "newbalanceDest", LABEL, "isFlaggedFraud",
)  # fmt: skip

# What the seed's API sends; every other field of a request is optional.
REQUIRED_REQUEST_FIELDS: Final = ("amount", "oldbalanceOrg", "newbalanceOrig")
