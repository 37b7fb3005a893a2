"""The OpenAPI document: valid, complete (every route of the app), and honoured: a bounded
schemathesis run finds no 500 and no reply outside the documented envelope."""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from mockserver.app import routes
from mockserver.operations import OPERATIONS
from mockserver.runtime import Runtime


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


def test_bounded_fuzz_finds_no_500_and_no_reply_outside_the_schema(server):
    """Every documented operation, a dozen generated cases each (hypothesis via schemathesis)."""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(("/_mock/state", "/_mock/keys")) or operation.path == "/_mock/reset":
            continue  # server-wide operations would disturb the other tests sharing this server

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
        checked += 1
    assert checked >= 42
