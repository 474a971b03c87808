"""Errors of the training job; each maps to one readable line on stderr and a non-zero exit code."""

from __future__ import annotations

from fraud_model.errors import FraudError, InputError


class DataQualityError(InputError):
    """The data cannot be trained on: no label column, too many bad rows, too few steps to split by time."""

    exit_code = 3


class TrainingError(FraudError):
    """Training could not produce a publishable model (e.g. no fraud in a split, an export that disagrees)."""

    exit_code = 4
