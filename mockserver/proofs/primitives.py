"""Hashing, canonical JSON, canonical decimals, timestamps and exact JSON parsing (proofs.md §2).

Everything here is pure and importable without the server.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

import rfc8785

ZERO_HASH = "0x" + "0" * 64
HEX_HASH_RE = re.compile(r"0x[0-9a-f]{64}")  # used with fullmatch: no trailing newline

# Exact arithmetic for sums: 80 digits and Inexact trapped, so a sum is exact or raises.
EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])

MAX_DELTA_MAGNITUDE = Decimal(1_000_000_000)
MAX_DELTA_SIGNIFICANT_DIGITS = 15
MAX_FRACTION_DIGITS = 18


# --- Keccak-256 and hex ------------------------------------------------------------------------

def _keccak_public(data: bytes) -> bytes:
    from Crypto.Hash import keccak

    return keccak.new(data=data, digest_bits=256).digest()


# Keccak-256 of "" and of "abc": every fast path is checked against these before it is used.
_KECCAK_VECTORS = (
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
)


def keccak_factory():
    """A factory of fast Keccak-256 functions, or None when pycryptodome's library differs.

    pycryptodome's public `keccak.new` costs ~7 µs per call (1.5 s for a 100,000-leaf tree);
    its C library's `keccak_oneshot` costs ~1.5 µs. We load that library with ctypes rather
    than through pycryptodome's loader: when cffi is installed the loader parses C declarations
    with pycparser, ~30 ms of every process start (a fifth of the plugin's session budget).
    Each function returned owns its output buffer, so give one to each thread (or each call).
    Checked against known digests; any difference falls back to the public API.
    """
    try:
        import ctypes
        import importlib.util

        spec = importlib.util.find_spec("Crypto.Hash._keccak")
        oneshot = ctypes.CDLL(spec.origin).keccak_oneshot
        oneshot.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                            ctypes.c_size_t, ctypes.c_ubyte, ctypes.c_ubyte)
        oneshot.restype = ctypes.c_int
    except (AttributeError, ImportError, OSError, TypeError):
        return None
    create_buffer = ctypes.create_string_buffer

    def factory():
        out = create_buffer(32)

        def h(data: bytes) -> bytes:
            if type(data) is not bytes:  # c_char_p takes bytes only, not bytearray / memoryview
                data = bytes(data)
            # capacity 64 bytes (rate 136), 24 rounds, original Keccak padding 0x01.
            if oneshot(data, len(data), out, 32, 64, 24, 0x01):
                raise ValueError("keccak_oneshot failed")
            return out.raw

        return h

    try:
        probe = factory()
        if any(probe(data).hex() != digest for data, digest in _KECCAK_VECTORS):
            return None
    except Exception:  # noqa: BLE001 - any surprise in the library: use the public API
        return None
    return factory


_FAST_KECCAK = keccak_factory()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum uses it (not FIPS SHA3-256). Thread-safe: a buffer per call."""
    if _FAST_KECCAK is None:
        return _keccak_public(data)
    return _FAST_KECCAK()(data)


def to_hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def from_hex(value: str) -> bytes:
    """Strict hash spelling (proofs.md §2.3): 0x + 64 lowercase hex digits, else ValueError."""
    if not isinstance(value, str) or not HEX_HASH_RE.fullmatch(value):
        raise ValueError(f"not a hash in 0x + 64 lowercase hex form: {value!r}")
    return bytes.fromhex(value[2:])


def is_hash(value: Any) -> bool:
    return isinstance(value, str) and HEX_HASH_RE.fullmatch(value) is not None


def labelled_hash(label: str, payload: bytes) -> bytes:
    return keccak256(label.encode("ascii") + b"\x00" + payload)


# --- Canonical JSON ----------------------------------------------------------------------------

def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON. Amounts must already be strings; Decimal is not JSON."""
    return rfc8785.dumps(value)


_PLAIN_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
MAX_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return True
    if type(value) is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if isinstance(value, dict) and depth < 2:
        return all(isinstance(k, str) and k.isascii() and _plain(v, depth + 1) for k, v in value.items())
    return False


def jcs_plain(value: dict) -> bytes:
    """JCS of a preimage object (D, B, C): ASCII member names, strings, safe integers, one nested
    object. For such values RFC 8785 and sorted compact JSON coincide (no floats to format; ASCII
    names sort the same by UTF-16 units and by code points; the same characters are escaped), and
    the C encoder is ~20x faster than rfc8785. Anything else goes through rfc8785."""
    if not _plain(value):
        return rfc8785.dumps(value)
    try:
        return _PLAIN_JSON.encode(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: let rfc8785 raise its own error
        return rfc8785.dumps(value)


# --- Canonical decimals ------------------------------------------------------------------------

#: canonical_decimal refuses to add more zeros than this: amounts reach it only validated (at
#: most 21 integer and 18 fractional digits), so a larger exponent is a bug to report, never a
#: gigabyte string to build (1e-999999999 written positionally).
MAX_CANONICAL_EXPONENT = 4096


def canonical_decimal(value: Decimal | int) -> str:
    """Plain positional notation, no exponent, no trailing fractional zeros, -0 -> 0."""
    d = Decimal(value)
    if not d.is_finite():
        raise ValueError("amount must be finite")
    if d.is_zero():
        return "0"
    sign, digits, exponent = d.as_tuple()
    if max(exponent, -(len(digits) + exponent)) > MAX_CANONICAL_EXPONENT:  # zeros it would add
        raise ValueError(f"amount exponent {exponent} is beyond what is written positionally")
    text = "".join(map(str, digits))
    if exponent >= 0:
        text = (text + "0" * exponent).lstrip("0") or "0"
    else:
        point = len(text) + exponent
        if point > 0:
            int_part, frac_part = text[:point], text[point:]
        else:
            int_part, frac_part = "0", "0" * (-point) + text
        int_part = int_part.lstrip("0") or "0"
        frac_part = frac_part.rstrip("0")
        text = int_part + ("." + frac_part if frac_part else "")
    return ("-" if sign else "") + text


def significant_digits(value: Decimal) -> int:
    if value.is_zero():
        return 0
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    return len(digits)


def comparable_decimal(value: Decimal) -> str:
    """A text that is equal for equal numbers (100 = 100.0 = 1E+2), never longer than the number's
    own digits plus its exponent: the canonical decimal string while that stays short, otherwise
    the normalized coefficient and exponent (`1E-99999999`), which no canonical string can equal
    (they never hold an `E`). For comparisons of unvalidated input (Idempotency-Key bodies,
    metadata), where `canonical_decimal` would expand an exponent into that many zeros."""
    if not value.is_finite():
        return str(value)
    if value.is_zero() or (-64 <= value.adjusted() <= 64 and fraction_digits(value) <= 64):
        return canonical_decimal(value)
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    stripped = text.rstrip("0")
    return ("-" if sign else "") + stripped + "E" + str(exponent + len(text) - len(stripped))


def fraction_digits(value: Decimal) -> int:
    """Digits after the point once trailing zeros are removed, from the exponent (never expands
    the number: 1e-999999999 must not become a gigabyte string)."""
    if value.is_zero():
        return 0
    _, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    return max(0, -(exponent + len(text) - len(text.rstrip("0"))))


def delta_amount_problem(value: Decimal) -> str | None:
    """The first rule of proofs.md §2.6 a delta amount breaks, as a sentence; None when valid."""
    if not value.is_finite():
        return "delta must be a finite number"
    if value.is_zero():
        return "delta must be non-zero"
    if value.copy_abs() > MAX_DELTA_MAGNITUDE:  # exact: abs() would round to the context's 28 digits
        return "delta must satisfy |delta| <= 1000000000"
    sig = significant_digits(value)
    if sig > MAX_DELTA_SIGNIFICANT_DIGITS:
        return f"delta has {sig} significant digits; at most {MAX_DELTA_SIGNIFICANT_DIGITS} are allowed"
    frac = fraction_digits(value)
    if frac > MAX_FRACTION_DIGITS:
        return f"delta has {frac} digits after the point; at most {MAX_FRACTION_DIGITS} are allowed"
    return None


AMOUNT_LIMIT = Decimal(10) ** 21


def amount_problem(number: Decimal) -> str | None:
    """The first rule of an amount (balance-api.md §1.8: startingBalance, your/their balance,
    breakdown values) a number breaks, with the field as {field}; None when valid."""
    if not number.is_finite() or number.copy_abs() >= AMOUNT_LIMIT:  # exact: abs() rounds to 28 digits
        return "{field} must be a finite number with |x| < 10^21"
    if significant_digits(number) > 30:
        return "{field} has more than 30 significant digits"
    if fraction_digits(number) > 18:
        return "{field} has more than 18 digits after the point"
    return None


def exact_sum(values) -> Decimal:
    total = Decimal(0)
    for v in values:
        total = EXACT.add(total, Decimal(v))
    return total


# --- Timestamps --------------------------------------------------------------------------------

_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def format_ts(ms: int) -> str:
    """Milliseconds since the Unix epoch -> YYYY-MM-DDTHH:MM:SS.mmmZ (UTC)."""
    days, rem = divmod(int(ms), 86_400_000)
    seconds, millis = divmod(rem, 1000)
    hour, rem = divmod(seconds, 3600)
    minute, second = divmod(rem, 60)
    return f"{_date_text(days)}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


def optional_ts(ms: int | None) -> str | None:
    """format_ts, or None for an instant that has not happened (verifiedAt of a pending delta…)."""
    return None if ms is None else format_ts(ms)


@functools.lru_cache(maxsize=4096)
def _date_text(days: int) -> str:
    year, month, day = civil_from_days(days)
    return f"{year:04d}-{month:02d}-{day:02d}"


def _gmtime(seconds: int) -> tuple[int, int, int, int, int, int]:
    days, rem = divmod(seconds, 86400)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    year, month, day = civil_from_days(days)
    return year, month, day, hour, minute, second


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (Howard Hinnant)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (1 if m <= 2 else 0), m, d)


def days_from_civil(year: int, month: int, day: int) -> int:
    y = year - (1 if month <= 2 else 0)
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _check_date(text: str, year: int, month: int, day: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: month is out of range")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"{text!r}: day is out of range for month")


def parse_rfc3339(text: str) -> int:
    """RFC 3339 date-time with a zone -> UTC milliseconds, truncated (proofs.md §2.7, T.3)."""
    m = _RFC3339_RE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with a zone")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    _check_date(text, year, month, day)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text!r}: time is out of range")
    frac = m.group(7)
    millis = int((frac[1:] + "00")[:3]) if frac else 0
    zone = m.group(8)
    offset_minutes = 0
    if zone not in ("Z", "z"):
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            raise ValueError(f"{text!r}: zone offset is out of range")
        offset_minutes = (oh * 60 + om) * (1 if zone[0] == "+" else -1)
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return (seconds - offset_minutes * 60) * 1000 + millis


def parse_date_or_datetime(text: str) -> int:
    """Scope dates: YYYY-MM-DD (midnight UTC) or an RFC 3339 date-time (balance-api §1.8)."""
    m = _DATE_RE.fullmatch(text) if isinstance(text, str) else None
    if m:
        year, month, day = (int(g) for g in m.groups())
        _check_date(text, year, month, day)
        return days_from_civil(year, month, day) * 86400 * 1000
    return parse_rfc3339(text)


def month_start_ms(year: int, month: int) -> int:
    while month > 12:
        year, month = year + 1, month - 12
    while month < 1:
        year, month = year - 1, month + 12
    return days_from_civil(year, month, 1) * 86400 * 1000


def month_of(ms: int) -> tuple[int, int]:
    year, month, _ = civil_from_days(int(ms) // 86_400_000)
    return year, month


def period_of(ms: int) -> str:
    year, month = month_of(ms)
    return f"{year:04d}-{month:02d}"


# --- Exact JSON parsing ------------------------------------------------------------------------

class JSONInputError(ValueError):
    """The text is not JSON as this project accepts it (reason: invalid_json); `field` is the path
    of the offending value when one is known (`metadata.note`), else None (the body)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class JSONNumber(Decimal):
    """A number read from JSON text: the exact Decimal of its literal, which also keeps the literal
    itself (`text`), so what is stored and returned as submitted (metadata) is written back as it
    came, never expanded (`1e-99999999` stays 11 bytes; `jsonout` writes `text`). Arithmetic on it
    gives plain Decimals, and validated amounts are plain Decimals, written canonically."""

    __slots__ = ("text",)


#: A literal whose exponent does not fit Python's decimal module (beyond about ±10^18, e.g.
#: `1e99999999999999999999`) is read with its exponent clamped to ±10^15: still far beyond every
#: bound of the contract and every double, on the same side, so each field's own rule refuses it
#: (or, in metadata, the double it stands for is the same: infinite, or zero). Its text is kept.
_CLAMPED_EXPONENT = 10**15


def json_number(text: str) -> JSONNumber:
    """parse_float / parse_int of parse_json_exact."""
    try:
        number = JSONNumber(text)
    except InvalidOperation:
        mantissa, _, exponent = text.replace("E", "e").partition("e")
        sign = "-" if exponent.startswith("-") else ""
        number = JSONNumber(f"{mantissa}e{sign}{_CLAMPED_EXPONENT}")
    number.text = text
    return number


def _reject_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise JSONInputError(f"duplicate member name {key!r}")
        obj[key] = value
    return obj


def _depth(value: Any, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                raise JSONInputError(f"JSON nesting is deeper than {limit}")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # only escapes can make one: UTF-8 cannot


def _is_text(value: str) -> bool:
    """Unicode text: no lone surrogate (a `\\ud800` escape without its pair)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate_path(value: Any, path: str = "") -> tuple[str, str] | None:
    """(path, what) of the first string or member name holding a lone surrogate (`metadata.note`,
    `deltas[2].reason`; a member name is reported at the object that holds it), or None."""
    if isinstance(value, str):
        return None if _is_text(value) else (path or "body", path or "the body")
    if isinstance(value, dict):
        for key, item in value.items():
            if not _is_text(key):
                return path or "body", f"a member name of {path or 'the body'}"
            found = _lone_surrogate_path(item, f"{path}.{key}" if path else key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def parse_json_exact(text: str | bytes, max_depth: int = 32, unicode_only: bool = False) -> Any:
    """JSON with exact decimals (every number a JSONNumber: a Decimal keeping its literal text), no
    duplicate members, no NaN/Infinity, nesting at most `max_depth`. `unicode_only` (request
    bodies): strings and member names must be Unicode text, a lone surrogate escape is refused
    naming where it is (RFC 8785 cannot hash it, UTF-8 cannot store it). The offline verifiers
    parse it, as JSON.parse does, and fail where it is hashed."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError("body is not valid UTF-8") from exc
    try:
        value = json.loads(
            text,
            parse_float=json_number,
            parse_int=json_number,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
    except JSONInputError:
        raise
    except RecursionError as exc:
        raise JSONInputError(f"JSON nesting is deeper than {max_depth}") from exc
    except ValueError as exc:
        raise JSONInputError(f"invalid JSON: {exc}") from exc
    _depth(value, max_depth)
    if unicode_only and _SURROGATE_ESCAPE.search(text):
        found = _lone_surrogate_path(value)
        if found is not None:
            field, what = found
            raise JSONInputError(f"{what} holds a lone surrogate (a \\ud800-\\udfff escape without its pair),"
                                 " which is not Unicode text", field=field)
    return value
