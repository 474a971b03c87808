"""The strict transaction model that every scoring entry point validates against (API, `fraud predict`).

Numbers must be JSON numbers (no booleans, no numeric strings), finite, and non-negative for money;
`type` must be a PaySim type; unknown fields are refused so a typo never silently becomes "absent".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Money = Annotated[float, Field(ge=0, allow_inf_nan=False, description="finite, non-negative amount")]
MAX_STEP = 1_000_000_000


def _integral(value: Any) -> Any:
    """1.0 is the integer 1 (JSON Schema's `integer` includes it); 1.5 and booleans stay refused."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# The constraints before the validator, so that the JSON schema says minimum/maximum (the other way round,
# pydantic wrote its own "ge"/"le" into it, which no client reads).
Step = Annotated[
    int, Field(ge=0, le=MAX_STEP, description="hour of the simulation"), BeforeValidator(_integral)
]
TransactionType = Literal["CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"]


class Transaction(BaseModel):
    """One payment. The seed's three fields are required; the others let the full model score it."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"amount": 112.00, "oldbalanceOrg": 100.00, "newbalanceOrig": 0.00}]},
    )

    amount: Money
    oldbalanceOrg: Money
    newbalanceOrig: Money
    type: TransactionType | None = None
    oldbalanceDest: Money | None = None
    newbalanceDest: Money | None = None
    step: Step | None = None
    nameOrig: Annotated[str, Field(max_length=64)] | None = None  # accepted, never a feature, never logged
    nameDest: Annotated[str, Field(max_length=64)] | None = None
