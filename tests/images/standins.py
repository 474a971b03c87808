"""Stand-ins for the images' real bases, which CI cannot pull: Debian's Python 3.13 from mmdebstrap, laid out
like the Lambda base (Dockerfile.lambda) or like python:3.13-slim (Dockerfile.slim). Tagged by a digest of
what they are made of, so a machine builds each once and rebuilds it only when that changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.images.engine import Engine, docker_platform

HERE = Path(__file__).parent / "standin"
REPO = Path(__file__).resolve().parents[2]
SUITE = "trixie"  # Python 3.13, like the real bases
# Debian's python3-pip would bring Debian-managed packages that pip cannot replace; the stand-ins install pip
# from its wheel instead, so that site-packages holds only pip, like the real bases.
PACKAGES = "python3,python3-pip-whl,python3-dev,python-is-python3,ca-certificates"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # this machine's egress TLS is re-signed
KINDS = {"lambda": "Dockerfile.lambda", "slim": "Dockerfile.slim"}


def standin(engine: Engine, kind: str, arch: str) -> str:
    """The tag of the stand-in base `kind` for `arch`, built if this machine has not built it yet."""
    tag = f"fraud-standin/{kind}:py3.13-{arch}-{_digest()}"
    if engine.has_image(tag):
        return tag
    rootfs = _rootfs(engine, arch)
    with tempfile.TemporaryDirectory() as context:
        for name in (*KINDS.values(), "dnf", "lambda-entrypoint.sh", "bootstrap"):
            shutil.copy(HERE / name, context)
        shutil.copy(REPO / "requirements" / "lambda-runtime.txt", context)
        shutil.copy(HOST_CA_BUNDLE, Path(context) / "ca-certificates.crt")
        engine.run("build", "--platform", docker_platform(arch), "--build-arg", f"ROOTFS={rootfs}",
                   "-f", str(Path(context) / KINDS[kind]), "-t", tag, context)  # fmt: skip
    return tag


def _rootfs(engine: Engine, arch: str) -> str:
    """Debian's root file system for `arch` as an image (minutes under QEMU: its packages configure there)."""
    packages = hashlib.sha256(PACKAGES.encode()).hexdigest()[:12]
    tag = f"fraud-standin/rootfs:{SUITE}-{arch}-{packages}"
    if engine.has_image(tag):
        return tag
    with tempfile.TemporaryDirectory() as context:
        tarball = Path(context) / "rootfs.tar"
        debian_arch = docker_platform(arch).split("/")[1]
        done = subprocess.run(
            ["mmdebstrap", f"--arch={debian_arch}", "--variant=minbase", f"--include={PACKAGES}", SUITE,
             str(tarball)],
            capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed:\n{done.stderr[-4000:]}")
        # FROM scratch + ADD labels the image with the target architecture (docker import cannot).
        (Path(context) / "Dockerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["/bin/sh"]\n')
        engine.run("build", "--platform", docker_platform(arch), "-t", tag, context)
    return tag


def _digest() -> str:
    digest = hashlib.sha256(f"{SUITE} {PACKAGES}".encode())
    for path in sorted(HERE.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update((REPO / "requirements" / "lambda-runtime.txt").read_bytes())
    return digest.hexdigest()[:12]
