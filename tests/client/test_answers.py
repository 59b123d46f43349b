"""Answers checked before use: a broken or hostile server is one clear error, never a
traceback from deep inside the converter, and an answer that is not Ziggy's says so.

Each malformed shape is staged with the emulator's ``override`` and goes through the
public API (the client's methods, ``export_flows``, ``import_bundle``), the way the
engine and the command line meet it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ziggy_migrate import (
    AuthenticationError,
    Bundle,
    Connection,
    Flow,
    MalformedResponseError,
    NotZiggyServerError,
    Provenance,
    Schedule,
    ServerError,
    SourceServer,
    export_flows,
    import_bundle,
)
from ziggy_migrate.testing import Answer, ZiggyEmulator

from . import connect, login_count

# Deeper than the JSON parser of any supported Python reads (3.13's reads 5,000 levels).
DEEP_GRAPH = '{"uuid": "u", "name": "deep", "nodes": ' + "[" * 50_000 + "]" * 50_000 + "}"


def _with(**fields: Any) -> Callable[[Any], Any]:
    return lambda answer: {**answer, **fields}


# (method, path pattern, answer, the request the error names, the field it names)
MALFORMED = {
    "flow {}": ("GET", "/api/flow/*", Answer.json({}), "GET /api/flow/", "uuid"),
    "flow []": ("GET", "/api/flow/*", Answer.json([]), "GET /api/flow/", ""),
    "flow as text": ("GET", "/api/flow/*", Answer.json("Orders"), "GET /api/flow/", ""),
    "flow of nulls": (
        "GET",
        "/api/flow/*",
        Answer.json({"uuid": None, "name": None, "nodes": None}),
        "GET /api/flow/",
        "uuid",
    ),
    "flow without name": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(lambda flow: {k: v for k, v in flow.items() if k != "name"}),
        "GET /api/flow/",
        "name",
    ),
    "tags a number": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(tags=5)),
        "GET /api/flow/",
        "tags",
    ),
    "tags of lists": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(tags=[["a"]])),
        "GET /api/flow/",
        "tags",
    ),
    "numBlocks text": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(numBlocks="many")),
        "GET /api/flow/",
        "numBlocks",
    ),
    "nodes text": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(nodes="x")),
        "GET /api/flow/",
        "nodes",
    ),
    "viewport a list": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(viewport=[])),
        "GET /api/flow/",
        "viewport",
    ),
    "isSubflow text": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(isSubflow="yes")),
        "GET /api/flow/",
        "isSubflow",
    ),
    "relations a number": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(_with(connections=5)),
        "GET /api/flow/",
        "connections",
    ),
    "graph 50,000 deep": ("GET", "/api/flow/*", Answer.raw_json(DEEP_GRAPH), "GET /api/flow/", ""),
    "NaN in a flow": (
        "GET",
        "/api/flow/*",
        Answer.raw_json('{"uuid": "u", "name": "n", "viewport": {"zoom": NaN}}'),
        "GET /api/flow/",
        "",
    ),
    "Infinity in a list": (
        "GET",
        "/api/flow",
        Answer.raw_json('[{"uuid": "u", "name": "n", "x": -Infinity}]'),
        "GET /api/flow",
        "",
    ),
    "a number past a float": (
        "GET",
        "/api/connection",
        Answer.raw_json('[{"uuid": "c1", "name": "pg", "type": "Postgres", "x": 1e400}]'),
        "GET /api/connection",
        "",
    ),
    "summary without uuid": (
        "GET",
        "/api/flow",
        Answer.json([{"name": "Orders"}]),
        "GET /api/flow",
        "[0].uuid",
    ),
    "summaries as text": ("GET", "/api/flow", Answer.json("none"), "GET /api/flow", ""),
    "summaries of text": ("GET", "/api/flow", Answer.json(["Orders"]), "GET /api/flow", "[0]"),
    "summaries empty": ("GET", "/api/flow", Answer(status=200), "GET /api/flow", ""),
    "connection without type": (
        "GET",
        "/api/connection",
        Answer.json([{"uuid": "c1", "name": "pg"}]),
        "GET /api/connection",
        "[0].type",
    ),
    "secrets an object": ("GET", "/api/secret", Answer.json({}), "GET /api/secret", ""),
    "schedules an object": ("GET", "/api/schedule", Answer.json({}), "GET /api/schedule", ""),
    "schedule without name": (
        "GET",
        "/api/schedule",
        Answer.json([{"uuid": "s1", "flowUuid": "f1"}]),
        "GET /api/schedule",
        "[0].name",
    ),
    "schedule paused as text": (
        "GET",
        "/api/schedule",
        Answer.json([{"uuid": "s1", "name": "nightly", "isPaused": "no"}]),
        "GET /api/schedule",
        "[0].isPaused",
    ),
    "structure uuid a number": (
        "GET",
        "/api/structure",
        Answer.json([{"uuid": 7, "name": "Order"}]),
        "GET /api/structure",
        "[0].uuid",
    ),
}


@pytest.mark.parametrize(
    ("method", "path", "answer", "endpoint", "field"), MALFORMED.values(), ids=MALFORMED.keys()
)
def test_a_malformed_answer_is_one_error_naming_the_request_and_field(
    emulator: ZiggyEmulator, method: str, path: str, answer: Answer, endpoint: str, field: str
) -> None:
    emulator.add_flow("Orders", tags=["sales"])
    emulator.add_connection("pg")
    emulator.override(method, path, answer)
    with connect(emulator) as client, pytest.raises(MalformedResponseError) as caught:
        export_flows(client)
    error = caught.value
    assert error.endpoint.startswith(endpoint)
    assert error.field == field
    message = str(error)
    assert message.startswith(error.endpoint + ": ")
    assert "\n" not in message
    assert f"cannot be used: {repr(field) if field else 'it'} " in message
    assert "Ziggy API never answers" in message
    assert error.response_code == 200


def test_nulls_where_the_model_has_a_default_mean_the_default(emulator: ZiggyEmulator) -> None:
    emulator.add_flow("Orders", tags=["sales"], nodes=[{"id": "1"}])
    nulls = {key: None for key in ("tags", "nodes", "edges", "viewport", "isValid", "numBlocks")}
    emulator.override("GET", "/api/flow/*", Answer.rewritten(_with(**nulls)))
    with connect(emulator) as client:
        (flow,) = export_flows(client).bundle.flows
    assert (flow.tags, flow.nodes, flow.edges, flow.viewport) == ((), [], [], {})
    assert (flow.is_valid, flow.num_blocks) == (True, None)


def test_a_create_that_answers_no_uuid_is_an_error(emulator: ZiggyEmulator) -> None:
    emulator.override("POST", "/api/flow/clone/*", Answer.json({"uuid": ""}))
    emulator.override("POST", "/api/flow/*/*", Answer.rewritten(lambda flow: {"name": "x"}))
    original = emulator.add_flow("Orders")
    with connect(emulator) as client:
        with pytest.raises(MalformedResponseError) as created:
            client.create_flow("Orders copy", "REST")
        with pytest.raises(MalformedResponseError) as cloned:
            client.clone_flow(original["uuid"])
    assert created.value.endpoint.startswith("POST /api/flow/")
    assert created.value.field == "uuid"
    assert "'uuid' is missing" in str(created.value)
    assert cloned.value.endpoint == f"POST /api/flow/clone/{original['uuid']}"
    assert "'uuid' is empty text" in str(cloned.value)


def _bundle() -> Bundle:
    return Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000", name="dev"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=(Flow(uuid="f0000000-0000-4000-8000-000000000001", name="Orders"),),
        connections=(
            Connection(uuid="c0000000-0000-4000-8000-000000000001", name="pg", type="Postgres"),
        ),
    )


def test_an_import_whose_creates_answer_garbage_reports_each_item(
    emulator: ZiggyEmulator,
) -> None:
    """The import goes on, and its report names what each create answered."""
    emulator.override("POST", "/api/flow/*/*", Answer.json("created!", status=201))
    emulator.override("POST", "/api/connection", Answer.json({"name": "pg"}, status=201))
    with connect(emulator) as client:
        report = import_bundle(client, _bundle(), mode="overwrite", backup=False)
    errors = {item.kind.value: item.error or "" for item in report.failed}
    assert set(errors) == {"connection", "flow"}
    assert errors["connection"].startswith("POST /api/connection: ")
    assert "'uuid' is missing (a connection needs it)" in errors["connection"]
    assert "it is text, not a created item" in errors["flow"]


def test_a_backup_answered_as_bare_text_stops_the_import_before_any_write(
    emulator: ZiggyEmulator,
) -> None:
    emulator.override("POST", "/api/system/backup-db", Answer.json("backup done", status=201))
    with connect(emulator) as client, pytest.raises(MalformedResponseError) as caught:
        import_bundle(client, _bundle(), mode="overwrite")
    assert caught.value.endpoint == "POST /api/system/backup-db"
    assert emulator.snapshot()["flows"] == emulator.snapshot()["connections"] == []


def test_every_schedule_answer_is_checked(emulator: ZiggyEmulator) -> None:
    """The single schedule and a create's answer: each a clear error, never a model built
    from garbage."""
    flow = emulator.add_flow("Orders")
    row = emulator.add_schedule("Nightly", flow_uuid=flow["uuid"])
    emulator.override("GET", "/api/schedule/*", Answer.json({"uuid": row["uuid"], "name": ["x"]}))
    emulator.override("POST", "/api/schedule", Answer.json({"name": "Hourly"}, status=201))
    with connect(emulator) as client:
        with pytest.raises(MalformedResponseError, match="'name' is a list, not text"):
            client.get_schedule(row["uuid"])
        with pytest.raises(MalformedResponseError) as created:
            client.create_schedule(Schedule(uuid="", name="Hourly", flow_uuid=flow["uuid"]))
    assert created.value.endpoint == "POST /api/schedule"
    assert "'uuid' is missing (a schedule needs it)" in str(created.value)


def test_a_null_flow_of_a_schedule_reads_as_none(emulator: ZiggyEmulator) -> None:
    emulator.override(
        "GET", "/api/schedule", Answer.json([{"uuid": "s1", "name": "n", "flowUuid": None}])
    )
    with connect(emulator) as client:
        (schedule,) = client.list_schedules()
    assert (schedule.flow_uuid, schedule.is_paused, schedule.execution_mode) == ("", False, "DEV")


def test_version_and_named_saves_are_checked_too(emulator: ZiggyEmulator) -> None:
    flow = emulator.add_flow("Orders")
    emulator.override("GET", "/api/system/version-info", Answer.json({"major": "one"}))
    emulator.override("GET", "/api/ziggy/named-saves/*", Answer.json([{"uuid": "s"}]))
    with connect(emulator) as client:
        with pytest.raises(MalformedResponseError, match="'major' is text, not a whole number"):
            client.version_info()
        with pytest.raises(MalformedResponseError, match=r"'\[0\].flowUUID' is missing"):
            client.list_named_saves(flow["uuid"])


# ------------------------------------------------------------------ not a Ziggy API

LOGIN = "/api/auth/login"
NGINX_404 = (
    "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1>"
    "</center><hr><center>nginx</center></body></html>"
)
NOT_ZIGGY = {
    "an HTML page for everything": ("*", "/**", Answer.text("<html><title>Hello</title></html>")),
    "another web server's 404": ("*", "/**", Answer.text(NGINX_404, status=404)),
    "a JSON 404 for the login": (
        "POST",
        LOGIN,
        Answer.json({"statusCode": 404, "message": "Cannot POST /api/auth/login"}, status=404),
    ),
    "a 501": ("*", "/**", Answer.text("Not Implemented", status=501, content_type="text/plain")),
    "a 405": ("POST", LOGIN, Answer.text("Method Not Allowed", status=405)),
    "a 302 without Location": ("*", "/**", Answer(status=302)),
    "a 300": ("*", "/**", Answer(status=300, headers=(("Location", "/choices"),))),
    "a login answered as a JSON list": ("POST", LOGIN, Answer.json(["token"])),
}


@pytest.mark.parametrize(("method", "path", "answer"), NOT_ZIGGY.values(), ids=NOT_ZIGGY.keys())
def test_an_answer_that_is_not_ziggys_says_so(
    emulator: ZiggyEmulator, method: str, path: str, answer: Answer
) -> None:
    emulator.override(method, path, answer)
    with connect(emulator) as client, pytest.raises(NotZiggyServerError) as caught:
        client.list_flows()
    message = str(caught.value)
    assert message.startswith(f"This is not a Ziggy API at {emulator.base_url}: POST /api/auth/")
    assert "check the URL and the port" in message
    assert "user name and password" not in message
    assert "\n" not in message
    assert caught.value.response_code == answer.status
    assert login_count(emulator) == 1  # nothing to retry
    assert emulator.request_count("GET") == 0


def test_the_page_that_answered_is_named(emulator: ZiggyEmulator) -> None:
    emulator.override("*", "/**", Answer.text(NGINX_404, status=404))
    with connect(emulator) as client, pytest.raises(NotZiggyServerError) as caught:
        client.login()
    assert "answered 404 with text/html, not JSON ('404 Not Found')" in str(caught.value)


def test_an_html_answer_after_logging_in_is_not_ziggy_either(emulator: ZiggyEmulator) -> None:
    emulator.override("GET", "/api/flow", Answer.text("<html>Welcome to our portal</html>"))
    emulator.override("GET", "/api/variable", Answer.text("gone", status=404))
    with connect(emulator) as client:
        with pytest.raises(NotZiggyServerError, match="GET /api/flow answered 200 with text/html"):
            client.list_flows()
        with pytest.raises(NotZiggyServerError, match="GET /api/variable answered 404"):
            client.list_variables()


def test_a_proxy_page_for_a_ziggy_that_is_down_is_a_server_error(emulator: ZiggyEmulator) -> None:
    """A 502 page from a proxy in front of Ziggy is the proxy's, not a sign of no Ziggy:
    it is retried, then reported as the server failing."""
    emulator.override("*", "/**", Answer.text("<html>502 Bad Gateway</html>", status=502))
    with connect(emulator) as client, pytest.raises(ServerError) as caught:
        client.login()
    assert caught.value.response_code == 502
    assert login_count(emulator) > 1


def test_a_login_answered_without_a_token_is_still_a_refused_login(
    emulator: ZiggyEmulator,
) -> None:
    """Ziggy's LoginResponseDto carries no token when the login fails."""
    emulator.override("POST", "/api/auth/login", Answer.json({"errorMessage": "Locked out"}))
    with (
        connect(emulator) as client,
        pytest.raises(AuthenticationError, match=r"Locked out.*check the user name and password"),
    ):
        client.login()
