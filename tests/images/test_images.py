"""The built images, run: the training image publishes a model, the inference image serves it under the real
Lambda runtime client, and both carry the versions of uv.lock."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest

from infra import assets
from tests.images.conftest import TrainedStore
from tests.images.containers import Built, installed_versions, lambda_container, python_in, train
from tests.images.engine import Engine
from tests.lambda_handler.gateway_events import FULL, SEED, body_of, http_api, rest_api

pytestmark = pytest.mark.slow
SHARED = ["numpy", "xgboost-cpu", "lightgbm", "pydantic", "boto3"]
SMALL_TRAIN_ROWS = 5_000  # per architecture (arm64 trains under emulation)


def _locked(names: list[str]) -> dict[str, str]:
    lock = tomllib.loads((assets.REPO_ROOT / "uv.lock").read_text())
    return {p["name"]: p["version"] for p in lock["package"] if p["name"] in names}


def _answer(result: dict[str, Any]) -> tuple[int, Any]:
    assert result["kind"] == "response", result
    return result["body"]["statusCode"], body_of(result["body"])


def test_images_install_the_locked_versions(built: Built, engine: Engine) -> None:
    locked = _locked(SHARED)
    assert installed_versions(engine, built.training, SHARED) == locked
    assert installed_versions(engine, built.inference, SHARED) == locked


def test_training_image_publishes_a_verified_version(trained: TrainedStore) -> None:
    for library, version in trained.versions.items():
        metadata = json.loads((trained.path / "models" / version / "metadata.json").read_text())
        assert {model["library"] for model in metadata["models"].values()} == {library}
        assert metadata["library_versions"][library] == _locked([f"{library}-cpu", library]).popitem()[1]
        assert (trained.path / "reports" / version / "report.md").exists()


def test_training_image_trains_on_its_architecture(
    built: Built, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = tmp_path_factory.mktemp(f"train-{built.arch}")
    version = train(engine, built.training, store, rows=SMALL_TRAIN_ROWS, library="xgboost,lightgbm")
    metadata = json.loads((store / "models" / version / "metadata.json").read_text())
    assert set(metadata["models"]) == {"full", "origin"}
    assert metadata["library_versions"]["numpy"] == _locked(["numpy"])["numpy"]


def test_inference_image_has_the_compiled_walker_and_rule_evaluator_and_no_compiler(
    built: Built, engine: Engine
) -> None:
    check = (
        "import fraud_model.compiled as c, fraud_model.rulecode as r, shutil; "
        "from fraud_model.policy import compile_policy; "
        "p = compile_policy({'rules': [{'id': 'a', 'expression': 'amount > 1', 'outcome': 'review'}]}); "
        "print(c.AVAILABLE, r.AVAILABLE, p.program.compiled is not None, shutil.which('gcc'))"
    )
    assert python_in(engine, built.inference, check).split() == ["True", "True", "True", "None"]


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_inference_image_answers_through_the_runtime_client(
    built: Built, engine: Engine, trained: TrainedStore, library: str
) -> None:
    version = trained.versions[library]
    with lambda_container(engine, built.inference, trained.path, version) as runtime:
        # The reference request, as written, in both payload versions.
        for event in (rest_api(body=SEED), http_api(body=SEED)):
            status, body = _answer(runtime.invoke(event))
            assert status == 200, body
            assert isinstance(body["is_fraud"], bool) and body["model_version"] == version
        # TreeSHAP reasons load the native booster (LightGBM's needs libgomp in the image).
        status, body = _answer(runtime.invoke(rest_api(body=FULL, query={"explain": "true"})))
        assert status == 200, body
        assert body["feature_set"] == "full" and body["reasons"]
        status, body = _answer(runtime.invoke(http_api(path="/predict/batch",
                                                       body={"transactions": [SEED, FULL]})))  # fmt: skip
        assert status == 200, body
        assert [p["feature_set"] for p in body["predictions"]] == ["origin", "full"]
        for event in (rest_api("GET", "/docs", None), http_api("GET", "/docs", None)):
            result = runtime.invoke(event)
            assert result["body"]["statusCode"] == 200
            assert "swagger-ui" in result["body"]["body"]
