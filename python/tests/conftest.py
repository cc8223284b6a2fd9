"""Shared fixtures: the repository root and the command-line binary the package is
checked against (built by `cargo test --release` / `cargo build --release`)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _binary() -> Path:
    explicit = os.environ.get("EDGESIM_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "edgesim"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs the edgesim binary with arguments; returns (exit code, stdout, stderr)."""
    exe = _binary()
    if not exe.is_file():
        pytest.fail(
            f"{exe} not found: build it with `cargo build --release` or set EDGESIM_BIN"
        )

    def call(*args, cwd=None, check=True):
        p = subprocess.run(
            [str(exe), *map(str, args)],
            cwd=cwd or ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"edgesim {' '.join(map(str, args))}: {p.stderr}")
        return p.returncode, p.stdout, p.stderr

    return call


@pytest.fixture(scope="session")
def cli_json(cli):
    """The JSON document a command prints with --json."""

    def call(*args, cwd=None):
        return json.loads(cli(*args, "--json", cwd=cwd)[1])

    return call
