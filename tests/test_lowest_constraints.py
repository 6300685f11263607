"""constraints-lowest.txt, which CI's "lowest" job installs with, is generated from pyproject.toml's lower
bounds; a dependency added or a bound moved without regenerating it fails here."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib

import pytest

from tests._helpers import ROOT

# scripts/ is not a package: load the script as a module, without putting scripts/ on the path.
_SCRIPT = ROOT / "scripts" / "lowest_constraints.py"
_spec = importlib.util.spec_from_file_location("lowest_constraints", _SCRIPT)
assert _spec is not None and _spec.loader is not None
lowest_constraints = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lowest_constraints)


def test_the_constraints_file_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lowest_constraints.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_every_dependency_and_extra_is_pinned_to_its_lower_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = lowest_constraints.lower_bounds({"project": project})
    assert bounds["numpy"] == project_bound(project["dependencies"], "numpy")
    assert bounds["pytest"] == project_bound(project["optional-dependencies"]["dev"], "pytest")
    assert bounds["litellm"] == "1.110.2"  # an == pin is its own lower bound
    assert "llm-task-router" not in bounds  # the project's own extras name no version


def project_bound(requirements: list[str], name: str) -> str:
    found = next(r for r in requirements if r.split(">=")[0].split("[")[0].strip() == name)
    return found.split(">=")[1].split(",")[0].split("#")[0].strip().strip('"')


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        (["a>=1.2", "b[x]>=2,<3"], {"a": "1.2", "b": "2"}),
        (["a>=1.2"], {"a": "1.2"}),
        (["A_b>=1", "a-b>=1.5"], {"a-b": "1.5"}),  # named twice: the higher bound holds for both
        (["a==2.0", "a>=1"], {"a": "2.0"}),  # an exact pin wins
        (['a>=1; python_version < "3.12"'], {"a": "1"}),
    ],
)
def test_lower_bounds(requirements, expected):
    project = {"name": "me", "dependencies": requirements}
    assert lowest_constraints.lower_bounds({"project": project}) == expected


def test_a_requirement_without_a_lower_bound_is_refused():
    with pytest.raises(ValueError, match="no lower bound"):
        lowest_constraints.lower_bounds({"project": {"name": "me", "dependencies": ["a<3"]}})
