"""Unusable rows are quarantined with their reasons and counted; none is dropped silently."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from fraud_model.schema import COLUMNS
from training_job.dataset import load_dataset
from training_job.errors import DataQualityError
from training_job.validate import Quarantine, check_header

HEADER = ",".join(COLUMNS)
ROWS = [
    "1,PAYMENT,100.0,C1,200,100,M1,0,0,0,0",
    "1,TRANSFER,100.0,C2,100,0,C3,0,100,1,0",
    "2,PAYMENT,abc,C4,200,100,M1,0,0,0,0",  # amount:non_numeric
    "2,PAYMENT,-5,C5,200,205,M1,0,0,0,0",  # amount:negative
    "3,PAYMENT,5,C6,inf,205,M1,0,0,0,0",  # oldbalanceOrg:non_finite
    "3,WIRE,5,C7,10,5,M1,0,0,0,0",  # type:unknown
    ",PAYMENT,5,C8,10,5,M1,0,0,0,0",  # step:missing
    "4,PAYMENT,5,C9,10,5,M1,0,0,,0",  # isFraud:missing
    "4,PAYMENT,5,C9,10,5,M1,0,0,yes,0",  # isFraud:non_numeric
    "4,PAYMENT,-1,C9,10,5,M1,0,0,2,0",  # isFraud:invalid and amount:negative
    "5,PAYMENT,5,C10,10,5",  # malformed: 6 columns
    "5,CASH_IN,5,C11,10,15,C1,0,0,0,0",
]


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "messy.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    return path


def test_load_dataset_counts_every_reason(messy_csv: Path) -> None:
    _, quarantine = load_dataset([str(messy_csv)])
    assert dict(quarantine.reasons) == {
        "amount:non_numeric": 1,
        "amount:negative": 2,
        "oldbalanceOrg:non_finite": 1,
        "type:unknown": 1,
        "step:missing": 1,
        "isFraud:missing": 1,
        "isFraud:non_numeric": 1,
        "isFraud:invalid": 1,
        "row:malformed": 1,
    }


def test_load_dataset_keeps_the_valid_rows_around_a_stray_text_value(messy_csv: Path) -> None:
    dataset, quarantine = load_dataset([str(messy_csv)])
    assert (len(dataset), quarantine.bad, quarantine.rows) == (3, 9, 12)


def test_quarantine_file_holds_each_bad_row_with_its_reasons_and_no_account_names(messy_csv: Path) -> None:
    _, quarantine = load_dataset([str(messy_csv)])
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(quarantine.to_csv_gz()).decode())))
    assert len(rows) == 9
    assert {"reasons": "amount:non_numeric", "amount": "abc", "row": "3"}.items() <= rows[0].items()
    assert "nameOrig" not in rows[0] and not any("C4" in value for row in rows for value in row.values())


def test_check_header_refuses_a_file_without_the_label() -> None:
    with pytest.raises(DataQualityError, match="has no isFraud column"):
        check_header("data.csv", ["step", "type", "amount"], ["step", "type", "amount", "isFraud"])


def test_quarantine_check_fails_above_the_allowed_share() -> None:
    quarantine = Quarantine(rows=100, bad=2)
    quarantine.reasons["amount:negative"] = 2
    with pytest.raises(DataQualityError, match=r"2 of 100 rows \(2.00%\) are unusable.*amount:negative 2"):
        quarantine.check(0.01, where="store/reports/v/quarantine.csv.gz")


def test_quarantine_check_passes_at_or_below_the_allowed_share() -> None:
    Quarantine(rows=100, bad=1).check(0.01, where="-")


def test_quarantine_survives_its_plain_fields(messy_csv: Path) -> None:
    """A cluster worker's quarantine reaches the client whole (counts, reasons, kept rows)."""
    _, quarantine = load_dataset([str(messy_csv)])
    again = Quarantine.from_dict(json.loads(json.dumps(quarantine.to_dict())))
    assert again == quarantine and again.to_csv_gz() == quarantine.to_csv_gz()
