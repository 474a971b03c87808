"""The container engine the image tests drive: found once, or a plain reason why the tests skip."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Debian's docker CLI has BuildKit built in; a newer CLI without the buildx plugin may stand first on PATH.
_DEBIAN_DOCKER = "/usr/bin/docker"
_BINFMT = Path("/proc/sys/fs/binfmt_misc")
# Docker's name for an architecture, and the interpreter binfmt_misc registers to emulate it.
_ARCHES = {"x86_64": ("amd64", "qemu-x86_64"), "aarch64": ("arm64", "qemu-aarch64")}


class EngineError(RuntimeError):
    """A docker command failed: the message carries its output."""


@dataclass(frozen=True)
class Engine:
    binary: str

    def run(self, *args: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        done = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if check and done.returncode != 0:
            output = (done.stdout + done.stderr)[-6000:]
            raise EngineError(f"docker {' '.join(args[:2])} failed ({done.returncode}):\n{output}")
        return done

    def has_image(self, tag: str) -> bool:
        return self.run("image", "inspect", tag, check=False).returncode == 0

    def image_size(self, tag: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", tag).stdout)

    def architectures(self) -> list[str]:
        """This machine's architecture first, then any other that binfmt_misc can emulate (QEMU)."""
        native = platform.machine()
        found = [native] if native in _ARCHES else []
        for arch, (_, interpreter) in _ARCHES.items():
            entry = _BINFMT / interpreter
            if arch != native and entry.exists() and entry.read_text().startswith("enabled"):
                found.append(arch)
        return found


def docker_platform(arch: str) -> str:
    return f"linux/{_ARCHES[arch][0]}"


@cache
def find() -> tuple[Engine | None, str]:
    """The engine, or None and why: the image tests skip with that reason."""
    binary = os.environ.get("FRAUD_DOCKER") or (
        _DEBIAN_DOCKER if Path(_DEBIAN_DOCKER).exists() else shutil.which("docker")
    )
    if not binary:
        return None, "no container engine: docker is not installed (.ci/run installs and starts one)"
    try:
        info = subprocess.run([binary, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, "no container engine: the docker daemon did not answer within 30 s"
    if info.returncode != 0:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        return None, f"no container engine: no docker daemon at {where} (.ci/run starts one)"
    if not shutil.which("mmdebstrap"):
        return None, "no mmdebstrap to build the stand-in base images (apt-get install mmdebstrap)"
    return Engine(binary), ""
