"""Workspace isolation (balance-api.md §1.2, §8.5, §9): two workspaces of one server never see each
other's customers, deltas, checkpoints, receipts, usage, idempotency keys or settings; pk_test_X and
pk_live_X are two separate workspaces (chain ids 296 and 295)."""

from __future__ import annotations

import pytest

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"


def _public_id(key: str) -> str:
    return key.split("_", 2)[2]


@pytest.fixture
def pair(server, mock):
    """Two fresh test workspaces (A = the per-test key, B = a sibling), both frozen at T0."""
    a = mock
    b = type(mock)(server.url, f"{mock.key}b")
    a.freeze(T0)
    b.freeze(T0)
    return a, b


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def test_customers_and_deltas_do_not_cross(pair):
    a, b = pair
    a_rec = a.ok("POST", f"{B}/delta", 201, json={"customerId": "shared", "delta": -5, "reason": "usage", "referenceId": "r-1"})
    a.ok("POST", f"{B}/delta", 201, json={"customerId": "only_a", "delta": 3, "reason": "credit"})
    # the same customerId and referenceId in B is a new delta, not a replay or conflict
    b_rec = b.ok("POST", f"{B}/delta", 201, json={"customerId": "shared", "delta": -7, "reason": "other", "referenceId": "r-1"})
    assert a_rec["idempotent"] is False and b_rec["idempotent"] is False
    assert a_rec["recordId"] != b_rec["recordId"]
    # counters are per workspace: both are the first delta of their ledger
    assert (a_rec["sequence"], a_rec["deltaIndex"]) == (1, 1)
    assert (b_rec["sequence"], b_rec["deltaIndex"]) == (1, 1)
    assert a_rec["receiptId"] != b_rec["receiptId"]

    # delta status of the other's record id is 404 NOT_FOUND
    _error(b.call("GET", f"{B}/delta/{a_rec['recordId']}"), 404, "NOT_FOUND")
    _error(a.call("GET", f"{B}/delta/{b_rec['recordId']}"), 404, "NOT_FOUND")
    assert a.ok("GET", f"{B}/delta/{a_rec['recordId']}")["delta"] == -5
    assert b.ok("GET", f"{B}/delta/{b_rec['recordId']}")["delta"] == -7

    # balances of the same customer id differ
    a_derive = a.ok("GET", f"{B}/derive/shared")
    b_derive = b.ok("GET", f"{B}/derive/shared")
    assert (a_derive["computedBalance"], a_derive["deltasCount"]) == (-5, 1)
    assert (b_derive["computedBalance"], b_derive["deltasCount"]) == (-7, 1)
    assert [d["recordId"] for d in a_derive["deltas"]] == [a_rec["recordId"]]
    assert [d["recordId"] for d in b_derive["deltas"]] == [b_rec["recordId"]]

    # a customer of A does not exist in B
    err = _error(b.call("GET", f"{B}/derive/only_a"), 404, "CUSTOMER_NOT_FOUND")
    assert err["customerId"] == "only_a"
    _error(b.call("GET", f"{B}/customers/only_a"), 404, "CUSTOMER_NOT_FOUND")
    _error(b.call("GET", f"{B}/gaps/only_a"), 404, "CUSTOMER_NOT_FOUND")

    # customer lists and details
    a_list = a.ok("GET", f"{B}/customers")
    b_list = b.ok("GET", f"{B}/customers")
    assert [c["customerId"] for c in a_list["customers"]] == ["only_a", "shared"]
    assert a_list["pagination"]["total"] == 2
    assert [c["customerId"] for c in b_list["customers"]] == ["shared"]
    assert b_list["pagination"]["total"] == 1
    assert a.ok("GET", f"{B}/customers/shared")["totalDeltas"] == 1
    assert b.ok("GET", f"{B}/customers/shared")["computedBalance"] == -7
    # customerReference is derived from the workspace public id: same customer id, other reference
    assert a_list["customers"][1]["customerReference"] != b_list["customers"][0]["customerReference"]

    # usage, summary and workspace counts
    assert a.ok("GET", f"{B}/usage")["consumedDeltas"] == 2
    assert b.ok("GET", f"{B}/usage")["consumedDeltas"] == 1
    assert a.ok("GET", f"{B}/customers/summary")["totalCustomers"] == 2
    assert b.ok("GET", f"{B}/customers/summary")["totalCustomers"] == 1
    assert a.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 2
    assert b.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1
    assert a.ok("GET", "/_mock/workspace")["counts"]["customers"] == 2
    assert b.ok("GET", "/_mock/workspace")["counts"]["customers"] == 1


def test_activity_in_one_workspace_changes_nothing_in_another(pair):
    a, b = pair
    b.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -1, "reason": "usage"})
    before_ws = b.ok("GET", "/_mock/workspace")
    before_usage = b.ok("GET", f"{B}/usage")
    before_derive = b.call("GET", f"{B}/derive/c1").content
    before_list = b.call("GET", f"{B}/customers").content
    for i in range(5):
        a.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -10 - i, "reason": "usage"})
    a.ok("POST", f"{B}/delta/batch", 201, json={"deltas": [{"customerId": f"x{i}", "delta": 1, "reason": "r"} for i in range(3)]})
    a.ok("POST", f"{B}/checkpoint", json={})
    after_ws = b.ok("GET", "/_mock/workspace")
    assert after_ws["counts"] == before_ws["counts"]
    assert after_ws["ledgerId"] == before_ws["ledgerId"]
    assert b.ok("GET", f"{B}/usage") == before_usage
    assert b.call("GET", f"{B}/derive/c1").content == before_derive
    assert b.call("GET", f"{B}/customers").content == before_list
    assert b.ok("GET", f"{B}/checkpoints")["checkpoints"] == []
    # B's next delta continues B's own counters
    nxt = b.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -2, "reason": "usage"})
    assert (nxt["sequence"], nxt["deltaIndex"]) == (2, 2)


def test_checkpoints_and_receipts_do_not_cross(pair):
    a, b = pair
    for ws, amount in ((a, -5), (b, -7)):
        ws.ok("POST", f"{B}/delta", 201, json={"customerId": "shared", "delta": amount, "reason": "usage"})
    a_chk = a.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "shared", "period": "2026-02"})
    assert a_chk["idempotent"] is False and a_chk["netChange"] == -5

    # B lists no checkpoint, its receipts list is empty, A's receipt document is unknown to B
    listed = b.ok("GET", f"{B}/checkpoints")
    assert listed["checkpoints"] == [] and listed["pagination"]["total"] == 0
    assert b.ok("GET", f"{B}/checkpoints", params={"customerId": "shared"})["checkpoints"] == []
    assert b.ok("GET", f"{B}/customers/shared/receipts")["receipts"] == []
    _error(b.call("GET", f"{B}/receipts/{a_chk['checkpointId']}"), 404, "NOT_FOUND")
    _error(b.call("GET", f"{B}/checkpoints/compare",
                  params={"customerId": "shared", "from": a_chk["checkpointId"], "to": a_chk["proofRoot"]}),
           404, "NOT_FOUND")
    # A's proof root is not a checkpoint position for B's customer
    err = _error(b.call("GET", f"{B}/derive/shared", params={"startingCheckpoint": a_chk["proofRoot"]}),
                 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "startingCheckpoint", "reason": "unknown"}
    assert a.ok("GET", f"{B}/receipts/{a_chk['checkpointId']}")["checkpointId"] == a_chk["checkpointId"]

    # B's first checkpoint of the same scope is a new one, first of B's chain, with B's ledger
    b_chk = b.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "shared", "period": "2026-02"})
    assert b_chk["idempotent"] is False
    assert b_chk["checkpointId"] != a_chk["checkpointId"] and b_chk["proofRoot"] != a_chk["proofRoot"]
    assert b_chk["previousProofRoot"] is None and b_chk["netChange"] == -7
    assert b_chk["ledgerId"] == b.ok("GET", "/_mock/workspace")["ledgerId"] != a_chk["ledgerId"]
    assert [c["checkpointId"] for c in a.ok("GET", f"{B}/checkpoints")["checkpoints"]] == [a_chk["checkpointId"]]
    assert [c["checkpointId"] for c in b.ok("GET", f"{B}/checkpoints")["checkpoints"]] == [b_chk["checkpointId"]]

    # receipts through each key use that workspace's checkpoint
    assert a.ok("GET", f"{B}/invoice-proof/shared", params={"period": "2026-02"})["proofRoot"] == a_chk["proofRoot"]
    assert b.ok("GET", f"{B}/invoice-proof/shared", params={"period": "2026-02"})["proofRoot"] == b_chk["proofRoot"]
    assert a.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 1
    assert b.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 1


def test_test_and_live_keys_are_separate_workspaces(server, mock):
    public_id = _public_id(mock.key)
    test = mock
    live = type(mock)(server.url, f"pk_live_{public_id}")
    test.freeze(T0)
    live.freeze(T0)

    t_ws = test.ok("GET", "/_mock/workspace")
    l_ws = live.ok("GET", "/_mock/workspace")
    assert (t_ws["publicId"], t_ws["environment"], t_ws["chainId"]) == (public_id, "test", 296)
    assert (l_ws["publicId"], l_ws["environment"], l_ws["chainId"]) == (public_id, "live", 295)
    assert t_ws["tenantId"] == l_ws["tenantId"]  # same tenant
    assert t_ws["ledgerId"] != l_ws["ledgerId"]  # different ledgers

    t_rec = test.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": -10, "reason": "usage", "referenceId": "same"})
    l_rec = live.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": 25, "reason": "topup", "referenceId": "same"})
    assert t_rec["recordId"] != l_rec["recordId"]
    assert test.ok("GET", f"{B}/derive/cust_1")["computedBalance"] == -10
    assert live.ok("GET", f"{B}/derive/cust_1")["computedBalance"] == 25
    _error(live.call("GET", f"{B}/delta/{t_rec['recordId']}"), 404, "NOT_FOUND")
    _error(test.call("GET", f"{B}/delta/{l_rec['recordId']}"), 404, "NOT_FOUND")

    t_chk = test.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cust_1"})
    l_chk = live.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cust_1"})
    assert t_chk["chainId"] == 296 and l_chk["chainId"] == 295
    assert t_chk["ledgerId"] == t_ws["ledgerId"] and l_chk["ledgerId"] == l_ws["ledgerId"]
    assert (t_chk["netChange"], l_chk["netChange"]) == (-10, 25)
    assert [c["chainId"] for c in test.ok("GET", f"{B}/checkpoints")["checkpoints"]] == [296]
    assert [c["chainId"] for c in live.ok("GET", f"{B}/checkpoints")["checkpoints"]] == [295]
    assert test.ok("GET", f"{B}/invoice-proof/cust_1")["verification"]["checkpoint"]["chainId"] == 296
    assert live.ok("GET", f"{B}/invoice-proof/cust_1")["verification"]["checkpoint"]["chainId"] == 295
    # public verify finds each root in its own workspace
    import requests

    t_pub = requests.get(f"{server.url}/api/v1/verify/{t_chk['proofRoot']}").json()["data"]
    l_pub = requests.get(f"{server.url}/api/v1/verify/{l_chk['proofRoot']}").json()["data"]
    assert (t_pub["verification"]["chainId"], t_pub["summary"]["netChange"]) == (296, -10)
    assert (l_pub["verification"]["chainId"], l_pub["summary"]["netChange"]) == (295, 25)
    assert test.ok("GET", f"{B}/usage")["consumedDeltas"] == 1
    assert live.ok("GET", f"{B}/usage")["consumedDeltas"] == 1


def test_secret_part_does_not_change_the_workspace(server, mock):
    mock.freeze(T0)
    rec = mock.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -1, "reason": "usage"})
    with_secret = type(mock)(server.url, f"{mock.key}.s3cret")
    assert with_secret.ok("GET", f"{B}/delta/{rec['recordId']}")["recordId"] == rec["recordId"]


def test_settings_and_clock_patch_one_workspace_only(pair, server):
    a, b = pair
    defaults = b.ok("GET", "/_mock/settings")
    live_b = type(a)(server.url, "pk_live_" + _public_id(a.key))
    live_defaults = live_b.ok("GET", "/_mock/settings")
    changed = a.settings(cadenceLimitSeconds=60, planAllotment=1, processingDelaySeconds=1, verifyDelaySeconds=2,
                         idempotencyTtlSeconds=60, sharedRecord=False)
    assert (changed["cadenceLimitSeconds"], changed["planAllotment"], changed["sharedRecord"]) == (60, 1, False)
    assert b.ok("GET", "/_mock/settings") == defaults
    assert live_b.ok("GET", "/_mock/settings") == live_defaults
    assert defaults["cadenceLimitSeconds"] is None and defaults["planAllotment"] is None
    assert defaults["processingDelaySeconds"] == 0 and defaults["verifyDelaySeconds"] == 0

    # A is limited, B is not
    a.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -1, "reason": "usage"})
    _error(a.call("POST", f"{B}/delta", json={"customerId": "c2", "delta": -1, "reason": "usage"}), 402, "INSUFFICIENT_CREDITS")
    assert a.ok("GET", f"{B}/usage")["allowed"] is False
    for _ in range(3):
        b.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -1, "reason": "usage"})
    b_usage = b.ok("GET", f"{B}/usage")
    assert (b_usage["allowed"], b_usage["plan"], b_usage["consumedDeltas"]) == (True, "unlimited", 3)
    # B's delays are still zero: verified at the next request; A's are still pending
    assert b.ok("GET", f"{B}/derive/c1")["deltasCount"] == 3
    a_derive = a.ok("GET", f"{B}/derive/c1")
    assert (a_derive["deltasCount"], a_derive["pendingCount"]) == (0, 1)

    # the clock of one workspace does not move another's
    a.clock_set("2026-03-15T00:00:00.000Z")
    assert a.ok("GET", "/_mock/clock")["now"] == "2026-03-15T00:00:00.000Z"
    assert b.ok("GET", "/_mock/clock") == {"now": T0, "mode": "frozen", "offsetMs": None}
    assert b.ok("GET", f"{B}/usage")["period"] == "2026-02"
    assert a.ok("GET", f"{B}/usage")["period"] == "2026-03"


def test_idempotency_keys_are_per_workspace(pair):
    a, b = pair
    headers = {"Idempotency-Key": "shared-key-1"}
    first = a.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -1, "reason": "usage"}, headers=headers)
    # a different body under the same key in another workspace is a fresh request, not a 409
    other = b.call("POST", f"{B}/delta", json={"customerId": "c9", "delta": -9, "reason": "other"}, headers=headers)
    assert first.status_code == 201 and other.status_code == 201, other.text
    assert "Idempotent-Replayed" not in other.headers
    assert other.json()["data"]["customerId"] == "c9"
    replay = a.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -1, "reason": "usage"}, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.content == first.content
