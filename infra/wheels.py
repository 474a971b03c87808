"""The resolution check: every locked requirement of an image has a binary wheel for each base and
architecture the stack can deploy it on, judged by the wheel tags pip on that base accepts (its CPython
version and glibc). Offline: the wheel file names come from uv.lock.

    python -m infra.wheels                      # every image x architecture; exit 1 naming what has no wheel
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from infra.assets import ARCHITECTURES, IMAGES, REPO_ROOT, Base

LOCK = REPO_ROOT / "uv.lock"
Wheels = dict[tuple[str, str], list[str]]  # (name, version) -> wheel file names


@dataclass(frozen=True)
class Target:
    """One platform an image is deployed on."""

    python: tuple[int, int]
    glibc: tuple[int, int]
    arch: str

    def __str__(self) -> str:
        (major, minor), (libc, libc_minor) = self.python, self.glibc
        return f"CPython {major}.{minor}, glibc {libc}.{libc_minor}, {self.arch}"

    def tags(self) -> set[Tag]:
        """What the images' pip accepts (requirements/install-wheels.sh): manylinux_2_N for N from 17 up to
        this glibc, its alias manylinux2014, and pure wheels."""
        libc, newest = self.glibc
        platforms = [f"manylinux_{libc}_{minor}_{self.arch}" for minor in range(newest, 16, -1)]
        platforms.append(f"manylinux2014_{self.arch}")
        interpreter = f"cp{self.python[0]}{self.python[1]}"
        return {
            *cpython_tags(self.python, abis=[interpreter], platforms=platforms),
            *compatible_tags(self.python, interpreter, platforms),
        }

    def environment(self) -> dict[str, str]:
        """The marker environment of this platform, for the requirements' `; sys_platform == ...` parts."""
        version = f"{self.python[0]}.{self.python[1]}"
        return {
            "python_version": version, "python_full_version": f"{version}.0", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": self.arch, "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
        }  # fmt: skip


def locked_wheels(lock: Path = LOCK) -> Wheels:
    """(name, version) -> the file names of its wheels, from uv.lock."""
    packages = tomllib.loads(lock.read_text())["package"]
    return {
        (canonicalize_name(p["name"]), p["version"]): [_file_name(w["url"]) for w in p.get("wheels", [])]
        for p in packages
    }


def _file_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def requirements(path: Path) -> list[Requirement]:
    """The pinned requirements of an exported requirements file (hash lines and comments skipped)."""
    found = []
    for line in path.read_text().splitlines():
        if line and not line.startswith((" ", "#", "-")):
            found.append(Requirement(line.rstrip(" \\")))
    return found


def missing_wheels(requirements_file: Path, target: Target, wheels: Wheels) -> list[str]:
    """One line per requirement that pip on `target` could only build from source."""
    accepted = target.tags()
    problems = []
    for requirement in requirements(requirements_file):
        if requirement.marker and not requirement.marker.evaluate(target.environment()):
            continue
        version = next(iter(requirement.specifier)).version
        files = wheels.get((canonicalize_name(requirement.name), version), [])
        if not any(accepted & parse_wheel_filename(name)[3] for name in files):
            tags = {tag for name in files for tag in parse_wheel_filename(name)[3]}
            offered = sorted({tag.platform for tag in tags if "linux" in tag.platform})
            problems.append(
                f"{requirement.name} {version} has no wheel for {target} "
                f"(its wheels: {', '.join(offered) or 'no Linux wheel'})"
            )
    return problems


def targets(base: Base) -> list[Target]:
    return [Target(base.python, base.glibc, arch) for arch in ARCHITECTURES]


def main() -> int:
    wheels = locked_wheels()
    failed = False
    for image in IMAGES:
        for target in targets(image.base):
            problems = missing_wheels(REPO_ROOT / image.requirements, target, wheels)
            print(f"{image.name} on {image.base.image} ({target}): {'OK' if not problems else 'FAILED'}")
            for problem in problems:
                print(f"  {problem}")
            failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
