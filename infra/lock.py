"""What each image installs: its slice of uv.lock, exported with hashes to requirements/ (`make lock`).

python -m infra.lock            # write the exports
python -m infra.lock --check    # exit 1 when an export differs from uv.lock
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from infra.assets import REPO_ROOT

HEADER = "# Exported from uv.lock by `make lock` (python -m infra.lock): do not edit.\n"
# requirements file -> what of the lock it holds
EXPORTS = {
    "requirements/serve.txt": ["--no-dev", "--extra", "serve"],  # the inference image
    "requirements/train.txt": ["--no-dev", "--extra", "train"],  # the training image
    "requirements/build.txt": ["--only-group", "build"],  # the build backend both images build with
    "requirements/lambda-runtime.txt": ["--only-group", "lambda-runtime"],  # the stand-in Lambda base
}


def uv() -> str:
    """The uv next to this Python (the Makefile installs a pinned one into .venv), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("uv not found: `make test` installs it into .venv")
    return found


def export(path: str) -> str:
    done = subprocess.run(
        [uv(), "export", "--frozen", "--no-emit-project", "--no-header", "--format", "requirements.txt",
         *EXPORTS[path]],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return HEADER + done.stdout


def main(argv: list[str]) -> int:
    stale = []
    for path, _ in EXPORTS.items():
        text = export(path)
        target = REPO_ROOT / path
        if "--check" in argv:
            if not target.exists() or target.read_text() != text:
                stale.append(path)
        else:
            target.write_text(text)
    for path in stale:
        print(f"{path} differs from uv.lock: run `make lock`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
