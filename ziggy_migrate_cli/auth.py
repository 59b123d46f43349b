"""``ziggy auth``: add, list, choose, rename, remove and import server profiles.

``ziggy auth`` alone is the guided way: it asks each question on the terminal, logs in
to prove the answers, then saves the profile (``profiles.py``) and the password (the OS
keyring, ``credentials.py``). ``ziggy auth add`` is its non-interactive twin for scripts.
``ziggy auth import`` copies the official ziggy CLI's profiles (``official_profiles.py``).
Messages go to stderr; only ``--list`` and ``import`` print data on stdout.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ziggy_migrate import VersionInfo

from . import credentials, official_profiles, output
from .official_profiles import OfficialKeyError, OfficialProfile, read_official_profiles
from .options import (
    ConnectionSettings,
    FormatOption,
    JsonOption,
    NoPromptOption,
    PasswordStdinOption,
    ServerOption,
)
from .output import CliError, answer, emit_json, info, print_table, start, status_document, warn
from .profiles import (
    Profile,
    ProfileError,
    ProfileStore,
    validate_name,
    validate_port,
    validate_url,
)

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(
    name="auth",
    help="Manage server profiles; 'ziggy auth' alone adds one step by step.",
    rich_markup_mode=None,
)

_URL_PORT = re.compile(r"(https?://[^/:\s]+):(\d+)/?")


def split_url(url: str, port: int | None) -> tuple[str, int]:
    """The URL without its port, and the port: from the URL (``http://host:3101``) when
    ``port`` agrees or is None, else from ``port``; a URL and a port that disagree, or
    neither giving a port, are refused."""
    match = _URL_PORT.fullmatch(url.strip())
    if match is None:
        if port is None:
            raise ProfileError(
                f"No port for {url.strip()!r}.",
                hint="Give it in the URL (http://host:3000) or with --port N.",
            )
        return validate_url(url), validate_port(port)
    in_url = int(match.group(2))
    if port is not None and port != in_url:
        raise ProfileError(
            f"The URL says port {in_url} and --port says {port}.",
            hint="Give the port once: in the URL or with --port.",
        )
    return validate_url(match.group(1)), _port(match.group(2))


def _need_terminal(what: str, instead: str) -> None:
    if not output.stdin_is_terminal():
        raise CliError(f"{what} asks its questions on a terminal and there is none; {instead}.")


def _ask(question: str, check: Callable[[str], T], default: str | None = None) -> T:
    """Ask until ``check`` accepts the answer; its complaint is shown before asking again."""
    while True:
        answer: str = typer.prompt(question, default=default, err=True)
        try:
            return check(answer.strip())
        except ProfileError as exc:
            warn(str(exc))


def _port(text: str) -> int:
    try:
        return validate_port(int(text))
    except ValueError:
        raise ProfileError(f"Invalid port {text!r}: use a number from 1 to 65535.") from None


def _save(store: ProfileStore, profile: Profile, password: str | None, *, default: bool) -> None:
    """Save the profile, then its password; a keyring-less machine only gets a warning."""
    replaced = profile.name in store
    store.add(profile, make_default=default)
    verb = "Updated" if replaced else "Saved"
    info(f"{verb} server profile {profile.name!r} ({profile.address}, user {profile.username}).")
    if store.default_name == profile.name:
        info(f"{profile.name!r} is the default server.")
    if password is None:
        return
    try:
        credentials.save_password(profile.name, password)
    except credentials.KeyringUnavailableError as exc:
        warn(f"{exc} The profile was saved without its password.")
    else:
        info(f"Password stored in the keyring ({credentials.keyring_backend_name()}).")


def _verify(profile: Profile, password: str) -> VersionInfo:
    """Log in with ``password``; the server's version, read once logged in."""
    with ConnectionSettings().client(profile, password) as client:
        client.login()
        version = client.version_info()
    info(f"Logged in to {profile.address} as {profile.username}.")
    return version


def _print_profiles(store: ProfileStore, as_json: bool) -> None:
    rows = [
        {
            "name": p.name,
            "url": p.url,
            "port": p.port,
            "username": p.username,
            "default": p.name == store.default_name,
        }
        for p in store
    ]
    if as_json:
        emit_json(status_document(200, {"default": store.default_name, "profiles": rows}))
        return
    if not rows:
        info("No server profiles yet: add one with 'ziggy auth'.")
        return
    print_table(
        ("", "NAME", "URL", "PORT", "USERNAME"),
        [
            ["*" if r["default"] else "", *(str(r[k]) for k in ("name", "url", "port", "username"))]
            for r in rows
        ],
        plain=True,
    )


@app.callback(invoke_without_command=True)
def auth(
    ctx: typer.Context,
    list_profiles: Annotated[
        bool, typer.Option("--list", "-l", help="List the profiles (never a password).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a server profile step by step, or list them with --list."""
    if ctx.invoked_subcommand is not None:
        if list_profiles:
            raise CliError("--list cannot be combined with a subcommand.")
        return
    store = ProfileStore()
    if list_profiles:
        _print_profiles(store, as_json)
        return
    if as_json:
        raise CliError("--json goes with --list: ziggy auth --list --json.")
    _need_terminal(
        "'ziggy auth'",
        "use 'ziggy auth add NAME --url URL --port PORT --username USER --password-stdin' instead",
    )
    name = _ask("Profile name (letters and digits, e.g. dev)", validate_name)
    url, port = _ask(
        "Server URL (the port too, e.g. http://localhost:3000)",
        _url_and_maybe_port,
        default="http://localhost:3000",
    )
    if port is None:
        port = _ask("Port", _port, default="3000")
    username = _ask("User name", _nonempty)
    profile = Profile(name=name, url=url, port=port, username=username)
    password = credentials.prompt_password(name, username)
    _verify(profile, password)
    _save(store, profile, password, default=False)


def _url_and_maybe_port(text: str) -> tuple[str, int | None]:
    """An answer to the URL question: the URL and its port, if it gives one."""
    if _URL_PORT.fullmatch(text):
        return split_url(text, None)
    return validate_url(text), None


def _nonempty(text: str) -> str:
    if not text:
        raise ProfileError("This cannot be empty.")
    return text


@app.command("add")
def add(
    *,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Friendly name: letters and digits, e.g. prod.")
    ],
    url: Annotated[
        str,
        typer.Option(
            "--url",
            metavar="URL",
            help="Server URL, with or without its port: https://ziggy.example.com:3000.",
        ),
    ],
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            metavar="PORT",
            help="Server port, if the URL does not give it (the two must agree).",
            show_default=False,
        ),
    ] = None,
    username: Annotated[
        str, typer.Option("--username", "-u", metavar="USER", help="User name.")
    ] = "",
    password_stdin: PasswordStdinOption = False,
    verify_login: Annotated[
        bool,
        typer.Option(
            "--verify-login/--no-verify-login", help="Log in once to check the credentials."
        ),
    ] = True,
    make_default: Annotated[
        bool, typer.Option("--default", help="Make this the default server.")
    ] = False,
) -> None:
    """Add or update a server profile without questions (for scripts).

    The password comes from --password-stdin, or from a hidden prompt when a terminal is
    attached; it is stored in the OS keyring, never in the profile file.
    """
    store = ProfileStore()
    base_url, url_port = split_url(url, port)
    if not username.strip():
        raise CliError("No user name was given.", hint="Pass --username USER.")
    profile = Profile(
        name=validate_name(name), url=base_url, port=url_port, username=username.strip()
    )
    if password_stdin:
        password = credentials.read_password_stdin()
    elif output.stdin_is_terminal():
        password = credentials.prompt_password(name, profile.username)
    else:
        raise CliError(
            "No password was given and there is no terminal to ask on.",
            hint="Pipe it in with --password-stdin.",
        )
    if verify_login:
        _verify(profile, password)
    _save(store, profile, password, default=make_default)


@app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """List the profiles (the same as 'ziggy auth --list')."""
    _print_profiles(ProfileStore(), as_json)


@app.command("status")
def status(
    server: ServerOption = None,
    password_stdin: PasswordStdinOption = False,
    no_prompt: NoPromptOption = False,
    output_format: FormatOption = None,
) -> None:
    """Log in to a server (the default one if --server is left out) and say who you are
    there and which version the server runs; exit 3 if the login fails."""
    start(output_format, verbose=False)
    profile = ProfileStore().resolve(server)
    stdin_password = credentials.read_password_stdin() if password_stdin else None
    password = credentials.resolve_password(
        profile.name, profile.username, stdin_password=stdin_password, allow_prompt=not no_prompt
    )
    version = _verify(profile, password)
    server_version = f"{version.major}.{version.minor}.{version.build}"
    answer(
        status_document(
            200,
            {
                "server": profile.name,
                "url": profile.address,
                "username": profile.username,
                "serverVersion": server_version,
            },
        ),
        lambda: info(
            f"{profile.name}: logged in to {profile.address} as {profile.username}; "
            f"the server runs Ziggy {server_version}."
        ),
    )


@app.command("use")
def use(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The profile to make the default.")],
) -> None:
    """Make a profile the default server (used when --server is left out)."""
    profile = ProfileStore().set_default(name)
    info(f"{profile.name!r} ({profile.address}) is now the default server.")


@app.command("rename")
def rename(
    old: Annotated[str | None, typer.Argument(metavar="FROM", show_default=False)] = None,
    new: Annotated[str | None, typer.Argument(metavar="TO", show_default=False)] = None,
) -> None:
    """Rename a profile (asks for the names when they are left out); keeps its password."""
    store = ProfileStore()
    if old is None or new is None:
        _need_terminal("'ziggy auth rename' without names", "pass both: ziggy auth rename FROM TO")
        if old is None:
            old = _ask("Profile to rename", lambda text: store.get(text).name)
        if new is None:
            new = _ask("New name", validate_name)
    store.rename(old, new)
    try:
        moved = credentials.move_password(old, new)
    except credentials.KeyringUnavailableError as exc:
        warn(f"{exc} The old keyring entry of {old!r} was kept.")
        moved = False
    info(f"Renamed {old!r} to {new!r}" + (" (password moved in the keyring)." if moved else "."))


@app.command("remove")
def remove(
    name: Annotated[str | None, typer.Argument(metavar="NAME", show_default=False)] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", "-s", metavar="NAME", help="The profile to remove."),
    ] = None,
) -> None:
    """Remove a profile and its keyring entry (NAME or -s NAME)."""
    if name is not None and server is not None and name != server:
        raise CliError(f"Two different profiles given ({name!r} and {server!r}); name one.")
    target = name or server
    store = ProfileStore()
    if target is None:
        _need_terminal("'ziggy auth remove' without a name", "pass it: ziggy auth remove NAME")
        target = _ask("Profile to remove", lambda text: store.get(text).name)
    profile = store.remove(target)
    dropped = credentials.delete_password(profile.name)
    info(
        f"Removed server profile {profile.name!r}" + (" and its keyring entry." if dropped else ".")
    )


@app.command("import")
def import_command(
    *,
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="PATH",
            help="The official ziggy CLI's profile file (default: ~/.ziggy/zinstances.json).",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace profiles of ours that have the same name."),
    ] = False,
    key_stdin: Annotated[
        bool,
        typer.Option(
            "--key-stdin",
            help="Read the official CLI's key (base64) from stdin instead of the keyring.",
        ),
    ] = False,
) -> None:
    """Copy the official ziggy CLI's server profiles into ours, passwords into the keyring.

    User names and passwords are decrypted with the official CLI's key, read from the OS
    keyring (service ziggy-cli, account aes-encryption-key) or, with --key-stdin, from
    stdin. A profile of ours with the same name is left alone unless --overwrite is
    given; a name ours cannot hold is skipped and said so. Nothing is written unless the
    whole file reads and decrypts. Prints what was imported; never a password.
    """
    path = (from_path if from_path is not None else official_profiles.DEFAULT_PATH).expanduser()
    key_text = _read_key_stdin() if key_stdin else None
    found = read_official_profiles(path, key_text=key_text)
    store = ProfileStore()
    chosen: list[tuple[Profile, str]] = []
    skipped: list[dict[str, str]] = []
    for official in found:
        try:
            profile = _profile_of(official)
        except ProfileError as exc:
            skipped.append({"name": official.name, "reason": str(exc)})
            continue
        if profile.name in store and not overwrite:
            reason = "a profile of that name exists; --overwrite replaces it"
            skipped.append({"name": official.name, "reason": reason})
            continue
        chosen.append((profile, official.password))
    used = [p.name for p, _ in chosen if any(o.is_used and o.name == p.name for o in found)]
    default = used[0] if used and store.default_name is None else None
    if chosen:
        passwords = {profile.name: password for profile, password in chosen if password}
        with credentials.saving_passwords(passwords):
            store.add_all([profile for profile, _ in chosen], make_default=default)
    for profile, password in chosen:
        stored = "password in the keyring" if password else "no password kept by the official CLI"
        info(f"Imported {profile.name!r} ({profile.address}, user {profile.username}; {stored}).")
    for skip in skipped:
        warn(f"skipped {skip['name']!r}: {skip['reason']}")
    if default is not None:
        info(f"{default!r} is the default server (the official CLI's current one).")
    emit_json(status_document(200, _import_result(path, chosen, skipped, store)))


def _read_key_stdin() -> str:
    key = sys.stdin.read().strip()
    if not key:
        raise OfficialKeyError("--key-stdin was given but stdin held no key.")
    return key


def _profile_of(official: OfficialProfile) -> Profile:
    """Our profile for an official one, or a :class:`ProfileError` saying why it cannot be."""
    name = validate_name(official.name)
    if not isinstance(official.url, str):
        raise ProfileError(f"its apiUrl {official.url!r} is not text")
    port = official.port
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int):
        raise ProfileError(f"its port {official.port!r} is not a number")
    if not official.username.strip():
        raise ProfileError("its user name is empty")
    return Profile(
        name=name,
        url=validate_url(official.url),
        port=validate_port(port),
        username=official.username.strip(),
    )


def _import_result(
    path: Path,
    chosen: list[tuple[Profile, str]],
    skipped: list[dict[str, str]],
    store: ProfileStore,
) -> dict[str, Any]:
    return {
        "message": "Import successful" if chosen else "Nothing imported",
        "filePath": str(path),
        "imported": [
            {
                "name": profile.name,
                "url": profile.url,
                "port": profile.port,
                "username": profile.username,
                "passwordStored": bool(password),
            }
            for profile, password in chosen
        ],
        "skipped": skipped,
        "default": store.default_name,
    }
