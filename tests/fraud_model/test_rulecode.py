"""The compiled rule evaluator (fraud_model._rules, via fraud_model.rulecode): what it runs, what it leaves to
numpy, and that nothing it is given can make it read out of bounds. (That it answers exactly like numpy and
like one transaction at a time: tests/fraud_model/test_policy.py, on random policies.)"""

from __future__ import annotations

import numpy as np
import pytest

from fraud_model import rulecode
from fraud_model.columnar import columns
from fraud_model.policy import compile_policy

pytestmark = pytest.mark.skipif(
    not rulecode.AVAILABLE,
    reason="fraud_model._rules is not built (pip install -e . or see docs/decisions.md)",
)
ROWS = {
    "amount": [10.0, 500.0, 900.0, 1e7], "oldbalanceOrg": [10.0, 1000.0, 900.0, 0.0],
    "type": ["TRANSFER", None, "CASH_OUT", "PAYMENT"], "nameDest": ["C1", "M2", None, "C1"],
    "step": [1.0, None, 30.0, 2.0],
}  # fmt: skip


def _policy(*expressions: str) -> object:
    rules = [{"id": f"r{i}", "expression": e, "outcome": "review"} for i, e in enumerate(expressions)]
    return compile_policy({"mode": "all_matched", "lists": ["mules"], "rules": rules})


def test_rulecode_runs_rules_with_comparisons_of_absent_fields_false() -> None:
    policy = _policy(
        "type in ('TRANSFER', 'CASH_OUT') and 0.9 * oldbalanceOrg <= amount",
        "nameDest in lists.mules or nameDest == 'M2'",
        "not (step > 24)",
        "amount >= 1e6",
    )
    program = policy.program  # type: ignore[attr-defined]
    assert program.compiled is not None
    matched = program.run(columns(ROWS), {"mules": frozenset({"C1"})})
    assert matched.tolist() == [
        [True, False, True, False],  # absent type: false
        [True, True, False, True],  # absent name: false
        [True, True, False, True],  # absent step: the comparison is false, so `not` of it is true
        [False, False, False, True],
    ]


def test_rulecode_leaves_coded_fields_compared_as_text_to_numpy() -> None:
    policy = _policy("type == nameDest", "amount > 1")
    assert policy.program.compiled is None  # type: ignore[attr-defined]
    assert policy.program.run(columns(ROWS), {}).tolist()[1] == [True, True, True, True]  # type: ignore[attr-defined]


def test_rulecode_refuses_instructions_out_of_range() -> None:
    from fraud_model import _rules

    def program(*instruction: int, truths: int = 1) -> object:
        code = np.array(instruction, dtype=np.int32).tobytes()
        return _rules.Program(code, np.zeros(1).tobytes(), b"", 1, 0, 0, 0, truths, 1)

    program(rulecode.OPS.index("truth"), 0, 0, 0)  # truth register 0 = column 0 != 0: fine
    for bad in [(rulecode.OPS.index("truth"), 1, 0, 0), (rulecode.OPS.index("lt"), 0, 0, 2),
                (rulecode.OPS.index("code_in"), 0, 0, 0), (rulecode.OPS.index("out"), 0, 0, 1),
                (len(rulecode.OPS), 0, 0, 0), (-1, 0, 0, 0)]:  # fmt: skip
        with pytest.raises(ValueError, match="out of range"):
            program(*bad)
    with pytest.raises(ValueError, match="four int32"):
        _rules.Program(np.zeros(3, dtype=np.int32).tobytes(), b"", b"", 0, 0, 0, 0, 0, 0)


def test_rulecode_refuses_inputs_of_the_wrong_shape() -> None:
    compiled = _policy("nameDest in lists.mules and amount > 1").program.compiled  # type: ignore[attr-defined]
    out = np.zeros((1, 4), dtype=bool)
    amount, names = np.full(4, 5.0), ["C1", None, "C2", "C1"]
    compiled.program.run((amount,), (names,), (frozenset({"C1"}),), out)
    assert out.tolist() == [[True, False, False, True]]
    with pytest.raises(ValueError, match="counts"):
        compiled.program.run((amount, amount), (names,), (frozenset(),), out)
    with pytest.raises(ValueError, match="float64"):
        compiled.program.run((np.ones(3),), (names,), (frozenset(),), out)
    with pytest.raises(ValueError, match="lists"):
        compiled.program.run((amount,), (names[:3],), (frozenset(),), out)
    with pytest.raises(TypeError, match="set"):
        compiled.program.run((amount,), (names,), (["C1"],), out)
    with pytest.raises(TypeError):  # unhashable names: the lookup's own error, not a crash
        compiled.program.run((amount,), ([[1], None, None, None],), (frozenset(),), out)
