// Test harness for mockserver/pages/static/pacspace-verify.js (used by tests/test_pages_js.py).
//
// Reads one JSON job from stdin: {"script": "<path to pacspace-verify.js>", "tasks": [[id, op, args...], ...]}
// and writes {"results": {id: result}} to stdout. A task that throws yields {"error": message}.
// One node process runs every task, so the Python side pays node's start-up once.
"use strict";

const fs = require("fs");
const vm = require("vm");
const crypto = require("crypto");

const job = JSON.parse(fs.readFileSync(0, "utf8"));
const V = require(job.script);

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const sha256 = (bytes) => new Uint8Array(crypto.createHash("sha256").update(bytes).digest());

function reportOf(report) {
  return { ok: report.ok, failed: report.failed, checks: report.checks, messages: report.messages,
    kind: report.kind, partial: report.partial, summary: V.summarize(report) };
}

// A minimal DOM: enough for runInPage / render and the script's own DOMContentLoaded wiring.
function fakeDocument(islandText, readyState) {
  const listeners = {};
  function element(tag) {
    return {
      tagName: tag, attributes: {}, children: [], textContent: "",
      setAttribute(name, value) { this.attributes[name] = String(value); },
      getAttribute(name) { return Object.prototype.hasOwnProperty.call(this.attributes, name) ? this.attributes[name] : null; },
      appendChild(child) { this.children.push(child); return child; },
      removeChild(child) { this.children.splice(this.children.indexOf(child), 1); return child; },
      get firstChild() { return this.children[0] || null; },
      get innerText() { return [this.textContent].concat(this.children.map((c) => c.innerText)).join(" ").trim(); },
    };
  }
  const result = element("div");
  result.setAttribute("data-verification", "pending");
  result.children.push(Object.assign(element("#text"), { textContent: "Verifying..." }));
  const island = islandText === null ? null : Object.assign(element("script"), { textContent: islandText });
  return {
    readyState,
    result,
    listeners,
    createElement: element,
    getElementById(id) { return id === "verification-result" ? result : id === "pacspace-data" ? island : null; },
    addEventListener(type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
  };
}

// Load the script as a browser would: a plain script (no module), a window and a document.
function runAsPage(islandText, readyState) {
  const document = fakeDocument(islandText, readyState);
  const window = {};
  const source = fs.readFileSync(job.script, "utf8");
  vm.runInNewContext(source, { document, window, Uint8Array, Uint32Array, BigInt, Object, Array, JSON, Math, Number,
    String, Error, RegExp, isFinite, parseInt }, { filename: "pacspace-verify.js" });
  const before = document.result.getAttribute("data-verification");
  (document.listeners.DOMContentLoaded || []).forEach((fn) => fn());
  return {
    before,
    verification: document.result.getAttribute("data-verification"),
    failedChecks: document.result.getAttribute("data-failed-checks"),
    text: document.result.innerText,
    exposed: typeof window.PacSpaceVerify === "object" && typeof window.PacSpaceVerify.verify === "function",
  };
}

const OPS = {
  keccakHex: (h) => hex(V.keccak256(unhex(h))),
  keccakText: (s) => hex(V.keccak256(V.utf8(s))),
  keccakMany: (list) => list.map((h) => hex(V.keccak256(unhex(h)))),
  sha3Node: (s) => crypto.createHash("sha3-256").update(Buffer.from(s, "utf8")).digest("hex"),
  utf8: (s) => hex(V.utf8(s)),
  label: (s) => hex(V.utf8(s)),
  ledgerId: (env, key) => V.ledgerId(env, key),
  ledgerPreimage: (env, key) => hex(V.labelledPreimage(V.LABELS.ledger, V.utf8(env + ":" + key))),
  // a JSON text (parsed exactly) -> JCS text bytes (hex) and its labelled hashes
  jcsHex: (text) => hex(V.jcs(V.parseJSONExact(text))),
  fingerprint: (text) => V.fingerprint(V.parseJSONExact(text)),
  fingerprintPreimage: (text) => hex(V.labelledPreimage(V.LABELS.delta, V.jcs(V.parseJSONExact(text)))),
  batchProofHash: (text) => V.batchProofHash(V.parseJSONExact(text)),
  proofRoot: (text) => V.proofRoot(V.parseJSONExact(text)),
  anchor: (root) => V.anchorReference(root),
  anchorPreimage: (root) => hex(V.labelledPreimage(V.LABELS.anchor, V.fromHex(root))),
  metadataDigest: (text) => V.metadataDigest(V.parseJSONExact(text)),
  leafHash: (fp) => V.toHex(V.keccak256(new Uint8Array([0, ...V.fromHex(fp)]))),
  mth: (fps) => V.mthHex(fps),
  verifyInclusion: (index, size, fp, proof, root) =>
    V.verifyInclusion(index, size, V.fromHex(fp), proof.map(V.fromHex), V.fromHex(root)),
  verifyConsistency: (m, n, first, second, proof) =>
    V.verifyConsistency(m, n, V.fromHex(first), V.fromHex(second), proof.map(V.fromHex)),
  sha256Roots: (leaves) => leaves.map((_, n) => hex(V.mth(leaves.slice(0, n).map(unhex), sha256))).concat(
    [hex(V.mth(leaves.map(unhex), sha256))]),
  sha256Inclusion: (leaves, index, proof, root) =>
    V.verifyInclusion(index, leaves.length, unhex(leaves[index]), proof.map(unhex), unhex(root), sha256),
  sha256Consistency: (m, n, first, second, proof) =>
    V.verifyConsistency(m, n, unhex(first), unhex(second), proof.map(unhex), sha256),
  // a JSON document holding one number member "x": its canonical decimal and amount problem
  decimal: (text) => {
    const d = V.asDecimal(V.parseJSONExact(text).x);
    return { canonical: V.canonicalDecimal(d), problem: V.deltaAmountProblem(d), sig: V.significantDigits(d) };
  },
  decimalFromDouble: (text) => V.canonicalDecimal(V.asDecimal(JSON.parse(text).x)),
  timestamp: (text) => { const ms = V.parseRfc3339(text); return ms === null ? null : V.formatTs(ms); },
  canonicalTs: (text) => V.canonicalTs(text) !== null,
  // a receipt-line JSON text -> the rebuilt fingerprint and problems
  rebuild: (text, customer) => {
    const r = V.rebuildDelta(V.parseJSONExact(text), customer, "line");
    return { fingerprint: r.fingerprint, problems: r.problems,
      canonical: r.preimage ? r.preimage.delta : null };
  },
  parseFails: (text) => { try { V.parseJSONExact(text); return null; } catch (e) { return e.message; } },
  verify: (text, options) => reportOf(V.verify(text, options || {})),
  verifyParsed: (text, options) => reportOf(V.verify(JSON.parse(text), options || {})),
  verifyReceipt: (text, options) => reportOf(V.verifyReceipt(text, options || {})),
  page: (islandText, readyState) => runAsPage(islandText, readyState || "loading"),
  timing: (text, times) => {
    const start = process.hrtime.bigint();
    let ok = true;
    for (let i = 0; i < times; i++) ok = V.verify(text).ok && ok;
    return { ok, ms: Number(process.hrtime.bigint() - start) / 1e6 };
  },
};

const results = {};
for (const [id, op, ...args] of job.tasks) {
  try {
    if (!Object.prototype.hasOwnProperty.call(OPS, op)) throw new Error("unknown op " + op);
    results[id] = OPS[op](...args);
  } catch (e) {
    results[id] = { error: String(e && e.stack || e) };
  }
}
process.stdout.write(JSON.stringify({ results }));
