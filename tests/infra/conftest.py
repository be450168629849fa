"""The deployment package, built once per test session by the same script `make package` runs:
the tests of the package and of its template (tests/infra/test_package.py, test_stack_*.py) share it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run(["bash", str(REPO / "infra" / "package.sh"), str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def sam(package) -> dict[str, Any]:
    """The packaged template (sam.json), as CloudFormation will read it."""
    return json.loads((package / "sam.json").read_text())
