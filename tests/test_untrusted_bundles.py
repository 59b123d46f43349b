"""Bundle files and folders are untrusted input: a pull request can put anything in them.

Links inside a bundle folder are never followed; what is not a regular file is refused
before it is read; every read stops at the size limit; a JSON object never holds a key
twice (in a bundle file, a folder's index or item files, or a plan file); and the file
names a folder export makes from server data are safe on every platform, whatever the
server sends. Each refusal is one ``BundleError`` line that names the path.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ziggy_migrate import (
    Bundle,
    BundleError,
    InvalidArgumentError,
    PlanFileError,
    dump_bundle,
    export_flows,
    load_bundle,
    load_bundle_text,
    load_plan,
    plan_import,
    save_bundle,
    save_plan,
)
from ziggy_migrate._vocabulary.files import FileTooLarge, open_untrusted
from ziggy_migrate.testing import ZiggyEmulator

from .samples import client_for


@pytest.fixture
def folder(production_bundle: Bundle, tmp_path: Path) -> Path:
    """The production bundle saved as a bundle folder."""
    return save_bundle(production_bundle, tmp_path / "bundle", layout="dir")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the bundle folder, where links point to."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


def refusal(load: Callable[[], object]) -> BundleError:
    """The one-line BundleError that ``load`` raises."""
    with pytest.raises(BundleError) as caught:
        load()
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    return caught.value


def finishes(call: Callable[[], object], *, unblock: Callable[[], None]) -> BaseException:
    """What ``call`` raised, run in a thread; a hang guard (a blocked read is released by
    ``unblock`` and fails the test), not a timing assertion: 30 s is ample."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():
        unblock()
        worker.join(30)
        pytest.fail("the load blocked reading (it opened what is not a regular file)")
    assert raised, "the load did not fail"
    return raised[0]


# -- links -----------------------------------------------------------------------------------


def an_item_file(folder: Path, kind: str = "flows") -> Path:
    return sorted((folder / kind).glob("*.json"))[0]


def link_item_outside(folder: Path, outside: Path) -> Path:
    item = an_item_file(folder)
    copy = outside / item.name
    copy.write_bytes(item.read_bytes())  # valid content: only being a link is wrong
    item.unlink()
    item.symlink_to(copy)
    return item


def link_item_inside(folder: Path, outside: Path) -> Path:
    item = an_item_file(folder)
    copy = folder / "kept" / item.name
    copy.parent.mkdir()
    copy.write_bytes(item.read_bytes())
    item.unlink()
    item.symlink_to(Path("..") / "kept" / item.name)
    return item


def link_kind_folder(folder: Path, outside: Path) -> Path:
    moved = outside / "connections"
    (folder / "connections").rename(moved)
    (folder / "connections").symlink_to(moved, target_is_directory=True)
    return folder / "connections"


def link_index(folder: Path, outside: Path) -> Path:
    (folder / "index.json").rename(outside / "index.json")
    (folder / "index.json").symlink_to(outside / "index.json")
    return folder / "index.json"


@pytest.mark.parametrize(
    "make_link", [link_item_outside, link_item_inside, link_kind_folder, link_index]
)
def test_a_link_in_a_bundle_folder_is_refused_naming_it(
    folder: Path, outside: Path, make_link: Callable[[Path, Path], Path]
) -> None:
    link = make_link(folder, outside)
    error = refusal(lambda: load_bundle(folder))
    assert f"{link} is a symbolic link" in str(error)


def test_links_the_layout_never_reads_are_left_alone(
    folder: Path, outside: Path, production_bundle: Bundle
) -> None:
    (outside / "secret.txt").write_text("not for bundles")
    (folder / "README.md").symlink_to(outside / "secret.txt")
    (folder / "docs").symlink_to(outside, target_is_directory=True)
    (folder / "flows" / "notes.txt").symlink_to(outside / "secret.txt")
    assert load_bundle(folder) == production_bundle


def test_a_save_never_writes_through_a_link(
    folder: Path, outside: Path, production_bundle: Bundle
) -> None:
    item = link_item_outside(folder, outside)
    target = outside / item.name
    target.write_text("outside, untouched")
    save_bundle(production_bundle, folder, layout="dir")
    assert not item.is_symlink() and item.is_file()  # the link itself was replaced
    assert target.read_text() == "outside, untouched"
    assert load_bundle(folder) == production_bundle

    link = link_kind_folder(folder, outside)
    before = sorted(path.name for path in (outside / "connections").iterdir())
    error = refusal(lambda: save_bundle(production_bundle, folder, layout="dir"))
    assert f"{link} is a symbolic link" in str(error)
    assert sorted(path.name for path in (outside / "connections").iterdir()) == before


# -- what is not a regular file ----------------------------------------------------------


needs_fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    os.mkfifo(path)
    return path


def release(fifo: Path) -> Callable[[], None]:
    """Open the FIFO's writing end, so that a reader blocked on it goes on (and ends)."""

    def unblock() -> None:
        descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(descriptor)

    return unblock


@needs_fifos
def test_a_fifo_is_refused_before_it_is_read(fifo: Path) -> None:
    error = finishes(lambda: load_bundle(fifo), unblock=release(fifo))
    assert isinstance(error, BundleError), repr(error)
    assert f"{fifo} is a FIFO (named pipe), not a regular file" in str(error)


@needs_fifos
def test_a_fifo_in_a_folder_is_refused_before_it_is_read(folder: Path) -> None:
    item = an_item_file(folder)
    item.unlink()
    os.mkfifo(item)
    error = finishes(lambda: load_bundle(folder), unblock=release(item))
    assert isinstance(error, BundleError), repr(error)
    assert f"{item} is a FIFO (named pipe), not a regular file" in str(error)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_refused_before_it_is_read(device: str) -> None:
    error = refusal(lambda: load_bundle(Path(device)))
    assert str(error).startswith(f"{device} is a character device, not a regular file")


def test_a_folder_where_an_item_file_should_be_is_refused(folder: Path) -> None:
    (folder / "flows" / "extra.json").mkdir()
    error = refusal(lambda: load_bundle(folder))
    assert f"{folder / 'flows' / 'extra.json'} is a directory, not a regular file" in str(error)


def test_a_file_where_a_kind_folder_should_be_is_refused(folder: Path) -> None:
    """Not silently "no secrets": the folder would load without items it seems to have."""
    for path in (folder / "secrets").iterdir():
        path.unlink()
    (folder / "secrets").rmdir()
    (folder / "secrets").write_text("[]")
    error = refusal(lambda: load_bundle(folder))
    assert f"{folder / 'secrets'} is not a folder" in str(error)


# -- the size limit --------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_unread(
    production_bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_bundle(production_bundle, tmp_path / "bundle.json")
    size = path.stat().st_size
    assert load_bundle(path, max_size=size) == production_bundle
    error = refusal(lambda: load_bundle(path, max_size=size - 1))
    assert f"{path} is larger than the bundle size limit of {size - 1} bytes" in str(error)
    assert "ZIGGY_MAX_BUNDLE_SIZE" in str(error)
    monkeypatch.setenv("ZIGGY_MAX_BUNDLE_SIZE", "1KiB")
    assert "limit of 1 KiB" in str(refusal(lambda: load_bundle(path)))
    monkeypatch.setenv("ZIGGY_MAX_BUNDLE_SIZE", f"{size}")
    assert load_bundle(path) == production_bundle


def test_the_default_limit_is_1_gib(tmp_path: Path) -> None:
    """A sparse file: 2 GiB long, no disk used, and not one byte of it read."""
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(2 << 30)
    error = refusal(lambda: load_bundle(path))
    assert "limit of 1 GiB" in str(error)


def test_a_folder_over_the_limit_is_refused(folder: Path, production_bundle: Bundle) -> None:
    total = sum(path.stat().st_size for path in folder.rglob("*.json"))
    assert load_bundle(folder, max_size=total) == production_bundle
    error = refusal(lambda: load_bundle(folder, max_size=total - 1))
    assert f"the bundle folder {folder} holds more than the bundle size limit" in str(error)


def test_text_over_the_limit_is_refused(production_bundle: Bundle) -> None:
    text = dump_bundle(production_bundle)
    assert load_bundle_text(text, max_size=len(text)) == production_bundle
    assert "limit" in str(refusal(lambda: load_bundle_text(text, max_size=len(text) - 1)))
    raw = text.encode("utf-8")
    assert "limit" in str(refusal(lambda: load_bundle_text(raw, max_size=len(raw) - 1)))


def test_a_bad_limit_is_named(
    production_bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_bundle(production_bundle, tmp_path / "bundle.json")
    with pytest.raises(InvalidArgumentError, match="max_size"):
        load_bundle(path, max_size=0)
    monkeypatch.setenv("ZIGGY_MAX_BUNDLE_SIZE", "lots")
    assert "ZIGGY_MAX_BUNDLE_SIZE='lots' is not a size" in str(refusal(lambda: load_bundle(path)))


def test_a_file_that_grows_while_read_stops_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "growing.json"
    path.write_bytes(b"{}")
    with open_untrusted(path, max_size=100) as handle:
        with path.open("ab") as grower:
            grower.write(b" " * 1000)
        with pytest.raises(FileTooLarge):
            handle.read()


# -- duplicate keys --------------------------------------------------------------------------


def with_duplicate(text: str, marker: str, pair: str) -> str:
    """``text`` with ``"name": "<marker>"`` replaced by ``pair`` (which repeats a key)."""
    assert text.count(f'"{marker}"') == 1
    return text.replace(f'"name": "{marker}"', pair)


def test_a_key_appended_twice_to_a_bundle_is_refused(
    production_bundle: Bundle, tmp_path: Path
) -> None:
    """The case that imported nothing: ``"flows": []`` after the real flows."""
    text = dump_bundle(production_bundle).rstrip().removesuffix("}") + ', "flows": []}\n'
    path = tmp_path / "bundle.json"
    path.write_text(text, "utf-8")
    for load in (
        lambda: load_bundle(path),
        lambda: load_bundle_text(text),
        lambda: load_bundle_text(text.encode("utf-8")),
    ):
        error = refusal(load)
        assert error.location == "$.flows"
        assert "'flows' appears twice in the same object" in error.reason
    assert str(refusal(lambda: load_bundle(path))).startswith(f"{path}: $.flows: ")


def test_a_key_twice_deep_in_a_bundle_is_refused_with_its_path(
    production_bundle: Bundle, tmp_path: Path
) -> None:
    document = json.loads(dump_bundle(production_bundle))
    document["flows"][1]["name"] = "__marker__"
    text = with_duplicate(json.dumps(document), "__marker__", '"name": "A", "name": "B"')
    (tmp_path / "bundle.json").write_text(text)
    for load in (lambda: load_bundle_text(text), lambda: load_bundle(tmp_path / "bundle.json")):
        assert refusal(load).location == "$.flows[1].name"


def test_a_key_twice_in_a_folder_is_refused_naming_the_file(folder: Path) -> None:
    item = an_item_file(folder, "connections")
    text = item.read_text("utf-8")
    item.write_text(text.replace('  "type":', '  "type": "Other",\n  "type":', 1), "utf-8")
    error = refusal(lambda: load_bundle(folder))
    assert (error.file, error.location) == (str(item), "$.type")

    item.write_text(text, "utf-8")
    index = folder / "index.json"
    index.write_text(index.read_text().replace("{", '{\n  "schemaVersion": 1,', 1))
    error = refusal(lambda: load_bundle(folder))
    assert (error.file, error.location) == (str(index), "$.schemaVersion")


def test_an_index_holding_items_is_refused(folder: Path) -> None:
    """A reviewer reading the index would see flows that the folder does not load."""
    index = folder / "index.json"
    document = json.loads(index.read_text())
    index.write_text(json.dumps({**document, "flows": []}))
    error = refusal(lambda: load_bundle(folder))
    assert (error.file, error.location) == (str(index), "$.flows")


def test_a_key_twice_in_a_plan_file_is_refused(
    prod: ZiggyEmulator, production_bundle: Bundle, tmp_path: Path
) -> None:
    with client_for(prod) as client:
        plan = plan_import(client, production_bundle, mode="skip")
    path = save_plan(plan, tmp_path / "plan.json")
    text = path.read_text()
    path.write_text(text.replace('  "items": [', '  "items": [],\n  "items": [', 1))
    with pytest.raises(PlanFileError, match=r"\$\.items: 'items' appears twice") as caught:
        load_plan(path)
    assert str(path) in str(caught.value)


# -- file names made from server data ----------------------------------------------------------

HOSTILE: list[tuple[str, str]] = [
    ("../../../etc/passwd", "../../../../tmp/pwned"),
    ("CON", "NUL"),
    ("nul", "COM1"),
    ("LPT9.txt", "aux."),
    ('a/b\\c:d*e?f"g<h>i|j', 'a/b\\c:d*e?f"g<h>i|j'),
    ("tab\there\nnew line", "\x01\x02\x7f\x1b[31m"),
    ("Same", "aaaaaaaa/../../../../pwned"),  # slug and UUID prefix of the next one
    ("same!", "aaaaaaaa"),
    ("Case", "ABCDEFGH-0000"),  # equal to the next but for case
    ("case?", "abcdefgh-0000"),
    ("x" * 1000, "y" * 200),
    ("...", "."),
    ("..", ".."),
    ("日本語", "ünïcödé-ユーユーアイディー"),
    ("   ", " "),
    ("-leading", "-----"),
]
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*--[A-Za-z0-9-]*(-[0-9a-f]{16})?(-[0-9]+)?\.json")
RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9]|conin\$|conout\$)", re.IGNORECASE)


def test_file_names_from_hostile_server_data_are_safe_unique_and_stable(
    emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    connection = emulator.add_connection("../conn", type="Postgres", uuid="../../c\x00nn")
    for name, uuid in HOSTILE:
        nodes = [{"id": "a", "type": "sql", "data": {"connectionUuid": connection["uuid"]}}]
        emulator.add_flow(name, uuid=uuid, nodes=nodes)
    folder = tmp_path / "bundle"
    with client_for(emulator) as client:
        exported = export_flows(client, path=folder, layout="dir").bundle
    assert [path.name for path in tmp_path.iterdir()] == ["bundle"]  # nothing outside it
    names = {kind: sorted(path.name for path in (folder / kind).iterdir()) for kind in KINDS}
    assert len(names["flows"]) == len(HOSTILE) and len(names["connections"]) == 1
    every = [name for kind in KINDS for name in names[kind]]
    for name in every:
        assert SAFE_NAME.fullmatch(name), name
        assert len(name) < 100, name
        assert not RESERVED.fullmatch(name.split(".")[0]), name
    for kind in KINDS:
        assert len({name.lower() for name in names[kind]}) == len(names[kind])  # case-blind
    assert load_bundle(folder) == exported

    # stable: the same names again, and an unrelated newcomer renames nothing
    emulator.add_flow("Newcomer", uuid="1234abcd-0000-4000-8000-000000000000")
    with client_for(emulator) as client:
        export_flows(client, path=folder, layout="dir")
    again = sorted(path.name for path in (folder / "flows").iterdir())
    assert sorted(set(again) - set(names["flows"])) == ["newcomer--1234abcd.json"]
    assert set(names["flows"]) <= set(again)


KINDS = ("flows", "connections", "secrets", "structures", "variables")


def test_plain_names_are_as_before(production_bundle: Bundle, tmp_path: Path) -> None:
    """Server UUIDs as Ziggy makes them keep the names of existing bundle folders."""
    folder = save_bundle(production_bundle, tmp_path / "bundle", layout="dir")
    expected = {
        re.sub(r"[^a-z0-9]+", "-", flow.name.lower()).strip("-") + f"--{flow.uuid[:8]}.json"
        for flow in production_bundle.flows
    }
    assert {path.name for path in (folder / "flows").iterdir()} == expected
