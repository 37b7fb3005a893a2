"""Race safety (balance-api.md §4.1, §4.2, §5.6): identical requests sent at the same instant by
many clients record exactly one delta / one checkpoint; the others get the replay."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import requests
from requests.structures import CaseInsensitiveDict

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"
N = 20
JOIN_TIMEOUT = 60.0
MAX_PENDING_RETRIES = 500  # bound for re-sending after a 202 IDEMPOTENCY_PENDING


@dataclass
class Reply:
    status: int
    content: bytes
    headers: CaseInsensitiveDict
    pending_seen: int


def _fire(url: str, key: str, method: str, path: str, *, json_body=None, headers=None, n: int = N,
          bodies=None) -> list[Reply]:
    """Send n requests released together by a barrier, each thread with its own Session.

    A 202 IDEMPOTENCY_PENDING (allowed while another request with the same key executes) is
    re-sent at once, at most MAX_PENDING_RETRIES times."""
    barrier = threading.Barrier(n, timeout=JOIN_TIMEOUT)
    results: list[Reply | None] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with requests.Session() as session:
                session.headers["X-Api-Key"] = key
                body = bodies[i] if bodies is not None else json_body
                barrier.wait()
                pending = 0
                for _ in range(MAX_PENDING_RETRIES):
                    response = session.request(method, url + path, json=body, headers=headers or {}, timeout=JOIN_TIMEOUT)
                    if response.status_code != 202:
                        break
                    envelope = response.json()
                    assert envelope["success"] is False
                    assert envelope["error"]["code"] == "IDEMPOTENCY_PENDING"
                    assert envelope["error"]["retryAfterSeconds"] == 1
                    assert response.headers["Retry-After"] == "1"
                    pending += 1
                else:
                    raise AssertionError("still IDEMPOTENCY_PENDING after the retry bound")
                results[i] = Reply(response.status_code, response.content, CaseInsensitiveDict(response.headers), pending)
        except BaseException as exc:  # noqa: BLE001 - reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a request thread did not finish"
    assert not errors, errors
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _data(reply: Reply) -> dict:
    import json

    envelope = json.loads(reply.content)
    assert envelope["success"] is True, reply.content
    return envelope["data"]


def test_concurrent_emits_with_one_reference_id_record_once(server, mock):
    mock.freeze(T0)
    body = {"customerId": "race", "delta": -5, "reason": "usage", "referenceId": "race-ref-1"}
    replies = _fire(server.url, mock.key, "POST", f"{B}/delta", json_body=body)

    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * (N - 1) + [201], statuses
    datas = [_data(r) for r in replies]
    record_ids = {d["recordId"] for d in datas}
    assert len(record_ids) == 1
    created = [d for r, d in zip(replies, datas) if r.status == 201]
    replayed = [d for r, d in zip(replies, datas) if r.status == 200]
    assert created[0]["idempotent"] is False and created[0]["status"] == "QUEUED"
    assert all(d["idempotent"] is True for d in replayed)
    assert {(d["sequence"], d["deltaIndex"], d["receiptId"]) for d in datas} == {(1, 1, created[0]["receiptId"])}

    derived = mock.ok("GET", f"{B}/derive/race")
    assert (derived["deltasCount"], derived["computedBalance"], derived["pendingCount"]) == (1, -5, 0)
    assert [d["recordId"] for d in derived["deltas"]] == list(record_ids)
    assert mock.ok("GET", f"{B}/customers/race")["totalDeltas"] == 1
    assert mock.ok("GET", f"{B}/usage")["consumedDeltas"] == 1
    counts = mock.ok("GET", "/_mock/workspace")["counts"]
    assert (counts["customers"], counts["deltas"]) == (1, 1)


def test_concurrent_emits_with_one_idempotency_key_execute_once(server, mock):
    mock.freeze(T0)
    body = {"customerId": "race", "delta": -5, "reason": "usage"}  # no referenceId: only the key dedupes
    replies = _fire(server.url, mock.key, "POST", f"{B}/delta", json_body=body,
                    headers={"Idempotency-Key": "race-key-1"})

    # the stored reply is replayed with its own status (201) and exact bytes
    assert [r.status for r in replies] == [201] * N
    assert len({r.content for r in replies}) == 1
    originals = [r for r in replies if "Idempotent-Replayed" not in r.headers]
    replays = [r for r in replies if "Idempotent-Replayed" in r.headers]
    assert len(originals) == 1 and len(replays) == N - 1
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replays)
    data = _data(originals[0])
    assert data["idempotent"] is False and data["status"] == "QUEUED"

    derived = mock.ok("GET", f"{B}/derive/race")
    assert (derived["deltasCount"], derived["computedBalance"]) == (1, -5)
    assert [d["recordId"] for d in derived["deltas"]] == [data["recordId"]]
    assert mock.ok("GET", f"{B}/customers/race")["totalDeltas"] == 1
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1


def test_concurrent_identical_batches_record_each_item_once(server, mock):
    mock.freeze(T0)
    body = {"deltas": [
        {"customerId": "race_a", "delta": -1, "reason": "usage", "referenceId": "b-1"},
        {"customerId": "race_b", "delta": 2.5, "reason": "credit", "referenceId": "b-2"},
    ]}
    replies = _fire(server.url, mock.key, "POST", f"{B}/delta/batch", json_body=body, n=10)
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * 9 + [201]
    datas = [_data(r) for r in replies]
    first = next(d for r, d in zip(replies, datas) if r.status == 201)
    assert (first["totalRecorded"], first["totalReplayed"], first["batchSequence"]) == (2, 0, 1)
    for r, d in zip(replies, datas):
        if r.status == 200:
            assert (d["totalRecorded"], d["totalReplayed"], d["totalFailed"]) == (0, 2, 0)
            assert d["receiptId"] is None
            assert [x["idempotent"] for x in d["results"]] == [True, True]
        assert [x["recordId"] for x in d["results"]] == [x["recordId"] for x in first["results"]]
    counts = mock.ok("GET", "/_mock/workspace")["counts"]
    assert (counts["customers"], counts["deltas"]) == (2, 2)


def test_concurrent_distinct_emits_get_contiguous_sequences(server, mock):
    mock.freeze(T0)
    bodies = [{"customerId": "busy", "delta": -(i + 1), "reason": "usage", "referenceId": f"u-{i}"} for i in range(N)]
    replies = _fire(server.url, mock.key, "POST", f"{B}/delta", bodies=bodies)
    assert [r.status for r in replies] == [201] * N
    datas = [_data(r) for r in replies]
    assert sorted(d["sequence"] for d in datas) == list(range(1, N + 1))
    assert sorted(d["deltaIndex"] for d in datas) == list(range(1, N + 1))
    assert len({d["recordId"] for d in datas}) == N
    derived = mock.ok("GET", f"{B}/derive/busy")
    assert (derived["deltasCount"], derived["computedBalance"]) == (N, -sum(range(1, N + 1)))
    gaps = mock.ok("GET", f"{B}/gaps/busy")
    assert (gaps["hasGaps"], gaps["verifiedThrough"], gaps["highestSequence"]) == (False, N, N)


def test_concurrent_identical_checkpoints_create_one(server, mock):
    mock.freeze(T0)
    for i in range(3):
        mock.ok("POST", f"{B}/delta", 201, json={"customerId": "chk_race", "delta": -(i + 1), "reason": "usage"})
    mock.clock_set("2026-02-10T00:00:01.000Z")
    body = {"customerId": "chk_race", "period": "2026-02"}
    replies = _fire(server.url, mock.key, "POST", f"{B}/checkpoint", json_body=body)
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * (N - 1) + [201], statuses
    datas = [_data(r) for r in replies]
    assert len({d["checkpointId"] for d in datas}) == 1
    assert len({d["proofRoot"] for d in datas}) == 1
    for r, d in zip(replies, datas):
        assert d["idempotent"] is (r.status == 200)
        assert (d["treeSize"], d["netChange"], d["supersedes"]) == (3, -6, None)
    listed = mock.ok("GET", f"{B}/checkpoints", params={"customerId": "chk_race"})
    assert [c["checkpointId"] for c in listed["checkpoints"]] == [datas[0]["checkpointId"]]
    assert listed["checkpoints"][0]["supersededBy"] is None
    assert mock.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 1


def test_concurrent_all_customer_checkpoints_create_one_each(server, mock):
    mock.freeze(T0)
    for cid in ("all_b", "all_a"):
        mock.ok("POST", f"{B}/delta", 201, json={"customerId": cid, "delta": -1, "reason": "usage"})
    mock.clock_set("2026-02-10T00:00:01.000Z")
    replies = _fire(server.url, mock.key, "POST", f"{B}/checkpoint", json_body={"period": "2026-02"}, n=10)
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * 9 + [201]
    datas = [_data(r) for r in replies]
    ids = {tuple(c["checkpointId"] for c in d["checkpoints"]) for d in datas}
    assert len(ids) == 1
    assert sorted(d["createdCount"] for d in datas) == [0] * 9 + [2]
    assert all([c["customerId"] for c in d["checkpoints"]] == ["all_a", "all_b"] for d in datas)
    assert mock.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 2
