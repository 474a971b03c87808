"""The images as `cdk deploy` builds them (on the stand-in bases), and run as their platforms run them: the
training image as a job writing to a mounted store, the inference image as Lambda runs it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra import assets
from tests.images.engine import Engine, docker_platform
from tests.images.standins import standin
from tests.runtime_api import RuntimeApi

# The real Lambda runs the function as an unprivileged user on a read-only file system with a writable /tmp.
LAMBDA_USER = "993:990"
_STANDIN_KIND = {assets.INFERENCE.name: "lambda", assets.TRAINING.name: "slim"}


@dataclass(frozen=True)
class Built:
    arch: str
    inference: str
    training: str
    bases: dict[str, str]  # image name -> the stand-in base it was built on


def build(engine: Engine, arch: str) -> Built:
    """Both images for `arch`, each on the stand-in of its real base (and the stand-in for this machine's
    architecture in the stages that run natively: a real base is one multi-arch tag, a stand-in is not)."""
    native = engine.architectures()[0]
    tags, bases = {}, {}
    for image in assets.IMAGES:
        kind = _STANDIN_KIND[image.name]
        bases[image.name] = standin(engine, kind, arch)
        tags[image.name] = f"fraud-{image.name}:test-{arch}"
        engine.run("build", "--platform", docker_platform(arch),
                   "--build-arg", f"BASE_IMAGE={bases[image.name]}",
                   "--build-arg", f"BUILD_BASE_IMAGE={standin(engine, kind, native)}",
                   "-f", image.dockerfile, "-t", tags[image.name], str(assets.REPO_ROOT))  # fmt: skip
    return Built(arch, inference=tags["inference"], training=tags["training"], bases=bases)


def train(engine: Engine, image: str, store: Path, *, rows: int, library: str) -> str:
    """Run the training image on generated data into `store`; the version it published and made current."""
    store.chmod(0o777)  # the training image runs as its own user (uid 10001)
    engine.run("run", "--rm", "-v", f"{store}:/store", "-e", "FRAUD_MODEL_STORE=/store",
               "-e", f"FRAUD_GENERATE_ROWS={rows}", "-e", "FRAUD_GENERATE_FRAUD_RATE=0.01",
               "-e", f"FRAUD_LIBRARIES={library}", "-e", "FRAUD_PROGRESS=false", image)  # fmt: skip
    version: str = json.loads((store / "models" / "CURRENT").read_text())["version"]
    return version


@contextlib.contextmanager
def lambda_container(engine: Engine, image: str, store: Path, version: str) -> Iterator[RuntimeApi]:
    """The inference image run as Lambda runs it, polling a Runtime API stand-in on this machine."""
    api = RuntimeApi()
    name = f"fraud-inference-test-{time.monotonic_ns()}"
    engine.run("run", "-d", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp",
               "--user", LAMBDA_USER, "-v", f"{store}:/store:ro",
               "-e", f"AWS_LAMBDA_RUNTIME_API={api.address}",
               "-e", "AWS_LAMBDA_FUNCTION_NAME=fraud-inference", "-e", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024",
               "-e", "FRAUD_MODEL_STORE=/store",
               "-e", f"FRAUD_MODEL_VERSION={version}", image)  # fmt: skip
    try:
        yield api
    except BaseException:
        print(engine.run("logs", name, check=False).stdout[-4000:])  # shown with the failing test
        raise
    finally:
        engine.run("rm", "-f", name, check=False)
        api.close()


def python_in(engine: Engine, image: str, code: str) -> str:
    """What `python3 -c code` prints in the image (run from its working directory, as its entry point is)."""
    return engine.run("run", "--rm", "--entrypoint", "python3", image, "-c", code).stdout


def installed_versions(engine: Engine, image: str, names: list[str]) -> dict[str, str]:
    code = f"import importlib.metadata as m, json; print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    found: dict[str, str] = json.loads(python_in(engine, image, code))
    return found
