/*
 * pacspace-verify.js - in-page verifier of the public PacSpace mock pages (balance-api.md section 6).
 *
 * Reads the data island <script type="application/json" id="pacspace-data">, recomputes every
 * fingerprint, the items root and the proof root (or batch proof hash) exactly as proofs.md
 * (proof scheme pacspace-mock/v1) specifies, and writes the outcome into the element
 * id="verification-result": its attribute data-verification goes from "pending" to "pass" or
 * "fail", with visible text saying which and, on failure, which checks failed and why.
 * The server's own "verified" flag is never read.
 *
 * Self-contained: Keccak-256 (original Keccak padding 0x01, not SHA3's 0x06), UTF-8,
 * RFC 8785 canonical JSON, exact decimals (BigInt), the RFC 9162 Merkle tree, and a strict JSON
 * parser that keeps the source text of every number (so amounts are recovered exactly, never
 * through binary floating point) and rejects duplicate member names, as proofs.md section 6
 * requires (JSON.parse would silently keep the last duplicate).
 *
 * Data islands accepted (an optional {"success": true, "data": ...} envelope is removed first):
 *   - a receipt (balance-api.md 5.0.3 / 5.20): the checks of proofs.md 6.1, with the same names
 *     as the reference verifier (mockserver/proofs/verifier.py): json, shape, proofScheme,
 *     checkpoint.wellFormed, checkpoint.customerId, checkpoint.period, proofRoot, anchor,
 *     ledgerId, deltas.wellFormed, deltas.fingerprints, deltas.window, deltas.status,
 *     deltas.order, completeness, itemHashes, itemsRoot, netChange, balances; plus, only when
 *     the data carries what they need: checkpoint.window (top-level startDate/endDate equal
 *     C's), deltas.inclusion (each line's merkleProof leads from its recomputed fingerprint to
 *     C.itemsRoot) and page.complete (see paging below). netChange also compares the top-level
 *     netChange number, when present, with the exact sum of the lines;
 *   - the public verify data (balance-api.md 5.19) of kind "checkpoint": the same checks,
 *     applied to records[] (amount / amountDecimal) and summary, plus chainId
 *     (verification.chainId equals C.chainId);
 *   - the public verify data of kind "batch": json, shape, proofScheme, batch.wellFormed,
 *     proofHash (H(batch label || 00 || JCS(B)) equals proofRoot), anchor, deltas.wellFormed,
 *     deltas.fingerprints, completeness, itemHashes, itemsRoot, netChange, balances (records in
 *     batch order, any customers; no status check: a batch not yet anchored is still hashed).
 *   netChange and balances on verify data use summary.netChange / endingBalance - startingBalance.
 *
 * Paging: a paged island (deltasPage / recordsPage with hasMore true or offset > 0) holds only
 * part of the covered set, so completeness, the items root over all lines, the net change and
 * the balances cannot be recomputed. The verifier then checks everything the page does hold
 * (the checkpoint and its proofRoot, every line's fingerprint, window, order, status, each
 * line's inclusion proof when present, itemHashes of the page) and reports FAIL with the check
 * "page.complete" ("incomplete page: lines a-b of n"), never a pass it could not establish.
 *
 * Browser: runs on DOMContentLoaded. Node: the functions are exported through module.exports.
 */
(function () {
  "use strict";

  var PROOF_SCHEME = "pacspace-mock/v1";
  var LABELS = {
    delta: "pacspace-mock:delta:v1",
    batch: "pacspace-mock:batch:v1",
    checkpoint: "pacspace-mock:checkpoint:v1",
    ledger: "pacspace-mock:ledger:v1",
    anchor: "pacspace-mock:anchor:v1"
  };
  var MAX_SAFE = 9007199254740991;
  var ZERO_HASH = "0x" + "0000000000000000000000000000000000000000000000000000000000000000";
  var HASH_RE = /^0x[0-9a-f]{64}$/;
  var CANONICAL_DECIMAL_RE = /^(?:0|-?(?:0\.[0-9]*[1-9]|[1-9][0-9]*(?:\.[0-9]*[1-9])?))$/;
  var CHECKPOINT_REQUIRED = ["ledgerId", "chainId", "customerId", "startDate", "endDate", "treeSize",
    "itemsRoot", "netChange"];
  var CHECKPOINT_OPTIONAL = ["period", "fromSequence", "toSequence", "previousProofRoot"];
  var BATCH_MEMBERS = ["ledgerId", "batchSequence", "itemCount", "itemsRoot", "previousProofHash"];
  var MAX_INCLUSION_PROOF = 64;
  var EXACT_DIGITS = 80; // like the reference: sums exact to 80 significant digits, else refused

  // --- Keccak-256 (32-bit lanes) -------------------------------------------------------------

  // Round constants as [lo, hi] pairs of each 64-bit lane value.
  var RC = new Uint32Array([
    0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
    0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
    0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
    0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
    0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
    0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000
  ]);
  // Keccak-f[1600], unrolled over 32-bit lane halves held in local variables: lane x + 5y is
  // (a{x+5y}l, a{x+5y}h) = (bits 0-31, bits 32-63). Each round: theta (column parities c, d),
  // rho + pi (b[y + 5((2x + 3y) mod 5)] = rotl(a[x + 5y], r[x + 5y]) with the offsets
  // r = 0 1 62 28 27 36 44 6 55 20 3 10 43 25 39 41 45 15 21 8 18 2 61 56 14), chi, iota.
  function keccakF(s) {
    var a0l = s[0], a0h = s[1], a1l = s[2], a1h = s[3], a2l = s[4], a2h = s[5], a3l = s[6], a3h = s[7],
      a4l = s[8], a4h = s[9], a5l = s[10], a5h = s[11], a6l = s[12], a6h = s[13], a7l = s[14], a7h = s[15],
      a8l = s[16], a8h = s[17], a9l = s[18], a9h = s[19], a10l = s[20], a10h = s[21], a11l = s[22],
      a11h = s[23], a12l = s[24], a12h = s[25], a13l = s[26], a13h = s[27], a14l = s[28], a14h = s[29],
      a15l = s[30], a15h = s[31], a16l = s[32], a16h = s[33], a17l = s[34], a17h = s[35], a18l = s[36],
      a18h = s[37], a19l = s[38], a19h = s[39], a20l = s[40], a20h = s[41], a21l = s[42], a21h = s[43],
      a22l = s[44], a22h = s[45], a23l = s[46], a23h = s[47], a24l = s[48], a24h = s[49];
    var c0l, c0h, c1l, c1h, c2l, c2h, c3l, c3h, c4l, c4h, b0l, b0h, b1l, b1h, b2l, b2h, b3l, b3h, b4l, b4h,
      b5l, b5h, b6l, b6h, b7l, b7h, b8l, b8h, b9l, b9h, b10l, b10h, b11l, b11h, b12l, b12h, b13l, b13h, b14l,
      b14h, b15l, b15h, b16l, b16h, b17l, b17h, b18l, b18h, b19l, b19h, b20l, b20h, b21l, b21h, b22l, b22h,
      b23l, b23h, b24l, b24h, dl, dh;
    for (var round = 0; round < 48; round += 2) {
      c0l = a0l ^ a5l ^ a10l ^ a15l ^ a20l;
      c0h = a0h ^ a5h ^ a10h ^ a15h ^ a20h;
      c1l = a1l ^ a6l ^ a11l ^ a16l ^ a21l;
      c1h = a1h ^ a6h ^ a11h ^ a16h ^ a21h;
      c2l = a2l ^ a7l ^ a12l ^ a17l ^ a22l;
      c2h = a2h ^ a7h ^ a12h ^ a17h ^ a22h;
      c3l = a3l ^ a8l ^ a13l ^ a18l ^ a23l;
      c3h = a3h ^ a8h ^ a13h ^ a18h ^ a23h;
      c4l = a4l ^ a9l ^ a14l ^ a19l ^ a24l;
      c4h = a4h ^ a9h ^ a14h ^ a19h ^ a24h;
      dl = c4l ^ ((c1l << 1) | (c1h >>> 31)); dh = c4h ^ ((c1h << 1) | (c1l >>> 31));
      a0l ^= dl; a0h ^= dh; a5l ^= dl; a5h ^= dh; a10l ^= dl; a10h ^= dh; a15l ^= dl; a15h ^= dh; a20l ^= dl;
      a20h ^= dh;
      dl = c0l ^ ((c2l << 1) | (c2h >>> 31)); dh = c0h ^ ((c2h << 1) | (c2l >>> 31));
      a1l ^= dl; a1h ^= dh; a6l ^= dl; a6h ^= dh; a11l ^= dl; a11h ^= dh; a16l ^= dl; a16h ^= dh; a21l ^= dl;
      a21h ^= dh;
      dl = c1l ^ ((c3l << 1) | (c3h >>> 31)); dh = c1h ^ ((c3h << 1) | (c3l >>> 31));
      a2l ^= dl; a2h ^= dh; a7l ^= dl; a7h ^= dh; a12l ^= dl; a12h ^= dh; a17l ^= dl; a17h ^= dh; a22l ^= dl;
      a22h ^= dh;
      dl = c2l ^ ((c4l << 1) | (c4h >>> 31)); dh = c2h ^ ((c4h << 1) | (c4l >>> 31));
      a3l ^= dl; a3h ^= dh; a8l ^= dl; a8h ^= dh; a13l ^= dl; a13h ^= dh; a18l ^= dl; a18h ^= dh; a23l ^= dl;
      a23h ^= dh;
      dl = c3l ^ ((c0l << 1) | (c0h >>> 31)); dh = c3h ^ ((c0h << 1) | (c0l >>> 31));
      a4l ^= dl; a4h ^= dh; a9l ^= dl; a9h ^= dh; a14l ^= dl; a14h ^= dh; a19l ^= dl; a19h ^= dh; a24l ^= dl;
      a24h ^= dh;
      b0l = a0l; b0h = a0h;
      b10l = (a1l << 1) | (a1h >>> 31); b10h = (a1h << 1) | (a1l >>> 31);
      b20l = (a2h << 30) | (a2l >>> 2); b20h = (a2l << 30) | (a2h >>> 2);
      b5l = (a3l << 28) | (a3h >>> 4); b5h = (a3h << 28) | (a3l >>> 4);
      b15l = (a4l << 27) | (a4h >>> 5); b15h = (a4h << 27) | (a4l >>> 5);
      b16l = (a5h << 4) | (a5l >>> 28); b16h = (a5l << 4) | (a5h >>> 28);
      b1l = (a6h << 12) | (a6l >>> 20); b1h = (a6l << 12) | (a6h >>> 20);
      b11l = (a7l << 6) | (a7h >>> 26); b11h = (a7h << 6) | (a7l >>> 26);
      b21l = (a8h << 23) | (a8l >>> 9); b21h = (a8l << 23) | (a8h >>> 9);
      b6l = (a9l << 20) | (a9h >>> 12); b6h = (a9h << 20) | (a9l >>> 12);
      b7l = (a10l << 3) | (a10h >>> 29); b7h = (a10h << 3) | (a10l >>> 29);
      b17l = (a11l << 10) | (a11h >>> 22); b17h = (a11h << 10) | (a11l >>> 22);
      b2l = (a12h << 11) | (a12l >>> 21); b2h = (a12l << 11) | (a12h >>> 21);
      b12l = (a13l << 25) | (a13h >>> 7); b12h = (a13h << 25) | (a13l >>> 7);
      b22l = (a14h << 7) | (a14l >>> 25); b22h = (a14l << 7) | (a14h >>> 25);
      b23l = (a15h << 9) | (a15l >>> 23); b23h = (a15l << 9) | (a15h >>> 23);
      b8l = (a16h << 13) | (a16l >>> 19); b8h = (a16l << 13) | (a16h >>> 19);
      b18l = (a17l << 15) | (a17h >>> 17); b18h = (a17h << 15) | (a17l >>> 17);
      b3l = (a18l << 21) | (a18h >>> 11); b3h = (a18h << 21) | (a18l >>> 11);
      b13l = (a19l << 8) | (a19h >>> 24); b13h = (a19h << 8) | (a19l >>> 24);
      b14l = (a20l << 18) | (a20h >>> 14); b14h = (a20h << 18) | (a20l >>> 14);
      b24l = (a21l << 2) | (a21h >>> 30); b24h = (a21h << 2) | (a21l >>> 30);
      b9l = (a22h << 29) | (a22l >>> 3); b9h = (a22l << 29) | (a22h >>> 3);
      b19l = (a23h << 24) | (a23l >>> 8); b19h = (a23l << 24) | (a23h >>> 8);
      b4l = (a24l << 14) | (a24h >>> 18); b4h = (a24h << 14) | (a24l >>> 18);
      a0l = b0l ^ (~b1l & b2l); a0h = b0h ^ (~b1h & b2h);
      a1l = b1l ^ (~b2l & b3l); a1h = b1h ^ (~b2h & b3h);
      a2l = b2l ^ (~b3l & b4l); a2h = b2h ^ (~b3h & b4h);
      a3l = b3l ^ (~b4l & b0l); a3h = b3h ^ (~b4h & b0h);
      a4l = b4l ^ (~b0l & b1l); a4h = b4h ^ (~b0h & b1h);
      a5l = b5l ^ (~b6l & b7l); a5h = b5h ^ (~b6h & b7h);
      a6l = b6l ^ (~b7l & b8l); a6h = b6h ^ (~b7h & b8h);
      a7l = b7l ^ (~b8l & b9l); a7h = b7h ^ (~b8h & b9h);
      a8l = b8l ^ (~b9l & b5l); a8h = b8h ^ (~b9h & b5h);
      a9l = b9l ^ (~b5l & b6l); a9h = b9h ^ (~b5h & b6h);
      a10l = b10l ^ (~b11l & b12l); a10h = b10h ^ (~b11h & b12h);
      a11l = b11l ^ (~b12l & b13l); a11h = b11h ^ (~b12h & b13h);
      a12l = b12l ^ (~b13l & b14l); a12h = b12h ^ (~b13h & b14h);
      a13l = b13l ^ (~b14l & b10l); a13h = b13h ^ (~b14h & b10h);
      a14l = b14l ^ (~b10l & b11l); a14h = b14h ^ (~b10h & b11h);
      a15l = b15l ^ (~b16l & b17l); a15h = b15h ^ (~b16h & b17h);
      a16l = b16l ^ (~b17l & b18l); a16h = b16h ^ (~b17h & b18h);
      a17l = b17l ^ (~b18l & b19l); a17h = b17h ^ (~b18h & b19h);
      a18l = b18l ^ (~b19l & b15l); a18h = b18h ^ (~b19h & b15h);
      a19l = b19l ^ (~b15l & b16l); a19h = b19h ^ (~b15h & b16h);
      a20l = b20l ^ (~b21l & b22l); a20h = b20h ^ (~b21h & b22h);
      a21l = b21l ^ (~b22l & b23l); a21h = b21h ^ (~b22h & b23h);
      a22l = b22l ^ (~b23l & b24l); a22h = b22h ^ (~b23h & b24h);
      a23l = b23l ^ (~b24l & b20l); a23h = b23h ^ (~b24h & b20h);
      a24l = b24l ^ (~b20l & b21l); a24h = b24h ^ (~b20h & b21h);
      a0l ^= RC[round]; a0h ^= RC[round + 1];
    }
    s[0] = a0l; s[1] = a0h; s[2] = a1l; s[3] = a1h; s[4] = a2l; s[5] = a2h; s[6] = a3l; s[7] = a3h;
    s[8] = a4l; s[9] = a4h; s[10] = a5l; s[11] = a5h; s[12] = a6l; s[13] = a6h; s[14] = a7l; s[15] = a7h;
    s[16] = a8l; s[17] = a8h; s[18] = a9l; s[19] = a9h; s[20] = a10l; s[21] = a10h; s[22] = a11l;
    s[23] = a11h; s[24] = a12l; s[25] = a12h; s[26] = a13l; s[27] = a13h; s[28] = a14l; s[29] = a14h;
    s[30] = a15l; s[31] = a15h; s[32] = a16l; s[33] = a16h; s[34] = a17l; s[35] = a17h; s[36] = a18l;
    s[37] = a18h; s[38] = a19l; s[39] = a19h; s[40] = a20l; s[41] = a20h; s[42] = a21l; s[43] = a21h;
    s[44] = a22l; s[45] = a22h; s[46] = a23l; s[47] = a23h; s[48] = a24l; s[49] = a24h;
  }

  /** Keccak-256 as Ethereum uses it: rate 136 bytes, padding 0x01 ... 0x80, 32-byte output. */
  function keccak256(bytes) {
    var rate = 136, len = bytes.length;
    var total = (Math.floor(len / rate) + 1) * rate;
    var padded = new Uint8Array(total);
    padded.set(bytes);
    padded[len] ^= 0x01;
    padded[total - 1] ^= 0x80;
    var s = new Int32Array(50);
    for (var off = 0; off < total; off += rate) {
      for (var k = 0; k < 34; k++) {
        var o = off + 4 * k;
        s[k] ^= padded[o] | (padded[o + 1] << 8) | (padded[o + 2] << 16) | (padded[o + 3] << 24);
      }
      keccakF(s);
    }
    var out = new Uint8Array(32);
    for (var w = 0; w < 8; w++) {
      var v = s[w];
      out[4 * w] = v & 0xff;
      out[4 * w + 1] = (v >>> 8) & 0xff;
      out[4 * w + 2] = (v >>> 16) & 0xff;
      out[4 * w + 3] = (v >>> 24) & 0xff;
    }
    return out;
  }

  // --- bytes, hex, UTF-8 ---------------------------------------------------------------------

  var HEX = "0123456789abcdef";

  function bytesToHex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
    return out;
  }

  function toHex(bytes) {
    return "0x" + bytesToHex(bytes);
  }

  function isHash(value) {
    return typeof value === "string" && HASH_RE.test(value);
  }

  /** Strict hash spelling (proofs.md 2.3) to 32 raw bytes; throws on any other spelling. */
  function fromHex(value) {
    if (!isHash(value)) throw new Error("not a hash in 0x + 64 lowercase hex form: " + describe(value));
    var out = new Uint8Array(32);
    for (var i = 0; i < 32; i++) out[i] = (nibble(value.charCodeAt(2 + 2 * i)) << 4) | nibble(value.charCodeAt(3 + 2 * i));
    return out;
  }

  function nibble(code) {
    return code <= 0x39 ? code - 0x30 : code - 0x57; // '0'-'9', 'a'-'f' (the spelling is checked first)
  }

  function concatBytes(parts) {
    var n = 0, i;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n), at = 0;
    for (i = 0; i < parts.length; i++) {
      out.set(parts[i], at);
      at += parts[i].length;
    }
    return out;
  }

  /** UTF-8 of a JS string; a lone surrogate is an error (it has no UTF-8 form). */
  function utf8(str) {
    var out = [];
    for (var i = 0; i < str.length; i++) {
      var c = str.charCodeAt(i);
      if (c < 0x80) {
        out.push(c);
      } else if (c < 0x800) {
        out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      } else if (c >= 0xd800 && c <= 0xdbff) {
        var d = i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
        if (d < 0xdc00 || d > 0xdfff) throw new Error("string contains a lone surrogate");
        var cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
        i++;
      } else if (c >= 0xdc00 && c <= 0xdfff) {
        throw new Error("string contains a lone surrogate");
      } else {
        out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
    }
    return new Uint8Array(out);
  }

  function ascii(str) {
    var out = new Uint8Array(str.length);
    for (var i = 0; i < str.length; i++) out[i] = str.charCodeAt(i);
    return out;
  }

  // --- strict JSON with exact numbers --------------------------------------------------------

  /** A JSON number as parsed: its source text, exact. */
  function JNum(text) {
    this.text = text;
  }
  JNum.prototype.valueOf = function () { return Number(this.text); };
  JNum.prototype.toString = function () { return this.text; };
  JNum.prototype.toJSON = function () { return Number(this.text); };

  function JSONInputError(message) {
    this.name = "JSONInputError";
    this.message = message;
  }
  JSONInputError.prototype = Object.create(Error.prototype);

  function setMember(obj, key, value) {
    if (key === "__proto__") {
      Object.defineProperty(obj, key, { value: value, enumerable: true, writable: true, configurable: true });
    } else {
      obj[key] = value;
    }
  }

  function has(obj, key) {
    return obj !== null && typeof obj === "object" && Object.prototype.hasOwnProperty.call(obj, key);
  }

  /** The member, or null when absent (Python's dict.get). */
  function get(obj, key) {
    return has(obj, key) ? obj[key] : null;
  }

  var NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

  /**
   * RFC 8259 JSON, strictly: no duplicate member names, no NaN / Infinity, no control characters
   * in strings, nesting at most maxDepth. Numbers become JNum (source text kept); objects are
   * plain objects (members defined as own properties, so "__proto__" is an ordinary name).
   */
  function parseJSONExact(text, maxDepth) {
    if (typeof text !== "string") throw new JSONInputError("the data is not text");
    maxDepth = maxDepth || 64;
    var i = 0, n = text.length;

    function fail(message) {
      throw new JSONInputError("invalid JSON at offset " + i + ": " + message);
    }
    function ws() {
      while (i < n) {
        var c = text.charCodeAt(i);
        if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
        else break;
      }
    }
    function literal(word, value) {
      if (text.substr(i, word.length) !== word) fail("unexpected character " + JSON.stringify(text[i]));
      i += word.length;
      return value;
    }
    function string() {
      i++; // opening quote
      var parts = [], start = i;
      for (;;) {
        if (i >= n) fail("unterminated string");
        var c = text.charCodeAt(i);
        if (c === 0x22) {
          parts.push(text.slice(start, i));
          i++;
          return parts.join("");
        }
        if (c < 0x20) fail("control character in a string");
        if (c !== 0x5c) {
          i++;
          continue;
        }
        parts.push(text.slice(start, i));
        var e = text[i + 1];
        if (e === "u") {
          var h = text.substr(i + 2, 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("bad \\u escape");
          parts.push(String.fromCharCode(parseInt(h, 16)));
          i += 6;
        } else {
          var map = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
          if (!Object.prototype.hasOwnProperty.call(map, e)) fail("bad escape");
          parts.push(map[e]);
          i += 2;
        }
        start = i;
      }
    }
    function value(depth) {
      ws();
      if (i >= n) fail("unexpected end of data");
      var c = text[i];
      if (c === "{") {
        if (depth + 1 > maxDepth) throw new JSONInputError("JSON nesting is deeper than " + maxDepth);
        i++;
        var obj = {};
        ws();
        if (text[i] === "}") {
          i++;
          return obj;
        }
        for (;;) {
          ws();
          if (text[i] !== '"') fail("expected a member name");
          var key = string();
          if (Object.prototype.hasOwnProperty.call(obj, key)) {
            throw new JSONInputError("duplicate member name " + JSON.stringify(key));
          }
          ws();
          if (text[i] !== ":") fail("expected ':'");
          i++;
          setMember(obj, key, value(depth + 1));
          ws();
          if (text[i] === ",") {
            i++;
            continue;
          }
          if (text[i] === "}") {
            i++;
            return obj;
          }
          fail("expected ',' or '}'");
        }
      }
      if (c === "[") {
        if (depth + 1 > maxDepth) throw new JSONInputError("JSON nesting is deeper than " + maxDepth);
        i++;
        var arr = [];
        ws();
        if (text[i] === "]") {
          i++;
          return arr;
        }
        for (;;) {
          arr.push(value(depth + 1));
          ws();
          if (text[i] === ",") {
            i++;
            continue;
          }
          if (text[i] === "]") {
            i++;
            return arr;
          }
          fail("expected ',' or ']'");
        }
      }
      if (c === '"') return string();
      if (c === "t") return literal("true", true);
      if (c === "f") return literal("false", false);
      if (c === "n") return literal("null", null);
      NUMBER_RE.lastIndex = i;
      var m = NUMBER_RE.exec(text);
      if (!m) fail("unexpected character " + JSON.stringify(c));
      i += m[0].length;
      return new JNum(m[0]);
    }

    var result = value(0);
    ws();
    if (i !== n) fail("extra data after the JSON value");
    return result;
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof JNum);
  }

  function isNumber(v) {
    return v instanceof JNum || typeof v === "number";
  }

  // --- exact decimals ------------------------------------------------------------------------
  //
  // A decimal is {m: BigInt, e: Number, digits: String}: value = m * 10^e, normalised (no
  // trailing zeros in m; zero is m = 0n, e = 0, digits ""). Never expanded from its exponent,
  // so 1e-999999999 costs nothing.

  var DECIMAL_RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/;

  function makeDecimal(negative, digits, e) {
    digits = digits.replace(/^0+/, "");
    if (!digits) return { m: BigInt(0), e: 0, digits: "" };
    var stripped = digits.replace(/0+$/, "");
    e += digits.length - stripped.length;
    var m = BigInt(stripped);
    return { m: negative ? -m : m, e: e, digits: stripped };
  }

  /** Decimal literal text (JSON number or String(x) of a double) to an exact decimal, or null. */
  function parseDecimal(text) {
    var g = DECIMAL_RE.exec(text);
    if (!g || (!g[2] && !g[3])) return null;
    var frac = g[3] || "";
    var exp = g[4] ? Number(g[4]) : 0;
    if (!isFinite(exp)) return null;
    return makeDecimal(g[1] === "-", (g[2] || "") + frac, exp - frac.length);
  }

  /** A JSON number (JNum or double) as an exact decimal; a double is read from String(x) (2.6). */
  function asDecimal(v) {
    if (v instanceof JNum) return parseDecimal(v.text);
    if (typeof v === "number") return isFinite(v) ? parseDecimal(String(v)) : null;
    return null;
  }

  function isZero(d) {
    return d.digits === "";
  }

  /** Position of the most significant digit (Python's Decimal.adjusted()). */
  function adjusted(d) {
    return isZero(d) ? 0 : d.e + d.digits.length - 1;
  }

  function significantDigits(d) {
    return d.digits.length;
  }

  function fractionDigits(d) {
    return isZero(d) ? 0 : Math.max(0, -d.e);
  }

  function repeat(ch, count) {
    return count > 0 ? new Array(count + 1).join(ch) : "";
  }

  /** Canonical decimal string of proofs.md 2.6 (call only on decimals of sane magnitude). */
  function canonicalDecimal(d) {
    if (isZero(d)) return "0";
    var digits = d.digits, text;
    if (d.e >= 0) {
      text = digits + repeat("0", d.e);
    } else {
      var point = digits.length + d.e;
      text = point > 0 ? digits.slice(0, point) + "." + digits.slice(point)
        : "0." + repeat("0", -point) + digits;
    }
    return (d.m < BigInt(0) ? "-" : "") + text;
  }

  function decimalText(d) {
    if (d === null) return "null";
    return adjusted(d) > -40 && adjusted(d) < 40 ? canonicalDecimal(d) : (d.m.toString() + "e" + d.e);
  }

  function decimalFromBig(m, e) {
    var negative = m < BigInt(0);
    return makeDecimal(negative, (negative ? -m : m).toString(), e);
  }

  /** Exact a + sign * b, or null when the exact result needs more than 80 significant digits. */
  function addDecimals(a, b, sign) {
    if (isZero(b)) return a;
    var mb = sign < 0 ? -b.m : b.m;
    if (isZero(a)) return decimalFromBig(mb, b.e);
    var gap = Math.abs(a.e - b.e) + Math.abs(adjusted(a) - adjusted(b));
    if (gap > 4 * EXACT_DIGITS) return null;
    var e = Math.min(a.e, b.e);
    var ten = BigInt(10);
    var sum = a.m * (ten ** BigInt(a.e - e)) + mb * (ten ** BigInt(b.e - e));
    var result = decimalFromBig(sum, e);
    return significantDigits(result) > EXACT_DIGITS ? null : result;
  }

  function sameDecimal(a, b) {
    return a !== null && b !== null && a.m === b.m && a.e === b.e;
  }

  /** The first rule of proofs.md 2.6 a delta amount breaks, as a sentence; null when valid. */
  function deltaAmountProblem(d) {
    if (d === null) return "delta must be a finite number";
    if (isZero(d)) return "delta must be non-zero";
    var limit = makeDecimal(false, "1", 9);
    var magnitude = { m: d.m < BigInt(0) ? -d.m : d.m, e: d.e, digits: d.digits };
    var over = addDecimals(magnitude, limit, -1);
    if (adjusted(d) > 9 || (over !== null && !isZero(over) && over.m > BigInt(0))) {
      return "delta must satisfy |delta| <= 1000000000";
    }
    var sig = significantDigits(d);
    if (sig > 15) return "delta has " + sig + " significant digits; at most 15 are allowed";
    var frac = fractionDigits(d);
    if (frac > 18) return "delta has " + frac + " digits after the point; at most 18 are allowed";
    return null;
  }

  /** A JSON integer (integral number of any spelling), as a JS number, else null. */
  function asInt(v) {
    if (typeof v === "number") return isFinite(v) && Math.floor(v) === v ? v : null;
    if (!(v instanceof JNum)) return null;
    var d = parseDecimal(v.text);
    if (d === null) return null;
    if (isZero(d)) return 0;
    if (adjusted(d) >= 20 || d.e < 0) return null;
    return Number(d.m * (BigInt(10) ** BigInt(d.e)));
  }

  // --- canonical JSON (RFC 8785) -------------------------------------------------------------

  /**
   * Parsed JSON to what JCS hashes (the reference's metadata_to_json_value): an integer literal
   * (exponent 0 once parsed as a decimal) must lie within +-(2^53-1); any other number is the
   * nearest double and must be finite.
   */
  function toJcsValue(v, path) {
    if (v === null || typeof v === "boolean" || typeof v === "string") return v;
    if (v instanceof JNum) {
      var g = DECIMAL_RE.exec(v.text);
      var frac = g[3] || "", exp = g[4] ? Number(g[4]) : 0;
      if (exp - frac.length === 0) {
        var big = BigInt(g[1] + ((g[2] || "") + frac).replace(/^0+(?=.)/, ""));
        var bound = BigInt(MAX_SAFE);
        if (big > bound || big < -bound) throw new Error(path + ": integer " + v.text + " is outside +-(2^53-1)");
        return Number(big);
      }
      var x = Number(v.text);
      if (!isFinite(x)) throw new Error(path + ": number " + v.text + " overflows a double");
      return x;
    }
    if (typeof v === "number") {
      if (!isFinite(v)) throw new Error(path + ": number must be finite");
      if (Math.floor(v) === v && Math.abs(v) > MAX_SAFE) throw new Error(path + ": integer is outside +-(2^53-1)");
      return v;
    }
    if (Array.isArray(v)) {
      return v.map(function (item, i) { return toJcsValue(item, path + "[" + i + "]"); });
    }
    if (isObject(v)) {
      var out = {};
      Object.keys(v).forEach(function (key) { setMember(out, key, toJcsValue(v[key], path + "." + key)); });
      return out;
    }
    throw new Error(path + ": " + typeof v + " is not a JSON value");
  }

  function jcsString(s) {
    var out = '"';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += "\\\\";
      else if (c < 0x20) {
        if (c === 0x08) out += "\\b";
        else if (c === 0x09) out += "\\t";
        else if (c === 0x0a) out += "\\n";
        else if (c === 0x0c) out += "\\f";
        else if (c === 0x0d) out += "\\r";
        else out += "\\u00" + HEX[c >> 4] + HEX[c & 15];
      } else {
        if (c >= 0xd800 && c <= 0xdbff) {
          var d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
          if (d < 0xdc00 || d > 0xdfff) throw new Error("string contains a lone surrogate");
          out += s[i] + s[i + 1];
          i++;
          continue;
        }
        if (c >= 0xdc00 && c <= 0xdfff) throw new Error("string contains a lone surrogate");
        out += s[i];
      }
    }
    return out + '"';
  }

  function compareUtf16(a, b) {
    return a < b ? -1 : a > b ? 1 : 0; // JS string order is UTF-16 code unit order
  }

  /** RFC 8785 text of a value already mapped by toJcsValue (numbers are doubles). */
  function jcsText(v) {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "string") return jcsString(v);
    if (typeof v === "number") {
      if (!isFinite(v)) throw new Error("NaN and Infinity are not JSON");
      return Object.is(v, -0) ? "0" : String(v);
    }
    if (v instanceof JNum) return jcsText(toJcsValue(v, "value"));
    if (Array.isArray(v)) return "[" + v.map(jcsText).join(",") + "]";
    if (isObject(v)) {
      var keys = Object.keys(v).sort(compareUtf16);
      return "{" + keys.map(function (k) { return jcsString(k) + ":" + jcsText(v[k]); }).join(",") + "}";
    }
    throw new Error(typeof v + " is not a JSON value");
  }

  /** JCS(v) as UTF-8 bytes. */
  function jcs(v) {
    return utf8(jcsText(toJcsValue(v, "value")));
  }

  // --- hashed objects (proofs.md 3) ----------------------------------------------------------

  function labelledPreimage(label, payload) {
    return concatBytes([ascii(label), new Uint8Array([0]), payload]);
  }

  function labelledHash(label, payload) {
    return keccak256(labelledPreimage(label, payload));
  }

  function ledgerId(env, keyPublicPart) {
    return toHex(labelledHash(LABELS.ledger, utf8(env + ":" + keyPublicPart)));
  }

  function metadataDigest(metadata) {
    return toHex(keccak256(jcs(metadata)));
  }

  /** D of proofs.md 3.1; delta is the canonical decimal string; optional members omitted. */
  function deltaPreimage(customerId, delta, reason, referenceId, sequence, recordedAt, adjusts, digest) {
    if (typeof delta !== "string") throw new Error("delta enters D as its canonical decimal string");
    var d = { customerId: customerId, delta: delta, reason: reason, sequence: sequence, recordedAt: recordedAt };
    if (referenceId !== null && referenceId !== undefined) d.referenceId = referenceId;
    if (adjusts !== null && adjusts !== undefined) d.adjusts = adjusts;
    if (digest !== null && digest !== undefined) d.metadataDigest = digest;
    return d;
  }

  function fingerprint(d) {
    return toHex(labelledHash(LABELS.delta, jcs(d)));
  }

  function batchProofHash(b) {
    return toHex(labelledHash(LABELS.batch, jcs(b)));
  }

  function proofRoot(c) {
    return toHex(labelledHash(LABELS.checkpoint, jcs(c)));
  }

  function anchorReference(rootHex) {
    return toHex(labelledHash(LABELS.anchor, fromHex(rootHex)));
  }

  // --- timestamps (proofs.md 2.7) ------------------------------------------------------------

  var RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

  function daysInMonth(year, month) {
    var leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  }

  function daysFromCivil(year, month, day) {
    var y = month <= 2 ? year - 1 : year;
    var era = Math.floor((y >= 0 ? y : y - 399) / 400);
    var yoe = y - era * 400;
    var mp = month > 2 ? month - 3 : month + 9;
    var doy = Math.floor((153 * mp + 2) / 5) + day - 1;
    var doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
    return era * 146097 + doe - 719468;
  }

  function civilFromDays(days) {
    var z = days + 719468;
    var era = Math.floor((z >= 0 ? z : z - 146096) / 146097);
    var doe = z - era * 146097;
    var yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
    var y = yoe + era * 400;
    var doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    var mp = Math.floor((5 * doy + 2) / 153);
    var d = doy - Math.floor((153 * mp + 2) / 5) + 1;
    var m = mp < 10 ? mp + 3 : mp - 9;
    return [m <= 2 ? y + 1 : y, m, d];
  }

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  /** Milliseconds since the epoch to YYYY-MM-DDTHH:MM:SS.mmmZ. */
  function formatTs(ms) {
    var days = Math.floor(ms / 86400000), rem = ms - days * 86400000;
    var ymd = civilFromDays(days);
    var seconds = Math.floor(rem / 1000), millis = rem - seconds * 1000;
    return pad(ymd[0], 4) + "-" + pad(ymd[1], 2) + "-" + pad(ymd[2], 2) + "T" + pad(Math.floor(seconds / 3600), 2) +
      ":" + pad(Math.floor(seconds / 60) % 60, 2) + ":" + pad(seconds % 60, 2) + "." + pad(millis, 3) + "Z";
  }

  /** RFC 3339 date-time with a zone to UTC milliseconds (truncated), or null. */
  function parseRfc3339(text) {
    var g = typeof text === "string" ? RFC3339_RE.exec(text) : null;
    if (!g) return null;
    var year = +g[1], month = +g[2], day = +g[3], hour = +g[4], minute = +g[5], second = +g[6];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
    if (hour > 23 || minute > 59 || second > 59) return null;
    var millis = g[7] ? Number((g[7].slice(1) + "00").slice(0, 3)) : 0;
    var offset = 0, zone = g[8];
    if (zone !== "Z" && zone !== "z") {
      var oh = +zone.slice(1, 3), om = +zone.slice(4, 6);
      if (oh > 23 || om > 59) return null;
      offset = (oh * 60 + om) * (zone[0] === "+" ? 1 : -1);
    }
    var seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return (seconds - offset * 60) * 1000 + millis;
  }

  /** Milliseconds of a canonical timestamp, else null. */
  function canonicalTs(value) {
    var ms = parseRfc3339(value);
    return ms !== null && formatTs(ms) === value ? ms : null;
  }

  var PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

  /** "2026-02" -> ["2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"], or null. */
  function periodWindow(period) {
    var g = typeof period === "string" ? PERIOD_RE.exec(period) : null;
    if (!g) return null;
    var year = +g[1], month = +g[2];
    var next = month === 12 ? [year + 1, 1] : [year, month + 1];
    return [formatTs(daysFromCivil(year, month, 1) * 86400000), formatTs(daysFromCivil(next[0], next[1], 1) * 86400000)];
  }

  // --- the Merkle tree (proofs.md 4, RFC 9162) -----------------------------------------------

  var LEAF = new Uint8Array([0]);
  var NODE = new Uint8Array([1]);

  function largestPowerOfTwoBelow(n) {
    var k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  /** MTH over raw leaf data (32-byte fingerprints), in the given order. */
  function mth(leaves, hashFn) {
    var h = hashFn || keccak256;
    if (leaves.length === 0) return h(new Uint8Array(0));
    var hashes = leaves.map(function (d) { return h(concatBytes([LEAF, d])); });
    function sub(start, end) {
      if (end - start === 1) return hashes[start];
      var k = largestPowerOfTwoBelow(end - start);
      return h(concatBytes([NODE, sub(start, start + k), sub(start + k, end)]));
    }
    return sub(0, hashes.length);
  }

  function mthHex(fingerprints) {
    return toHex(mth(fingerprints.map(fromHex)));
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function isSafeInt(v) {
    return typeof v === "number" && Math.floor(v) === v && Math.abs(v) <= MAX_SAFE;
  }

  function half(v) {
    return Math.floor(v / 2);
  }

  /** proofs.md 4.3 step for step (arithmetic, not 32-bit bit operations). */
  function verifyInclusion(leafIndex, treeSize, leaf, proof, root, hashFn) {
    var h = hashFn || keccak256;
    if (!isSafeInt(leafIndex) || !isSafeInt(treeSize) || !(leaf instanceof Uint8Array)) return false;
    if (!Array.isArray(proof) || !(root instanceof Uint8Array) || root.length !== 32) return false;
    for (var i = 0; i < proof.length; i++) if (!(proof[i] instanceof Uint8Array) || proof[i].length !== 32) return false;
    if (!(0 <= leafIndex && leafIndex < treeSize)) return false;
    var fn = leafIndex, sn = treeSize - 1, r = h(concatBytes([LEAF, leaf]));
    for (var j = 0; j < proof.length; j++) {
      var p = proof[j];
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = h(concatBytes([NODE, p, r]));
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        r = h(concatBytes([NODE, r, p]));
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && sameBytes(r, root);
  }

  /** proofs.md 4.4 step for step. */
  function verifyConsistency(first, second, firstRoot, secondRoot, proof, hashFn) {
    var h = hashFn || keccak256;
    if (!isSafeInt(first) || !isSafeInt(second) || !Array.isArray(proof)) return false;
    var all = proof.concat([firstRoot, secondRoot]);
    for (var i = 0; i < all.length; i++) if (!(all[i] instanceof Uint8Array) || all[i].length !== 32) return false;
    if (!(0 <= first && first <= second)) return false;
    if (first === second) return proof.length === 0 && sameBytes(firstRoot, secondRoot);
    if (first === 0) return proof.length === 0 && sameBytes(firstRoot, h(new Uint8Array(0)));
    if (proof.length === 0) return false;
    var path = proof.slice();
    var pow2 = 1;
    while (pow2 < first) pow2 *= 2;
    if (pow2 === first) path.unshift(firstRoot);
    var fn = first - 1, sn = second - 1;
    while (fn % 2 === 1) {
      fn = half(fn);
      sn = half(sn);
    }
    var fr = path[0], sr = path[0];
    for (var j = 1; j < path.length; j++) {
      var c = path[j];
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        fr = h(concatBytes([NODE, c, fr]));
        sr = h(concatBytes([NODE, c, sr]));
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        sr = h(concatBytes([NODE, sr, c]));
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sameBytes(fr, firstRoot) && sameBytes(sr, secondRoot) && sn === 0;
  }

  var EMPTY_ROOT_HEX = toHex(keccak256(new Uint8Array(0)));

  // --- report --------------------------------------------------------------------------------

  function Report() {
    this.ok = true;
    this.failed = [];
    this.checks = {};
    this.messages = [];
    this.kind = null;
    this.partial = false;
    this.lineCount = 0;
    this.page = null;
  }
  Report.prototype.record = function (name, passed, message) {
    this.checks[name] = (has(this.checks, name) ? this.checks[name] : true) && !!passed;
    if (!passed) {
      this.ok = false;
      if (this.failed.indexOf(name) < 0) this.failed.push(name);
      if (message) this.messages.push("[" + name + "] " + message);
    }
    return !!passed;
  };
  Report.prototype.fail = function (name, message) {
    return this.record(name, false, message);
  };
  Report.prototype.passed = function (name) {
    return this.record(name, true);
  };
  Report.prototype.run = function (name, problems) {
    if (!problems.length) return this.passed(name);
    for (var i = 0; i < problems.length; i++) this.fail(name, problems[i]);
    return false;
  };
  Report.prototype.toJSON = function () {
    return { ok: this.ok, kind: this.kind, partial: this.partial, failed: this.failed, checks: this.checks,
      messages: this.messages, lineCount: this.lineCount, page: this.page };
  };

  function describe(v) {
    if (v === undefined) return "absent";
    if (v instanceof JNum) return v.text;
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  function same(a, b) {
    if (a === undefined) a = null;
    if (b === undefined) b = null;
    if (isNumber(a) && isNumber(b)) return sameDecimal(asDecimal(a), asDecimal(b));
    if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    var ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (var i = 0; i < ka.length; i++) if (!has(b, ka[i]) || !same(a[ka[i]], b[ka[i]])) return false;
    return true;
  }

  function hashProblem(name, value) {
    return isHash(value) ? null : name + " must be 0x + 64 lowercase hex digits, found " + describe(value);
  }

  // --- loading -------------------------------------------------------------------------------

  function containsNonFinite(v) {
    var stack = [v];
    while (stack.length) {
      var node = stack.pop();
      if (typeof node === "number" && !isFinite(node)) return true;
      if (Array.isArray(node)) stack.push.apply(stack, node);
      else if (isObject(node)) Object.keys(node).forEach(function (k) { stack.push(node[k]); });
    }
    return false;
  }

  /** Parse (text) or take (object) the data; check [json]; strip the success envelope. */
  function load(source, report) {
    var value = source;
    if (typeof source === "string") {
      try {
        value = parseJSONExact(source, 64);
      } catch (e) {
        report.fail("json", "the data is not acceptable JSON: " + e.message);
        return null;
      }
    } else if (containsNonFinite(source)) {
      report.fail("json", "the data holds NaN or Infinity, which are not JSON");
      return null;
    }
    report.passed("json");
    if (isObject(value) && has(value, "success") && isObject(get(value, "data"))) value = value.data;
    if (!isObject(value)) {
      report.fail("shape", "the data is not a JSON object");
      return null;
    }
    return value;
  }

  // --- checkpoint C --------------------------------------------------------------------------

  /** Why C is not well formed (proofs.md 3.4, 6.1 step 2); empty when it is. */
  function checkpointProblems(c) {
    if (!isObject(c)) return ["the checkpoint is not a JSON object"];
    var problems = [];
    var missing = CHECKPOINT_REQUIRED.filter(function (k) { return !has(c, k); });
    var extra = Object.keys(c).filter(function (k) {
      return CHECKPOINT_REQUIRED.indexOf(k) < 0 && CHECKPOINT_OPTIONAL.indexOf(k) < 0;
    }).sort();
    if (missing.length) problems.push("checkpoint lacks " + missing.join(", "));
    if (extra.length) problems.push("checkpoint has members outside proofs.md 3.4: " + extra.join(", "));
    ["ledgerId", "itemsRoot", "previousProofRoot"].forEach(function (k) {
      var p = has(c, k) ? hashProblem("checkpoint." + k, c[k]) : null;
      if (p) problems.push(p);
    });
    if (has(c, "chainId")) {
      var chain = asInt(c.chainId);
      if (chain !== 295 && chain !== 296) problems.push("checkpoint.chainId must be 295 or 296, found " + describe(c.chainId));
    }
    if (has(c, "customerId") && typeof c.customerId !== "string") problems.push("checkpoint.customerId must be a string");
    var start = canonicalTs(get(c, "startDate")), end = canonicalTs(get(c, "endDate"));
    if (has(c, "startDate") && start === null) problems.push("checkpoint.startDate must be a canonical timestamp, found " + describe(c.startDate));
    if (has(c, "endDate") && end === null) problems.push("checkpoint.endDate must be a canonical timestamp, found " + describe(c.endDate));
    if (start !== null && end !== null && !(start < end)) problems.push("checkpoint.startDate must be before checkpoint.endDate");
    if (has(c, "period")) {
      var w = periodWindow(c.period);
      if (w === null) problems.push("checkpoint.period must be YYYY-MM, found " + describe(c.period));
      else if (get(c, "startDate") !== w[0] || get(c, "endDate") !== w[1]) {
        problems.push("checkpoint.period " + c.period + " requires the window " + w[0] + " .. " + w[1]);
      }
    }
    var size = asInt(get(c, "treeSize"));
    if (has(c, "treeSize") && (size === null || size < 0 || size > MAX_SAFE)) {
      problems.push("checkpoint.treeSize must be an integer >= 0, found " + describe(c.treeSize));
    }
    var present = ["fromSequence", "toSequence"].filter(function (k) { return has(c, k); });
    if (size !== null && size > 0 && present.length !== 2) problems.push("checkpoint.fromSequence and toSequence are required when treeSize > 0");
    if (size === 0 && present.length) problems.push("an empty checkpoint has no fromSequence / toSequence");
    var first = asInt(get(c, "fromSequence")), last = asInt(get(c, "toSequence"));
    [["fromSequence", first], ["toSequence", last]].forEach(function (pair) {
      if (has(c, pair[0]) && (pair[1] === null || pair[1] < 1 || pair[1] > MAX_SAFE)) {
        problems.push("checkpoint." + pair[0] + " must be an integer >= 1, found " + describe(c[pair[0]]));
      }
    });
    if (first !== null && last !== null && size !== null && last - first + 1 < size) {
      problems.push("checkpoint sequences " + first + ".." + last + " cannot hold " + size + " deltas");
    }
    var net = get(c, "netChange");
    if (has(c, "netChange") && !(typeof net === "string" && CANONICAL_DECIMAL_RE.test(net))) {
      problems.push("checkpoint.netChange must be a canonical decimal string, found " + describe(net));
    }
    if (size === 0) {
      if (get(c, "itemsRoot") !== EMPTY_ROOT_HEX) problems.push("an empty checkpoint's itemsRoot must be H(\"\") = " + EMPTY_ROOT_HEX);
      if (net !== "0") problems.push("an empty checkpoint's netChange must be \"0\", found " + describe(net));
    }
    return problems;
  }

  /** [recomputed root, null] or [null, why it cannot be computed]. */
  function objectRoot(obj, label, what) {
    try {
      return [toHex(labelledHash(label, jcs(obj))), null];
    } catch (e) {
      return [null, "the " + what + " cannot be serialised canonically: " + e.message];
    }
  }

  // --- batch B -------------------------------------------------------------------------------

  function batchProblems(b) {
    if (!isObject(b)) return ["the batch is not a JSON object"];
    var problems = [];
    var missing = BATCH_MEMBERS.filter(function (k) { return !has(b, k); });
    var extra = Object.keys(b).filter(function (k) { return BATCH_MEMBERS.indexOf(k) < 0; }).sort();
    if (missing.length) problems.push("batch lacks " + missing.join(", "));
    if (extra.length) problems.push("batch has members outside proofs.md 3.3: " + extra.join(", "));
    ["ledgerId", "itemsRoot", "previousProofHash"].forEach(function (k) {
      var p = has(b, k) ? hashProblem("batch." + k, b[k]) : null;
      if (p) problems.push(p);
    });
    ["batchSequence", "itemCount"].forEach(function (k) {
      var v = asInt(get(b, k));
      if (has(b, k) && (v === null || v < 1 || v > MAX_SAFE)) problems.push("batch." + k + " must be an integer >= 1, found " + describe(b[k]));
    });
    if (asInt(get(b, "batchSequence")) === 1 && has(b, "previousProofHash") && b.previousProofHash !== ZERO_HASH) {
      problems.push("a ledger's first batch must have the zero previousProofHash");
    }
    return problems;
  }

  // --- delta lines ---------------------------------------------------------------------------

  /**
   * Rebuild D (proofs.md 3.1) from a receipt line or a verify record; null counts as absent.
   * names: {amount: "delta" | "amount", decimal: "deltaDecimal" | "amountDecimal"}.
   */
  function rebuildDelta(fields, customerId, where, names) {
    names = names || { amount: "delta", decimal: "deltaDecimal" };
    var out = { preimage: null, fingerprint: null, amount: null, recordedAtMs: null, sequence: null, problems: [] };
    var problems = out.problems;
    if (!isObject(fields)) {
      problems.push(where + " is not a JSON object");
      return out;
    }
    var lineCustomer = get(fields, "customerId");
    if (lineCustomer !== null && typeof lineCustomer !== "string") {
      problems.push(where + ".customerId must be a string");
      lineCustomer = null;
    }
    if (lineCustomer !== null && customerId !== null && lineCustomer !== customerId) {
      problems.push(where + ".customerId is " + describe(lineCustomer) + ", the receipt's is " + describe(customerId));
    }
    var customer = lineCustomer !== null ? lineCustomer : customerId;
    if (customer === null) problems.push(where + " has no customerId");

    var amount = lineAmount(fields, where, names, problems);
    out.amount = amount.value;

    var reason = get(fields, "reason");
    if (typeof reason !== "string") problems.push(where + ".reason must be a string, found " + describe(reason));
    var referenceId = get(fields, "referenceId");
    if (referenceId !== null && typeof referenceId !== "string") problems.push(where + ".referenceId must be a string or absent");
    var sequence = asInt(get(fields, "sequence"));
    if (sequence === null || sequence < 1 || sequence > MAX_SAFE) {
      problems.push(where + ".sequence must be an integer >= 1, found " + describe(get(fields, "sequence")));
      sequence = null;
    }
    out.sequence = sequence;
    var recordedAt = get(fields, "recordedAt");
    out.recordedAtMs = parseRfc3339(recordedAt);
    if (canonicalTs(recordedAt) === null) problems.push(where + ".recordedAt must be a canonical timestamp, found " + describe(recordedAt));
    var adjusts = get(fields, "adjusts");
    var adjustsOk = adjusts === null || (isObject(adjusts) && Object.keys(adjusts).length === 1 &&
      (has(adjusts, "referenceId") || has(adjusts, "recordId")) &&
      typeof adjusts[Object.keys(adjusts)[0]] === "string");
    if (!adjustsOk) problems.push(where + ".adjusts must be {\"referenceId\": ...} or {\"recordId\": ...}, found " + describe(adjusts));
    var digest = lineMetadataDigest(fields, where, problems);

    if (customer !== null && amount.canonical !== null && typeof reason === "string" && sequence &&
        typeof recordedAt === "string" && adjustsOk && digest.ok &&
        (referenceId === null || typeof referenceId === "string")) {
      try {
        out.preimage = deltaPreimage(customer, amount.canonical, reason, referenceId, sequence, recordedAt,
          adjusts, digest.value);
        out.fingerprint = fingerprint(out.preimage);
      } catch (e) {
        problems.push(where + " cannot be serialised canonically: " + e.message);
        out.preimage = out.fingerprint = null;
      }
    }
    return out;
  }

  function lineAmount(fields, where, names, problems) {
    var raw = get(fields, names.amount);
    var decimalText = get(fields, names.decimal);
    var amount;
    if (raw === null && names.amount === "amount" && typeof decimalText === "string") {
      // a verify record with only amountDecimal: the exact string itself
      amount = CANONICAL_DECIMAL_RE.test(decimalText) ? parseDecimal(decimalText) : null;
      if (amount === null) {
        problems.push(where + "." + names.decimal + " must be a canonical decimal string, found " + describe(decimalText));
        return { value: null, canonical: null };
      }
    } else {
      if (!isNumber(raw)) {
        problems.push(where + "." + names.amount + " must be a JSON number, found " + describe(raw));
        return { value: null, canonical: null };
      }
      amount = asDecimal(raw);
      if (amount === null) {
        problems.push(where + "." + names.amount + " must be a finite number");
        return { value: null, canonical: null };
      }
    }
    if (!isZero(amount) && !(adjusted(amount) > -40 && adjusted(amount) < 40)) {
      problems.push(where + "." + names.amount + " " + describe(raw) + " is far outside the allowed amounts");
      return { value: null, canonical: null };
    }
    var canonical = canonicalDecimal(amount);
    var problem = deltaAmountProblem(amount);
    if (problem) problems.push(where + ": " + problem);
    if (has(fields, names.decimal) && fields[names.decimal] !== canonical) {
      problems.push(where + "." + names.decimal + " is " + describe(fields[names.decimal]) +
        ", the canonical form of " + names.amount + " is " + JSON.stringify(canonical));
    }
    return { value: amount, canonical: canonical };
  }

  function lineMetadataDigest(fields, where, problems) {
    var metadata = get(fields, "metadata"), given = get(fields, "metadataDigest");
    if (given !== null && !isHash(given)) {
      problems.push(where + ".metadataDigest must be 0x + 64 lowercase hex digits, found " + describe(given));
      return { value: null, ok: false };
    }
    if (metadata === null) return { value: given, ok: true };
    if (!isObject(metadata)) {
      problems.push(where + ".metadata must be a JSON object");
      return { value: null, ok: false };
    }
    var digest;
    try {
      digest = metadataDigest(metadata);
    } catch (e) {
      problems.push(where + ".metadata cannot be hashed: " + e.message);
      return { value: null, ok: false };
    }
    if (given !== null && given !== digest) {
      problems.push(where + ".metadataDigest is " + given + ", H(JCS(metadata)) is " + digest);
      return { value: null, ok: false };
    }
    return { value: digest, ok: true };
  }

  // --- shared line checks --------------------------------------------------------------------

  function checkLineFingerprints(lines, rebuilt, where, report) {
    var problems = [];
    rebuilt.forEach(function (r, i) {
      var line = lines[i];
      if (r.fingerprint === null) {
        problems.push(where + "[" + i + "]: its fingerprint cannot be recomputed");
        return;
      }
      if (!isObject(line) || !has(line, "fingerprint")) problems.push(where + "[" + i + "] has no fingerprint");
      ["fingerprint", "itemHash", "contentHash"].forEach(function (name) {
        if (isObject(line) && has(line, name) && line[name] !== r.fingerprint) {
          problems.push(where + "[" + i + "]." + name + " is " + describe(line[name]) + ", the recomputed fingerprint is " + r.fingerprint);
        }
      });
    });
    report.run("deltas.fingerprints", problems);
  }

  /** Each line's merkleProof (when lines carry one) from its recomputed fingerprint to C.itemsRoot. */
  function checkLineInclusion(lines, rebuilt, c, offset, where, report) {
    var withProof = lines.filter(function (line) { return isObject(line) && has(line, "merkleProof"); });
    if (!withProof.length) return;
    var problems = [], size = asInt(get(c, "treeSize"));
    var root = isHash(get(c, "itemsRoot")) ? fromHex(c.itemsRoot) : null;
    lines.forEach(function (line, i) {
      var name = where + "[" + i + "]";
      if (!isObject(line) || !has(line, "merkleProof")) {
        problems.push(name + " has no merkleProof");
        return;
      }
      var proof = line.merkleProof, index = asInt(get(line, "leafIndex"));
      if (!Array.isArray(proof) || proof.length > MAX_INCLUSION_PROOF || !proof.every(isHash)) {
        problems.push(name + ".merkleProof must be an array of at most 64 hashes in 0x + 64 lowercase hex form");
        return;
      }
      if (index !== offset + i) {
        problems.push(name + ".leafIndex is " + describe(get(line, "leafIndex")) + ", its position is " + (offset + i));
        return;
      }
      if (rebuilt[i].fingerprint === null || root === null || size === null) {
        problems.push(name + ": the inclusion proof cannot be checked");
        return;
      }
      if (!verifyInclusion(index, size, fromHex(rebuilt[i].fingerprint), proof.map(fromHex), root)) {
        problems.push(name + ": the Merkle path does not lead from its recomputed fingerprint (leaf " + index +
          " of " + size + ") to checkpoint.itemsRoot");
      }
    });
    report.run("deltas.inclusion", problems);
  }

  function checkWindow(c, rebuilt, where, report) {
    var start = canonicalTs(get(c, "startDate")), end = canonicalTs(get(c, "endDate"));
    if (start === null || end === null) {
      if (rebuilt.length) report.fail("deltas.window", "the checkpoint window is not made of canonical timestamps");
      else report.passed("deltas.window");
      return;
    }
    var problems = [];
    rebuilt.forEach(function (r, i) {
      if (r.recordedAtMs === null) problems.push(where + "[" + i + "].recordedAt cannot be placed in the window");
      else if (!(start <= r.recordedAtMs && r.recordedAtMs < end)) {
        problems.push(where + "[" + i + "].recordedAt " + formatTs(r.recordedAtMs) + " is outside [" + c.startDate + ", " + c.endDate + ")");
      }
    });
    report.run("deltas.window", problems);
  }

  function checkStatus(lines, where, report) {
    var problems = [];
    lines.forEach(function (line, i) {
      var status = get(line, "status");
      if (isObject(line) && status !== null && status !== "VERIFIED") {
        problems.push(where + "[" + i + "].status is " + describe(status) + ", expected \"VERIFIED\"");
      }
    });
    report.run("deltas.status", problems);
  }

  function checkOrder(sequences, where, report) {
    var problems = [];
    for (var i = 1; i < sequences.length; i++) {
      var before = sequences[i - 1], here = sequences[i];
      if (before === null || here === null) problems.push(where + "[" + (i - 1) + ".." + i + "]: sequences are not integers");
      else if (here <= before) problems.push(where + "[" + i + "].sequence " + here + " does not follow " + before);
    }
    if (sequences.length === 1 && sequences[0] === null) problems.push(where + "[0].sequence is not an integer");
    report.run("deltas.order", problems);
  }

  /** counts: [[name, value], ...] that must all be equal; range: compare C's from/to with lines. */
  function checkCompleteness(counts, c, sequences, withRange, report) {
    var problems = [];
    var values = counts.map(function (pair) { return pair[1]; });
    if (values.some(function (v) { return v !== values[0]; })) {
      problems.push("counts differ: " + counts.map(function (p) { return p[0] + " = " + (p[1] === null ? "None" : p[1]); }).join(", "));
    }
    if (withRange) {
      var known = sequences.filter(function (s) { return s !== null; });
      if (known.length !== sequences.length) problems.push("some line sequences are not integers");
      else if (known.length) {
        var lo = Math.min.apply(null, known), hi = Math.max.apply(null, known);
        [["fromSequence", lo], ["toSequence", hi]].forEach(function (pair) {
          if (asInt(get(c, pair[0])) !== pair[1]) {
            problems.push("checkpoint." + pair[0] + " is " + describe(get(c, pair[0])) + ", the lines span " + lo + ".." + hi);
          }
        });
      }
    }
    report.run("completeness", problems);
  }

  function checkItemHashes(verification, fingerprints, report) {
    if (!has(verification, "itemHashes")) return;
    var given = verification.itemHashes;
    if (fingerprints.indexOf(null) >= 0) {
      report.fail("itemHashes", "some fingerprints cannot be recomputed");
    } else if (!Array.isArray(given) || given.length !== fingerprints.length) {
      report.fail("itemHashes", "verification.itemHashes lists " + (Array.isArray(given) ? given.length : "no") +
        " hashes for " + fingerprints.length + " lines");
    } else {
      report.run("itemHashes", given.map(function (g, i) {
        return g === fingerprints[i] ? null : "verification.itemHashes[" + i + "] is " + describe(g) +
          ", the recomputed fingerprint is " + fingerprints[i];
      }).filter(Boolean));
    }
  }

  /** claims: [[where, value], ...]; full: recompute the MTH, else only compare with the bound root. */
  function checkItemsRoot(claims, bound, fingerprints, full, report) {
    var root;
    if (full) {
      if (fingerprints.indexOf(null) >= 0) {
        report.fail("itemsRoot", "some fingerprints cannot be recomputed, so neither can the tree");
        return;
      }
      root = mthHex(fingerprints);
      claims.forEach(function (claim) {
        report.record("itemsRoot", claim[1] === root, claim[0] + " is " + describe(claim[1]) +
          ", the MTH of the recomputed fingerprints is " + root);
      });
    } else {
      claims.forEach(function (claim) {
        if (claim[0] === bound[0]) return;
        report.record("itemsRoot", claim[1] === bound[1], claim[0] + " is " + describe(claim[1]) + ", " + bound[0] + " is " + describe(bound[1]));
      });
    }
  }

  function sumAmounts(amounts) {
    if (amounts.indexOf(null) >= 0) return null;
    var total = makeDecimal(false, "", 0);
    for (var i = 0; i < amounts.length; i++) {
      total = addDecimals(total, amounts[i], 1);
      if (total === null) return null;
    }
    return total;
  }

  /**
   * netChange: C's netChange string (when given) and any stated net change number equal the exact
   * sum; balances: final - starting equals it.
   */
  function checkSums(total, netString, netNumbers, finalValue, startValue, report) {
    if (total === null) {
      report.fail("netChange", "the lines' amounts cannot be summed exactly");
      report.fail("balances", "the lines' amounts cannot be summed exactly");
      return;
    }
    if (netString !== undefined) {
      report.record("netChange", netString === canonicalDecimal(total),
        "checkpoint.netChange is " + describe(netString) + ", the lines sum to " + decimalText(total));
    }
    netNumbers.forEach(function (pair) {
      report.record("netChange", sameDecimal(asDecimal(pair[1]), total),
        pair[0] + " is " + describe(pair[1]) + ", the lines sum to " + decimalText(total));
    });
    if (finalValue === undefined) return;
    var fin = asDecimal(finalValue), start = asDecimal(startValue);
    if (fin === null || start === null) {
      report.fail("balances", "the final and starting balances must be numbers");
      return;
    }
    var change = addDecimals(fin, start, -1);
    if (change === null) {
      report.fail("balances", "final - starting balance cannot be computed exactly");
      return;
    }
    report.record("balances", sameDecimal(change, total),
      "final - starting balance is " + decimalText(change) + ", the lines sum to " + decimalText(total));
  }

  function checkAnchor(values, root, report) {
    values.forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined) return;
      if (root === null) {
        report.fail("anchor", pair[0] + " cannot be checked: the root cannot be recomputed");
        return;
      }
      var expected = anchorReference(root);
      report.record("anchor", pair[1] === expected, pair[0] + " is " + describe(pair[1]) + ", the anchor of " + root + " is " + expected);
    });
  }

  /** {offset, total, partial} from deltasPage / recordsPage. */
  function pageInfo(page, count) {
    var offset = 0, total = null, partial = false;
    if (isObject(page)) {
      var o = asInt(get(page, "offset"));
      if (o !== null && o > 0) {
        offset = o;
        partial = true;
      }
      total = asInt(get(page, "total"));
      if (get(page, "hasMore") === true) partial = true;
    }
    return { offset: offset, total: total, partial: partial, count: count };
  }

  function checkPage(info, noun, report) {
    if (!info.partial) return;
    report.partial = true;
    var total = info.total === null ? "more" : info.total;
    var held = info.count ? noun + " " + (info.offset + 1) + "-" + (info.offset + info.count) + " of " + total
      : "no " + noun + " (offset " + info.offset + ") of " + total;
    report.fail("page.complete", "incomplete page: this data holds " + held + "; completeness, the items root over all " + noun +
      ", the net change and the balances need every " + noun.replace(/s$/, "") + " (load the full data)");
  }

  // --- 6.1 receipt ---------------------------------------------------------------------------

  function verifyReceiptData(data, report, options) {
    report.kind = "receipt";
    var verification = get(data, "verification");
    var c = isObject(verification) ? get(verification, "checkpoint") : null;
    var missing = ["customerId", "deltas", "proofRoot", "itemsRoot", "finalBalance", "deltaCount"].filter(function (k) {
      return !has(data, k);
    });
    var shape = missing.length ? ["the receipt lacks " + missing.join(", ")] : [];
    if (has(data, "customerId") && typeof data.customerId !== "string") shape.push("customerId must be a string");
    if (has(data, "deltas") && !Array.isArray(data.deltas)) shape.push("deltas must be an array");
    if (!isObject(c)) shape.push("verification.checkpoint (the object C) is missing");
    if (!report.run("shape", shape)) return;
    var customerId = data.customerId, lines = data.deltas;
    report.lineCount = lines.length;
    var info = pageInfo(get(data, "deltasPage"), lines.length);
    report.page = info;

    var scheme = get(verification, "proofScheme");
    report.record("proofScheme", scheme === PROOF_SCHEME, "verification.proofScheme is " + describe(scheme) + ", expected " + JSON.stringify(PROOF_SCHEME));
    checkPage(info, "lines", report);

    checkCheckpointBinding(data, c, customerId, report);
    var rootResult = objectRoot(c, LABELS.checkpoint, "checkpoint");
    var root = rootResult[0];
    if (root === null) {
      report.fail("proofRoot", rootResult[1]);
    } else {
      var claims = [["proofRoot", get(data, "proofRoot")]];
      if (has(verification, "proofRoot")) claims.push(["verification.proofRoot", verification.proofRoot]);
      claims.forEach(function (claim) {
        report.record("proofRoot", claim[1] === root, claim[0] + " is " + describe(claim[1]) + ", H(checkpoint label || 00 || JCS(C)) is " + root);
      });
    }
    checkAnchor([["verification.verificationReference", get(verification, "verificationReference")],
      ["verificationReference", get(data, "verificationReference")]], root, report);
    if (options.ledgerId) {
      report.record("ledgerId", get(c, "ledgerId") === options.ledgerId,
        "checkpoint.ledgerId is " + describe(get(c, "ledgerId")) + ", this verifier's ledger is " + options.ledgerId);
    }

    var rebuilt = lines.map(function (line, i) { return rebuildDelta(line, customerId, "deltas[" + i + "]"); });
    report.run("deltas.wellFormed", [].concat.apply([], rebuilt.map(function (r) { return r.problems; })));
    checkLineFingerprints(lines, rebuilt, "deltas", report);
    checkLineInclusion(lines, rebuilt, c, info.offset, "deltas", report);
    checkWindow(c, rebuilt, "deltas", report);
    checkStatus(lines, "deltas", report);
    var sequences = rebuilt.map(function (r) { return r.sequence; });
    checkOrder(sequences, "deltas", report);
    var fingerprints = rebuilt.map(function (r) { return r.fingerprint; });
    if (!info.partial) {
      var counts = [["len(deltas)", lines.length], ["checkpoint.treeSize", asInt(get(c, "treeSize"))],
        ["deltaCount", asInt(get(data, "deltaCount"))]];
      if (has(data, "deltasCount")) counts.push(["deltasCount", asInt(data.deltasCount)]);
      checkCompleteness(counts, c, sequences, true, report);
    }
    checkItemHashes(verification, fingerprints, report);
    var rootClaims = [["checkpoint.itemsRoot", get(c, "itemsRoot")], ["itemsRoot", get(data, "itemsRoot")]];
    if (has(verification, "itemsRoot")) rootClaims.push(["verification.itemsRoot", verification.itemsRoot]);
    checkItemsRoot(rootClaims, rootClaims[0], fingerprints, !info.partial, report);
    if (!info.partial) {
      var nets = get(data, "netChange") !== null ? [["netChange", data.netChange]] : [];
      checkSums(sumAmounts(rebuilt.map(function (r) { return r.amount; })), get(c, "netChange"), nets,
        get(data, "finalBalance"), has(data, "startingBalance") ? data.startingBalance : new JNum("0"), report);
    }
  }

  /** checkpoint.customerId, checkpoint.period, checkpoint.window (the data's own statements about C). */
  function checkCheckpointBinding(data, c, customerId, report) {
    report.run("checkpoint.wellFormed", checkpointProblems(c));
    report.record("checkpoint.customerId", get(c, "customerId") === customerId,
      "checkpoint.customerId is " + describe(get(c, "customerId")) + ", the data's customerId is " + describe(customerId));
    if (get(data, "period") !== null) {
      report.record("checkpoint.period", data.period === get(c, "period"),
        "the data's period is " + describe(data.period) + ", checkpoint.period is " + describe(get(c, "period")));
    }
    ["startDate", "endDate"].forEach(function (name) {
      if (get(data, name) !== null) {
        report.record("checkpoint.window", data[name] === get(c, name),
          "the data's " + name + " is " + describe(data[name]) + ", checkpoint." + name + " is " + describe(get(c, name)));
      }
    });
  }

  // --- verify data (balance-api.md 5.19) -----------------------------------------------------

  var RECORD_NAMES = { amount: "amount", decimal: "amountDecimal" };

  function verifyCheckpointData(data, report, options) {
    report.kind = "checkpoint";
    var verification = get(data, "verification");
    var c = isObject(verification) ? get(verification, "checkpoint") : null;
    var shape = [];
    if (typeof get(data, "customerId") !== "string") shape.push("customerId must be a string");
    if (!Array.isArray(get(data, "records"))) shape.push("records must be an array");
    if (!isObject(c)) shape.push("verification.checkpoint (the object C) is missing");
    var summary = get(data, "summary");
    if (summary !== null && !isObject(summary)) shape.push("summary must be an object");
    if (!report.run("shape", shape)) return;
    var customerId = data.customerId, records = data.records;
    report.lineCount = records.length;
    var info = pageInfo(get(data, "recordsPage"), records.length);
    report.page = info;

    var scheme = get(verification, "proofScheme");
    report.record("proofScheme", scheme === PROOF_SCHEME, "verification.proofScheme is " + describe(scheme) + ", expected " + JSON.stringify(PROOF_SCHEME));
    checkPage(info, "records", report);
    checkCheckpointBinding(data, c, customerId, report);
    if (get(verification, "chainId") !== null) {
      report.record("chainId", same(verification.chainId, get(c, "chainId")),
        "verification.chainId is " + describe(verification.chainId) + ", checkpoint.chainId is " + describe(get(c, "chainId")));
    }
    var rootResult = objectRoot(c, LABELS.checkpoint, "checkpoint");
    var root = rootResult[0];
    if (root === null) report.fail("proofRoot", rootResult[1]);
    else {
      report.record("proofRoot", get(data, "proofRoot") === root,
        "proofRoot is " + describe(get(data, "proofRoot")) + ", H(checkpoint label || 00 || JCS(C)) is " + root);
    }
    checkAnchor([["verification.verificationReference", get(verification, "verificationReference")],
      ["verification.reference", get(verification, "reference")]], root, report);
    if (options.ledgerId) {
      report.record("ledgerId", get(c, "ledgerId") === options.ledgerId,
        "checkpoint.ledgerId is " + describe(get(c, "ledgerId")) + ", this verifier's ledger is " + options.ledgerId);
    }

    var rebuilt = records.map(function (line, i) { return rebuildDelta(line, customerId, "records[" + i + "]", RECORD_NAMES); });
    report.run("deltas.wellFormed", [].concat.apply([], rebuilt.map(function (r) { return r.problems; })));
    checkLineFingerprints(records, rebuilt, "records", report);
    checkWindow(c, rebuilt, "records", report);
    checkStatus(records, "records", report);
    var sequences = rebuilt.map(function (r) { return r.sequence; });
    checkOrder(sequences, "records", report);
    var fingerprints = rebuilt.map(function (r) { return r.fingerprint; });
    if (!info.partial) {
      var counts = [["len(records)", records.length], ["checkpoint.treeSize", asInt(get(c, "treeSize"))]];
      if (summary !== null && has(summary, "recordCount")) counts.push(["summary.recordCount", asInt(summary.recordCount)]);
      checkCompleteness(counts, c, sequences, true, report);
    }
    checkItemHashes(verification, fingerprints, report);
    var claims = [["checkpoint.itemsRoot", get(c, "itemsRoot")]];
    if (has(verification, "itemsRoot")) claims.push(["verification.itemsRoot", verification.itemsRoot]);
    checkItemsRoot(claims, claims[0], fingerprints, !info.partial, report);
    if (!info.partial) verifySummarySums(rebuilt, get(c, "netChange"), summary, report);
  }

  function verifySummarySums(rebuilt, netString, summary, report) {
    var nets = summary !== null && get(summary, "netChange") !== null ? [["summary.netChange", summary.netChange]] : [];
    var hasBalances = summary !== null && has(summary, "endingBalance");
    checkSums(sumAmounts(rebuilt.map(function (r) { return r.amount; })), netString, nets,
      hasBalances ? summary.endingBalance : undefined,
      hasBalances && has(summary, "startingBalance") ? summary.startingBalance : new JNum("0"), report);
  }

  function verifyBatchData(data, report) {
    report.kind = "batch";
    var verification = get(data, "verification");
    var b = isObject(verification) ? get(verification, "batch") : null;
    var shape = [];
    if (!Array.isArray(get(data, "records"))) shape.push("records must be an array");
    if (!isObject(b)) shape.push("verification.batch (the object B) is missing");
    var summary = get(data, "summary");
    if (summary !== null && !isObject(summary)) shape.push("summary must be an object");
    if (!report.run("shape", shape)) return;
    var records = data.records;
    report.lineCount = records.length;
    var info = pageInfo(get(data, "recordsPage"), records.length);
    report.page = info;

    var scheme = get(verification, "proofScheme");
    report.record("proofScheme", scheme === PROOF_SCHEME, "verification.proofScheme is " + describe(scheme) + ", expected " + JSON.stringify(PROOF_SCHEME));
    checkPage(info, "records", report);
    report.run("batch.wellFormed", batchProblems(b));
    var rootResult = objectRoot(b, LABELS.batch, "batch");
    var root = rootResult[0];
    if (root === null) report.fail("proofHash", rootResult[1]);
    else {
      report.record("proofHash", get(data, "proofRoot") === root,
        "proofRoot is " + describe(get(data, "proofRoot")) + ", H(batch label || 00 || JCS(B)) is " + root);
    }
    checkAnchor([["verification.verificationReference", get(verification, "verificationReference")],
      ["verification.reference", get(verification, "reference")]], root, report);

    var rebuilt = records.map(function (line, i) { return rebuildDelta(line, null, "records[" + i + "]", RECORD_NAMES); });
    report.run("deltas.wellFormed", [].concat.apply([], rebuilt.map(function (r) { return r.problems; })));
    checkLineFingerprints(records, rebuilt, "records", report);
    var fingerprints = rebuilt.map(function (r) { return r.fingerprint; });
    if (!info.partial) {
      var counts = [["len(records)", records.length], ["batch.itemCount", asInt(get(b, "itemCount"))]];
      if (summary !== null && has(summary, "recordCount")) counts.push(["summary.recordCount", asInt(summary.recordCount)]);
      checkCompleteness(counts, b, [], false, report);
    }
    checkItemHashes(verification, fingerprints, report);
    var claims = [["batch.itemsRoot", get(b, "itemsRoot")]];
    if (has(verification, "itemsRoot")) claims.push(["verification.itemsRoot", verification.itemsRoot]);
    checkItemsRoot(claims, claims[0], fingerprints, !info.partial, report);
    if (!info.partial) verifySummarySums(rebuilt, undefined, summary, report);
  }

  // --- entry points --------------------------------------------------------------------------

  /**
   * Verify a data island: JSON text (preferred: numbers are read exactly from their source) or an
   * already-parsed object (numbers as doubles are read back through String(x), exact for deltas).
   * options.ledgerId: the verifier's own ledger, checked against C.ledgerId when given.
   */
  function verify(source, options) {
    options = options || {};
    var report = new Report();
    try {
      var data = load(source, report);
      if (data === null) return report;
      var kind = get(data, "kind");
      if (kind === "checkpoint" || (kind === null && has(data, "records") && !isObject(get(get(data, "verification"), "batch")))) {
        verifyCheckpointData(data, report, options);
      } else if (kind === "batch" || (kind === null && has(data, "records"))) {
        verifyBatchData(data, report);
      } else if (kind === null) {
        verifyReceiptData(data, report, options);
      } else {
        report.fail("shape", "unknown kind " + describe(kind));
      }
    } catch (e) {
      report.fail("shape", "unexpected input: " + (e && e.name) + ": " + (e && e.message));
    }
    return report;
  }

  /** The receipt checks of proofs.md 6.1 only (kind is not consulted). */
  function verifyReceipt(source, options) {
    options = options || {};
    var report = new Report();
    try {
      var data = load(source, report);
      if (data !== null) verifyReceiptData(data, report, options);
    } catch (e) {
      report.fail("shape", "unexpected input: " + (e && e.name) + ": " + (e && e.message));
    }
    return report;
  }

  /** One sentence for the page. */
  function summarize(report) {
    var what = report.kind === "batch" ? "the batch proof hash" : "the proof root";
    var noun = report.kind === "receipt" ? "line" : "record";
    var n = report.lineCount;
    if (report.ok) {
      return "Verification passed: " + n + " " + noun + (n === 1 ? "" : "s") + " re-hashed in this browser; every " +
        "fingerprint, the items root and " + what + " match (proof scheme " + PROOF_SCHEME + "). " +
        "The server's own verified flag was not used.";
    }
    var others = report.failed.filter(function (name) { return name !== "page.complete"; });
    if (report.partial) {
      return "Verification failed: incomplete page, the data holds only part of the " + noun + "s, so the whole " +
        "set cannot be verified here. " + (others.length ? "Failed checks on this page: " + others.join(", ") + "."
        : "The " + noun + "s present and " + what + " check out.");
    }
    return "Verification failed: " + report.failed.join(", ") + ".";
  }

  /** Write the outcome into the result element (text only, never markup from the data). */
  function render(el, report, doc) {
    var status = report.ok ? "pass" : "fail";
    el.setAttribute("data-verification", status);
    el.setAttribute("data-failed-checks", report.failed.join(" "));
    while (el.firstChild) el.removeChild(el.firstChild);
    var p = doc.createElement("p");
    p.setAttribute("class", "verification-summary");
    p.textContent = summarize(report);
    el.appendChild(p);
    if (report.messages.length) {
      var ul = doc.createElement("ul");
      ul.setAttribute("class", "verification-problems");
      report.messages.slice(0, 50).forEach(function (message) {
        var li = doc.createElement("li");
        li.textContent = message;
        ul.appendChild(li);
      });
      if (report.messages.length > 50) {
        var more = doc.createElement("li");
        more.textContent = "... and " + (report.messages.length - 50) + " more";
        ul.appendChild(more);
      }
      el.appendChild(ul);
    }
  }

  /** Browser entry: read #pacspace-data, verify, update #verification-result. */
  function runInPage(doc) {
    var el = doc.getElementById("verification-result");
    var island = doc.getElementById("pacspace-data");
    var report;
    if (!island) {
      report = new Report();
      report.fail("json", "the page has no data island (script#pacspace-data)");
    } else {
      report = verify(island.textContent || "");
    }
    if (el) render(el, report, doc);
    return report;
  }

  var api = {
    PROOF_SCHEME: PROOF_SCHEME,
    LABELS: LABELS,
    ZERO_HASH: ZERO_HASH,
    EMPTY_ROOT_HEX: EMPTY_ROOT_HEX,
    JNum: JNum,
    keccak256: keccak256,
    utf8: utf8,
    bytesToHex: bytesToHex,
    toHex: toHex,
    fromHex: fromHex,
    isHash: isHash,
    parseJSONExact: parseJSONExact,
    parseDecimal: parseDecimal,
    asDecimal: asDecimal,
    canonicalDecimal: canonicalDecimal,
    significantDigits: significantDigits,
    deltaAmountProblem: deltaAmountProblem,
    addDecimals: addDecimals,
    toJcsValue: toJcsValue,
    jcsText: jcsText,
    jcs: jcs,
    labelledPreimage: labelledPreimage,
    ledgerId: ledgerId,
    metadataDigest: metadataDigest,
    deltaPreimage: deltaPreimage,
    fingerprint: fingerprint,
    batchProofHash: batchProofHash,
    proofRoot: proofRoot,
    anchorReference: anchorReference,
    parseRfc3339: parseRfc3339,
    formatTs: formatTs,
    canonicalTs: canonicalTs,
    periodWindow: periodWindow,
    mth: mth,
    mthHex: mthHex,
    verifyInclusion: verifyInclusion,
    verifyConsistency: verifyConsistency,
    checkpointProblems: checkpointProblems,
    batchProblems: batchProblems,
    rebuildDelta: rebuildDelta,
    verify: verify,
    verifyReceipt: verifyReceipt,
    summarize: summarize,
    render: render,
    runInPage: runInPage
  };

  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (typeof window !== "undefined") window.PacSpaceVerify = api;
  if (typeof document !== "undefined" && document && typeof document.getElementById === "function") {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { runInPage(document); });
    } else {
      runInPage(document);
    }
  }
})();
