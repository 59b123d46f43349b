"""``ziggy flow export`` to a file never reads the saved bundle back: what it prints
comes from the counts, so the flows' graphs are never in memory all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

import ziggy_migrate._engine.export as export_module
from ziggy_migrate import Flow

from ..samples import TaggedDev
from .conftest import Cli


@pytest.mark.parametrize("output", ["json", "human"])
@pytest.mark.parametrize("layout", ["file", "dir"])
def test_export_to_a_path_prints_everything_without_decoding_the_bundle(
    cli: Cli,
    profiles: TaggedDev,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    output: str,
    layout: str,
) -> None:
    decoded: list[str] = []

    def counting(text: str) -> Flow:
        decoded.append(text)
        raise AssertionError("the CLI read the saved bundle back")

    monkeypatch.setattr(export_module, "decode_flow", counting)
    out = tmp_path / "out"
    result = cli(
        "flow", "export", "--server", "dev", "--no-prompt", "--tags", "tag1",
        "--file-path", str(out), "--layout", layout, "--format", output,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert decoded == []
    if output == "json":
        assert result.json["data"]["flowCount"] == 2
    else:
        assert "Exported 2 flows" in result.stdout + result.stderr
