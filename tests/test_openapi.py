"""The OpenAPI document: valid, complete (every route of the app), and honoured: a bounded
schemathesis run finds no 500 and no reply outside the documented envelope."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from mockserver.app import routes
from mockserver.embedded import EmbeddedServer
from mockserver.operations import OPERATIONS
from mockserver.runtime import Runtime, ServerConfig


def test_document_is_valid_and_covers_every_route(server):
    document = requests.get(f"{server.url}/openapi.json").json()
    validate(document)
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {(r.path, m) for r in routes(Runtime()) if isinstance(r, Route) and not isinstance(r, Mount)
              and r.path != "/openapi.json" for m in r.methods - {"HEAD"}}
    assert served == documented == {(op.path, op.method) for op in OPERATIONS}
    emit = document["paths"]["/api/v1/balance/delta"]["post"]
    assert emit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/EmitBody")
    assert document["components"]["schemas"]["EmitBody"]["additionalProperties"] is False
    assert set(document["components"]["schemas"]["EmitBody"]["required"]) == {"customerId", "delta", "reason"}
    # replies are described by their models, not only the envelope
    reply = emit["responses"]["201"]["content"]["application/json"]["schema"]
    assert reply["properties"]["data"] == {"$ref": "#/components/schemas/EmitReply"}
    assert set(emit["responses"]) == {"200", "201", "202", "default"}
    assert "recordId" in document["components"]["schemas"]["EmitReply"]["required"]
    # control bodies too
    advance = document["paths"]["/_mock/clock/advance"]["post"]["requestBody"]["content"]["application/json"]
    assert set(document["components"]["schemas"][advance["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]) == {
        "seconds", "until"}


def test_cli_prints_the_same_document(server):
    from click.testing import CliRunner

    from mockserver.cli import main

    result = CliRunner().invoke(main, ["openapi"])
    assert result.exit_code == 0
    import json

    assert json.loads(result.output)["paths"].keys() == requests.get(f"{server.url}/openapi.json").json()["paths"].keys()


def _global(path: str) -> bool:
    """Server-wide operations: they would disturb the other tests sharing the session's server."""
    return path.startswith(("/_mock/state", "/_mock/keys")) or path == "/_mock/reset"


def _fuzz(url: str, wanted) -> list[str]:
    """A dozen generated cases for each documented operation `wanted(path)` selects (hypothesis via
    schemathesis): no 500, no reply outside the documented schema. Returns the operations run."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not wanted(operation.path):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.headers = {**(case.headers or {}), "X-Api-Key": "pk_test_schemathesis"}
            if operation.path == "/dashboard/customers":
                case.headers["Authorization"] = "Bearer fuzz"
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
            case.validate_response(response, checks=[schemathesis.checks.not_a_server_error,
                                                      schemathesis.checks.response_schema_conformance])

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")
    return checked


def test_bounded_fuzz_finds_no_500_and_no_reply_outside_the_schema(server):
    """Every documented operation but the server-wide ones (next test), on the shared server."""
    assert len(_fuzz(server.url, lambda path: not _global(path))) >= 42


@pytest.fixture
def private_server():
    """A server of this test's own (in memory): the fuzzed global operations replace the whole
    database, register keys and reset workspaces, which no other test may see."""
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))
    with EmbeddedServer(runtime) as srv:
        yield srv


def test_bounded_fuzz_of_the_global_operations_on_a_private_server(private_server):
    """State export and import (random bytes, SQLite-looking junk), key registration and removal,
    reset: the same checks, on a server nobody else uses."""
    base = private_server.url
    assert requests.post(f"{base}/api/v1/balance/delta", headers={"X-Api-Key": "pk_test_schemathesis"},
                         json={"customerId": "c1", "delta": -1, "reason": "fuzz"}).status_code == 201
    export = requests.get(f"{base}/_mock/state").content
    schemathesis.openapi.media_type("application/vnd.sqlite3", st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=4096).map(lambda tail: b"SQLite format 3\x00" + tail),  # the header, then junk
        st.builds(lambda cut: export[:cut], st.integers(0, len(export))),  # a cut export
        st.just(export),  # a whole one: imported
    ))
    checked = _fuzz(base, _global)
    assert sorted(checked) == sorted(f"{op.method} {op.path}" for op in OPERATIONS if _global(op.path))
    # after the fuzz the server still takes back its first export, whole
    imported = requests.put(f"{base}/_mock/state", data=export)
    assert imported.status_code == 200 and imported.json()["data"] == {"imported": True, "workspaces": 1}
    assert requests.get(f"{base}/_mock/workspaces").json()["data"]["workspaces"][0]["deltaCount"] == 1
