"""Names shared by every deployable: environment variables, store layout and defaults.

The variables that more than one part reads are named here. Each deployable's settings class
(`lambda_handler.config.Settings`, `training_job.config.TrainSettings`) reads its options as `FRAUD_<FIELD>`.
"""

from __future__ import annotations

from pathlib import Path

ENV_PREFIX = "FRAUD_"

# --- environment variables -------------------------------------------------------------------------
MODEL_STORE_ENV = "FRAUD_MODEL_STORE"  # local directory or s3://bucket[/prefix]; every deployable
MODEL_VERSION_ENV = "FRAUD_MODEL_VERSION"  # serving: pin a version instead of following the pointer
POINTER_TTL_ENV = "FRAUD_POINTER_TTL_SECONDS"  # serving: how often the current-version pointer is re-read
MAX_BATCH_SIZE_ENV = "FRAUD_MAX_BATCH_SIZE"  # serving: most transactions in one /predict/batch
MAX_BODY_BYTES_ENV = "FRAUD_MAX_BODY_BYTES"  # serving: largest accepted request body
LOAD_RETRY_ENV = "FRAUD_LOAD_RETRY_SECONDS"  # serving: with no model, how often a failed load is retried
API_KEY_HEADER_ENV = "FRAUD_API_KEY_HEADER"  # serving: the API-key header, declared in /openapi.json
RECORDS_ENV = "FRAUD_RECORDS"  # serving: where decision records go (store, log, off)
RECORD_NAMES_ENV = "FRAUD_RECORD_NAMES"  # serving: account names in records (hash, plain, omit)
RECORD_NAME_KEY_ENV = "FRAUD_RECORD_NAME_KEY"  # serving: the key names are hashed with
RECORD_NAME_KEY_SECRET_ENV = (
    "FRAUD_RECORD_NAME_KEY_SECRET"  # serving: or the Secrets Manager secret holding it
)
S3_ENDPOINT_URL_ENV = "FRAUD_S3_ENDPOINT_URL"  # every deployable: custom S3 endpoint (moto server, MinIO)
DATA_ENV = "FRAUD_DATA"  # training: input URIs, separated by commas or whitespace
DASK_CLUSTER_ENV = "FRAUD_DASK_CLUSTER"  # `fraud score`/`train`: a Dask scheduler (unset: in-process)
SCORE_JOB_ENV = "FRAUD_SCORE_JOB"  # training container: where a `fraud score --remote` request may wait

# --- model store layout (relative to the store root) -----------------------------------------------
MODELS_PREFIX = "models"
REPORTS_PREFIX = "reports"
CURRENT_POINTER = f"{MODELS_PREFIX}/CURRENT"
METADATA_FILE = "metadata.json"
MANIFEST_FILE = "manifest.json"

# --- defaults --------------------------------------------------------------------------------------
DEFAULT_POINTER_TTL_SECONDS = 30.0
DEFAULT_LOAD_RETRY_SECONDS = 1.0
DEFAULT_MAX_BATCH_SIZE = 1000
MAX_BATCH_SIZE_LIMIT = 10_000  # the largest FRAUD_MAX_BATCH_SIZE: its answer stays under Lambda's 6 MB
DEFAULT_MAX_BODY_BYTES = 1_048_576
NATURAL_FRAUD_RATE = 0.0013  # PaySim's live fraud rate (8,213 frauds in 6.36 M transactions)


def default_store_uri() -> str:
    """The embedded default store: `model_store/` in the project checkout, else in the working directory."""
    project_root = Path(__file__).resolve().parents[1]
    if (project_root / "pyproject.toml").is_file():
        return str(project_root / "model_store")
    return str(Path.cwd() / "model_store")
