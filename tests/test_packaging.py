"""The sdist carries the whole project; the wheel carries only the packages.

Built for real with ``python -m build`` (no isolation: the test extras bring setuptools,
so nothing is downloaded), from a clean copy of the checkout's tracked files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked_copy(destination: Path) -> Path:
    """The files git tracks (or, outside a checkout, the tree as it is), copied."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        names = [name for name in listed.decode("utf-8").split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
    for name in names:
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str], str]:
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not run from a source tree")
    source = _tracked_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    with tarfile.open(sdist) as archive:
        sdist_names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = archive.namelist()
        (metadata,) = [name for name in wheel_names if name.endswith(".dist-info/METADATA")]
        metadata_text = archive.read(metadata).decode("utf-8")
    return sdist_names, wheel_names, metadata_text


def test_the_wheel_holds_only_the_packages_with_schema_and_types(
    built: tuple[list[str], list[str], str],
) -> None:
    _, wheel, _ = built
    tops = {name.split("/", 1)[0] for name in wheel}
    assert {top for top in tops if not top.endswith(".dist-info")} == {
        "ziggy_migrate",
        "ziggy_migrate_cli",
    }
    schemas = sorted(name for name in wheel if name.startswith("ziggy_migrate/schemas/"))
    assert schemas == [
        f"ziggy_migrate/schemas/{path.name}" for path in sorted((ROOT / "schemas").glob("*.json"))
    ]
    for package in ("ziggy_migrate", "ziggy_migrate_cli"):
        for init in (ROOT / package).rglob("__init__.py"):
            assert str(init.relative_to(ROOT)) in wheel, f"{init.parent.name} is not packaged"
    assert "ziggy_migrate/py.typed" in wheel
    assert "ziggy_migrate_cli/py.typed" in wheel
    assert "ziggy_migrate/testing/__init__.py" in wheel
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel)
    assert not any(name.startswith(("tests/", "benchmarks/", "examples/")) for name in wheel)


def test_the_sdist_holds_everything_to_test_it(built: tuple[list[str], list[str], str]) -> None:
    sdist, _, _ = built
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "schemas/bundle-v1.schema.json",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/samples.py",
        "tests/cli/__init__.py",
        "tests/cli/conftest.py",
        "tests/golden/bundle-v1.json",
        "benchmarks/run.py",
        "examples/promote_script.py",
        "ziggy_migrate/__init__.py",
        "ziggy_migrate_cli/main.py",
    ):
        assert needed in sdist, needed
    tracked_tests = {
        str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py") if path.is_file()
    }
    assert tracked_tests <= set(sdist)
    assert not any("__pycache__" in name for name in sdist)


def test_the_metadata_says_what_an_index_shows(built: tuple[list[str], list[str], str]) -> None:
    _, _, metadata = built
    lines = metadata.splitlines()
    assert "License-Expression: MIT" in lines
    assert "License-File: LICENSE" in lines
    assert "Requires-Python: >=3.10" in lines
    classifiers = {line.split(": ", 1)[1] for line in lines if line.startswith("Classifier: ")}
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert {"Typing :: Typed", "Operating System :: OS Independent", "Environment :: Console"} <= (
        classifiers
    )
    assert any(line.startswith("Project-URL: Documentation, ") for line in lines)
    assert any(line.startswith("Keywords: ") and "ziggy" in line for line in lines)
