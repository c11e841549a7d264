"""Packaging and the Makefile (issue 12): no setuptools warning about the licence, and `make run`
installs only what running Allot needs (the test tools come with `make test`)."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_is_an_spdx_expression_that_the_build_backend_reads() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"  # a table ({text = ...}) is deprecated: setuptools warns
    assert "setuptools>=77" in project["build-system"]["requires"][0]  # the first to accept the string


def recipes(target: str) -> list[str]:
    """The commands `make <target>` would run from scratch (dry run: nothing is executed)."""
    done = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if "pip install" in line]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_installs_no_test_tools_and_make_test_does() -> None:
    run = recipes("run")
    assert any(line.endswith("install --quiet -e .") for line in run)
    assert not [line for line in run if "[test]" in line]
    assert any("'.[test]'" in line for line in recipes("test"))
