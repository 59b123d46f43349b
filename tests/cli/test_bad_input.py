"""Hostile bundles through the CLI: refused as bad input before any request is sent.

Every broken bundle given to import, plan or diff must give exit 2 and one JSON document
on stdout whose message is one line naming the place to fix, with no traceback on stderr
and no request at all in the target's log.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import dump_bundle, export_flows
from ziggy_migrate.testing import ZiggyEmulator

from ..samples import client_for, seed_tagged_dev
from .conftest import Cli, MemoryKeyring, add_profile

Document = dict[str, Any]


@dataclass(frozen=True)
class Hostile:
    """One broken bundle: how to write it from a valid one, and the place it names."""

    write: Callable[[Path, Document, str], Path]
    place: str


def _json(change: Callable[[Document], object]) -> Callable[[Path, Document, str], Path]:
    """A bundle file holding the valid document after ``change``."""

    def write(folder: Path, document: Document, _text: str) -> Path:
        broken = copy.deepcopy(document)
        change(broken)
        path = folder / "bad.json"
        path.write_text(json.dumps(broken, indent=2), encoding="utf-8")
        return path

    return write


def _text(change: Callable[[str], str | bytes]) -> Callable[[Path, Document, str], Path]:
    """A bundle file holding the valid text after ``change`` (text or raw bytes)."""

    def write(folder: Path, _document: Document, text: str) -> Path:
        content = change(text)
        path = folder / "bad.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    return write


def _deeply_nested(text: str) -> str:
    depth = 100_000
    node = '{"id": "deep", "type": "x", "data": {"v": ' + "[" * depth + "]" * depth + "}}"
    return text.replace('"nodes": []', f'"nodes": [{node}]', 1)


def _folder_without_index(folder: Path, document: Document, _text: str) -> Path:
    path = folder / "just-a-folder"
    (path / "flows").mkdir(parents=True)
    (path / "flows" / "orders.json").write_text(json.dumps(document["flows"][0]))
    return path


def _folder_with_a_broken_item(folder: Path, document: Document, _text: str) -> Path:
    path = folder / "bundle-folder"
    (path / "flows").mkdir(parents=True)
    index = {key: document[key] for key in ("schemaVersion", "provenance", "unresolvedReferences")}
    (path / "index.json").write_text(json.dumps(index))
    (path / "flows" / "orders--1234.json").write_text('{"uuid": "1234", "name": ')
    return path


def _set(path: tuple[str | int, ...], value: object) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _same(plural: str, field: str) -> Callable[[Document], None]:
    """The second item of a kind gets the first one's ``field``."""

    def change(document: Document) -> None:
        document[plural][1][field] = document[plural][0][field]

    return change


CORPUS: dict[str, Hostile] = {
    "empty file": Hostile(_text(lambda text: ""), "line 1, column 1"),
    "truncated JSON": Hostile(_text(lambda text: text[: len(text) // 2]), "line "),
    "a name that is a number": Hostile(_json(_set(("flows", 0, "name"), 42)), "$.flows[0].name"),
    "flows that are an object": Hostile(_json(_set(("flows",), {})), "$.flows"),
    "an unknown top-level key": Hostile(_json(_set(("extra",), 1)), "'extra'"),
    "an unknown key on a flow": Hostile(_json(_set(("flows", 1, "password"), "x")), "$.flows[1]"),
    "a value on a secret": Hostile(
        _json(_set(("secrets", 0, "devValue"), "leaked")), "$.secrets[0]"
    ),
    "a duplicate UUID": Hostile(_json(_same("flows", "uuid")), "$.flows[1].uuid"),
    "a duplicate name": Hostile(_json(_same("flows", "name")), "$.flows[1].name"),
    "a dangling reference": Hostile(_json(_set(("connections",), [])), "$.flows[1].nodes"),
    "a newer schemaVersion": Hostile(_json(_set(("schemaVersion",), 99)), "$.schemaVersion"),
    "NaN": Hostile(_text(lambda text: text.replace('"zoom": 1', '"zoom": NaN', 1)), "line "),
    "invalid UTF-8": Hostile(
        _text(
            lambda text: text.replace("Invoices", "Inv\udcffoices").encode(
                "utf-8", "surrogateescape"
            )
        ),
        "bad.json",
    ),
    "deep nesting": Hostile(_text(_deeply_nested), "nests too deeply at line "),
    "a folder that is not a bundle folder": Hostile(_folder_without_index, "just-a-folder"),
    "a bundle folder with a broken item": Hostile(
        _folder_with_a_broken_item, "flows/orders--1234.json"
    ),
}


@pytest.fixture(scope="module")
def target() -> Iterator[ZiggyEmulator]:
    """One server for the whole module: each test checks that its log stays empty."""
    with ZiggyEmulator(name="prod") as ziggy:
        yield ziggy


@pytest.fixture(scope="module")
def valid(target: ZiggyEmulator) -> tuple[Document, str]:
    """A valid bundle (every kind of reference in it), as a document and as its text."""
    seed_tagged_dev(target)
    with client_for(target) as client:
        text = dump_bundle(export_flows(client).bundle)
    return json.loads(text), text


@pytest.fixture
def server(
    target: ZiggyEmulator, valid: tuple[Document, str], memory_keyring: MemoryKeyring
) -> ZiggyEmulator:
    add_profile("prod", target, memory_keyring)
    target.reset_requests()
    return target


def _hostile(name: str, folder: Path, valid: tuple[Document, str]) -> Path:
    document, text = valid
    assert "Invoices" in text
    assert '"nodes": []' in text
    return CORPUS[name].write(folder, document, text)


COMMANDS = {
    "import": ["flow", "import", "-s", "prod", "-fp", "{bad}", "--overwrite", "--no-prompt"],
    "plan": ["flow", "plan", "-s", "prod", "-fp", "{bad}", "--skip", "--out", "{plan}"],
    "diff with a server": ["flow", "diff", "-s", "prod", "-fp", "{bad}", "--exit-code"],
    "diff against a bundle": ["flow", "diff", "-fp", "{good}", "--against", "{bad}"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", CORPUS)
def test_a_hostile_bundle_is_refused_before_any_request(
    cli: Cli,
    server: ZiggyEmulator,
    valid: tuple[Document, str],
    tmp_path: Path,
    name: str,
    command: str,
) -> None:
    bad = _hostile(name, tmp_path, valid)
    good = tmp_path / "good.json"
    good.write_text(valid[1], encoding="utf-8")
    plan = tmp_path / "plan.json"
    args = [arg.format(bad=bad, good=good, plan=plan) for arg in COMMANDS[command]]
    result = cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    document = result.json  # exactly one JSON document, on one line
    assert document["status"] == 400
    assert document["statusText"] == "Bad Request"
    message = result.message
    assert message
    assert "\n" not in message
    assert "Traceback" not in result.stderr
    assert server.requests == []
    assert not plan.exists()


@pytest.mark.parametrize(
    "name",
    list(CORPUS),
)
def test_the_message_names_the_place(
    cli: Cli, server: ZiggyEmulator, valid: tuple[Document, str], tmp_path: Path, name: str
) -> None:
    bad = _hostile(name, tmp_path, valid)
    result = cli("flow", "import", "-s", "prod", "-fp", str(bad), "--skip", "--no-prompt")
    assert result.exit_code == 2
    assert CORPUS[name].place in result.said
