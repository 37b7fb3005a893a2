"""A minimal, deterministic PDF 1.4 of a receipt (balance-api.md §5.20): no wall-clock dates,
document ID derived from the proof root, one Helvetica text line per covered delta."""

from __future__ import annotations

from typing import Any

from ..proofs.primitives import canonical_decimal

LINES_PER_PAGE = 60
MAX_LINES = 1000


def _escape(text: str) -> str:
    safe = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(text))
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _lines(receipt: dict[str, Any]) -> list[str]:
    head = [
        "PacSpace receipt (pacspace-mock)",
        f"Receipt: {receipt['receiptId']}",
        f"Customer: {receipt['customerId']}",
        f"Window: {receipt['period'] or ''} {receipt['startDate']} .. {receipt['endDate']}",
        f"Status: {receipt['status']}",
        f"Proof root: {receipt['proofRoot']}",
        f"Items root: {receipt['itemsRoot']}",
        f"Starting balance: {canonical_decimal(receipt['startingBalance'])}",
        f"Net change: {canonical_decimal(receipt['netChange'])}",
        f"Final balance: {canonical_decimal(receipt['finalBalance'])}",
        f"Delta count: {receipt['deltaCount']}",
        "",
        "Date | Reason | Reference | Amount",
    ]
    body = [
        f"{d['recordedAt']} | {d['reason']} | {d['referenceId'] or '-'} | {d['deltaDecimal']}"
        for d in receipt["deltas"][:MAX_LINES]
    ]
    if receipt["deltaCount"] > MAX_LINES:
        body.append(f"... {receipt['deltaCount'] - MAX_LINES} more lines (see the JSON receipt)")
    return head + body


def receipt_pdf(receipt: dict[str, Any]) -> bytes:
    lines = _lines(receipt)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, page_lines in enumerate(pages):
        text = ["BT", "/F1 8 Tf", "10 TL", "40 800 Td"]
        for line in page_lines:
            text.append(f"({_escape(line)}) Tj T*")
        text.append("ET")
        stream = "\n".join(text).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
            f" /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    doc_id = receipt["proofRoot"][2:34]
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /ID [<{doc_id}> <{doc_id}>] >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)
