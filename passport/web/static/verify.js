/*
 * verify.js: re-check a passport page's credentials in the reader's own browser.
 *
 * For every element with `data-entry-url` (an <article class="credential">) this script
 *   1. verifies the log's signed checkpoint (C2SP signed note, Ed25519) against the log key
 *      the page names in <body data-log-key> (once per page),
 *   2. fetches the exact log entry bytes, hashes them as an RFC 9162 leaf and checks the
 *      inclusion proof up to the checkpoint's root hash,
 *   3. verifies the entry's credential: its `eddsa-jcs-2022` Data Integrity proof, by a key
 *      that the issuer's DID document (`data-did-url`) lists as an assertion method,
 *   4. or, where the DID document marks that key `revoked`, checks key validity by log
 *      position as the ledger does (keylog.py, KeyHistory.key_for): the page names the log
 *      entry that revoked the key (`data-key-revoked-index`, `data-key-revoked-url`); that
 *      entry is proven in the same checkpoint, must revoke this very key, and the credential
 *      counts only if it was logged before the revocation and before `compromisedSince`,
 * and writes the outcome into the article's `.browser-check` element (`data-state` is
 * `checking`, `ok`, `failed` or `unsupported`; the texts come from <body data-msg-*>).
 *
 * Plain script, no libraries, no eval: it runs under `script-src 'self'`. It fetches from its
 * own origin only, and uses WebCrypto (SHA-256, Ed25519) for every hash and signature.
 * The formats match passport/core/log/note.py, passport/core/log/merkle.py and
 * passport/core/signing/{dataintegrity,multibase,did}.py.
 */
(function () {
  "use strict";

  const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const ALG_ED25519 = 0x01;
  const MAX_MULTIBASE = 128; // as multibase.py: nothing we accept is longer
  const DECIMAL = /^(0|[1-9][0-9]*)$/; // a log index or tree size, as the page and note write it
  const DEFAULT_MESSAGES = {
    msgChecking: "Checking in your browser…",
    msgOk: "Checked in your browser",
    msgFailed: "Check in your browser failed",
    msgUnsupported: "Your browser cannot check signatures",
  };

  /** A check failed; the message is the short reason shown to the reader. */
  class Failure extends Error {}
  /** The browser lacks WebCrypto Ed25519 (or WebCrypto altogether). */
  class Unsupported extends Error {}

  function fail(reason) {
    throw new Failure(reason);
  }

  /** Return fn(); any error but a Failure or Unsupported becomes the failure `reason`. */
  function attempt(fn, reason) {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Failure || e instanceof Unsupported) throw e;
      return fail(reason);
    }
  }

  // ---- Bytes, base64, base58 -------------------------------------------------------------

  const utf8 = new TextEncoder();

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  function sameBytes(a, b) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }

  function decodeUtf8(bytes, what) {
    // ignoreBOM keeps a leading U+FEFF, so that re-encoding gives back the very bytes.
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    return attempt(() => decoder.decode(bytes), `${what} is not UTF-8`);
  }

  function b64encode(bytes) {
    return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  }

  /** Decode standard base64, accepting only its one canonical spelling (as note.py does). */
  function b64decode(text, what) {
    const binary = attempt(() => atob(text), `${what} is not base64`);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    if (b64encode(bytes) !== text) fail(`${what} is not canonical base64`);
    return bytes;
  }

  /** Decode a multibase base58btc value (`z…`), as multibase.py's _decode_z. */
  function multibase(value, what) {
    if (typeof value !== "string" || !value.startsWith("z")) {
      fail(`${what} is not multibase base58btc`);
    }
    if (value.length > MAX_MULTIBASE) fail(`${what} is too long`);
    const text = value.slice(1);
    const digits = []; // the number in base 256, least significant byte first
    for (const ch of text) {
      let carry = B58.indexOf(ch);
      if (carry < 0) fail(`${what} is not valid base58btc`);
      for (let i = 0; i < digits.length; i++) {
        carry += digits[i] * 58;
        digits[i] = carry & 0xff;
        carry >>= 8;
      }
      for (; carry > 0; carry >>= 8) digits.push(carry & 0xff);
    }
    const zeros = text.length - text.replace(/^1+/, "").length; // each leading "1" is a 0 byte
    return Uint8Array.from([...new Array(zeros).fill(0), ...digits.reverse()]);
  }

  // ---- WebCrypto ---------------------------------------------------------------------------

  function subtle() {
    if (!globalThis.crypto || !globalThis.crypto.subtle) throw new Unsupported("no WebCrypto");
    return globalThis.crypto.subtle;
  }

  async function sha256(...parts) {
    return new Uint8Array(await subtle().digest("SHA-256", concat(...parts)));
  }

  async function importEd25519(raw, what) {
    try {
      return await subtle().importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      if (e && e.name === "NotSupportedError") throw new Unsupported("no WebCrypto Ed25519");
      return fail(`${what} is not an Ed25519 public key`);
    }
  }

  async function ed25519Verifies(key, signature, message) {
    try {
      return await subtle().verify({ name: "Ed25519" }, key, signature, message);
    } catch (e) {
      if (e && e.name === "NotSupportedError") throw new Unsupported("no WebCrypto Ed25519");
      return false;
    }
  }

  // ---- Same-origin fetches, each URL once ---------------------------------------------------

  function sameOrigin(url, what) {
    const absolute = new URL(url, location.href);
    if (absolute.origin !== location.origin) fail(`${what} is not on this site`);
    return absolute;
  }

  async function fetchBytes(url, what) {
    let response = null;
    try {
      response = await fetch(sameOrigin(url, what));
    } catch (e) {
      if (e instanceof Failure) throw e;
      fail(`could not fetch ${what}`);
    }
    if (!response.ok) fail(`could not fetch ${what} (HTTP ${response.status})`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async function fetchJson(url, what) {
    const text = decodeUtf8(await fetchBytes(url, what), what);
    return attempt(() => JSON.parse(text), `${what} is not JSON`);
  }

  const once = new Map(); // cache key -> promise (a failure is cached too, and reported alike)
  function cached(key, make) {
    if (!once.has(key)) once.set(key, make());
    once.get(key).catch(() => {}); // its callers await it: no "unhandled rejection" meanwhile
    return once.get(key);
  }

  // ---- 1. The log key and its signed checkpoint (note.py) -----------------------------------

  function validName(name) {
    return name.length > 0 && !/[\s+]/.test(name) && !/[\x00-\x1f\x7f]/.test(name);
  }

  /** Parse a C2SP verifier key `name+hexkeyid+base64(0x01 ‖ key)`; return its parts. */
  async function parseLogKey(text) {
    const first = text.indexOf("+");
    const second = text.indexOf("+", first + 1); // the base64 key may itself hold '+'
    if (first < 0 || second < 0) fail("the page's log key is not name+keyid+key");
    const name = text.slice(0, first);
    const hexId = text.slice(first + 1, second);
    const blob = b64decode(text.slice(second + 1), "the page's log key");
    if (!validName(name)) fail("the page's log key has a bad name");
    if (blob.length !== 33 || blob[0] !== ALG_ED25519) fail("the log key is not an Ed25519 key");
    const publicKey = blob.subarray(1);
    // The key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
    const tag = Uint8Array.of(0x0a, ALG_ED25519);
    const id = (await sha256(utf8.encode(name), tag, publicKey)).subarray(0, 4);
    const hex = Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== hexId) fail("the log key's id does not match its name and key");
    return { name, id, key: await importEd25519(publicKey, "the log key") };
  }

  /** Fetch the newest checkpoint, verify its signature and parse it: {size, root}. */
  async function openCheckpoint(url, logKeyText) {
    if (!logKeyText) fail("the page names no log key");
    const logKey = await parseLogKey(logKeyText);
    const text = decodeUtf8(await fetchBytes(url, "the checkpoint"), "the checkpoint");
    if (/[\x00-\x09\x0b-\x1f]/.test(text)) fail("the checkpoint holds a control character");
    if (!text.endsWith("\n")) fail("the checkpoint does not end in a newline");
    const split = text.lastIndexOf("\n\n"); // the last blank line: text above, signatures below
    if (split < 0) fail("the checkpoint has no signature");
    const body = text.slice(0, split + 1); // the signed message ends with its last newline
    const found = [];
    for (const line of text.slice(split + 2, -1).split("\n")) {
      const match = /^\u2014 ([^\s+]+) ([^ ]+)$/u.exec(line); // "— name base64"
      if (!match) fail("the checkpoint has a malformed signature line");
      const blob = b64decode(match[2], "a checkpoint signature");
      if (blob.length < 5) fail("a checkpoint signature is too short");
      // Only the name and the key id together identify the log's key.
      if (match[1] === logKey.name && sameBytes(blob.subarray(0, 4), logKey.id)) {
        found.push(blob.subarray(4));
      }
    }
    if (found.length !== 1) fail("the checkpoint is not signed once by the log's key");
    if (!(await ed25519Verifies(logKey.key, found[0], utf8.encode(body)))) {
      fail("the checkpoint's signature does not verify");
    }
    const lines = body.slice(0, -1).split("\n");
    if (lines.length < 3 || lines.some((l) => l === "")) fail("the checkpoint is malformed");
    if (lines[0] !== logKey.name) fail("the checkpoint is of another log");
    if (!DECIMAL.test(lines[1]) || !Number.isSafeInteger(Number(lines[1]))) {
      fail("the checkpoint's tree size is malformed");
    }
    const root = b64decode(lines[2], "the checkpoint's root hash");
    if (root.length !== 32) fail("the checkpoint's root hash is not 32 bytes");
    return { size: Number(lines[1]), root };
  }

  // ---- 2. The entry is in the log (RFC 9162 §2.1.3.2, merkle.py) ---------------------------

  function nodeHash(left, right) {
    return sha256(Uint8Array.of(0x01), left, right);
  }

  /** Return the root an inclusion proof leads to. Plain arithmetic: bit operators are 32-bit. */
  async function rootFromInclusion(index, size, leaf, proof) {
    let [fn, sn, r] = [index, size - 1, leaf];
    const shift = () => ([fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)]);
    for (const p of proof) {
      if (sn === 0) fail("the inclusion proof is longer than the tree is deep");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn !== 0 && fn % 2 === 0) shift();
      } else {
        r = await nodeHash(r, p);
      }
      shift();
    }
    if (sn !== 0) fail("the inclusion proof is shorter than the tree is deep");
    return r;
  }

  /**
   * Check that `bytes`, entry `index`, is in the tree the checkpoint signs. `what` names the
   * entry in failure reasons ("the entry", "the revocation entry").
   */
  async function checkInclusion(index, bytes, checkpoint, proofUrl, what = "the entry") {
    if (index >= checkpoint.size) fail(`${what} is newer than the log's checkpoint`);
    const leaf = await sha256(Uint8Array.of(0x00), bytes);
    const url = sameOrigin(proofUrl, "the inclusion proof");
    url.searchParams.set("index", String(index));
    url.searchParams.set("tree_size", String(checkpoint.size));
    const proof = await fetchJson(url, "the inclusion proof");
    if (!proof || proof.index !== index || proof.tree_size !== checkpoint.size) {
      fail(`${what}'s inclusion proof is for another entry or tree`);
    }
    if (!sameBytes(b64decode(proof.leaf_hash, "the proof's leaf hash"), leaf)) {
      fail(`${what} differs from the one the log holds`);
    }
    if (!Array.isArray(proof.hashes)) fail("the inclusion proof is malformed");
    const hashes = proof.hashes.map((h) => b64decode(h, "an inclusion proof hash"));
    if (hashes.some((h) => h.length !== 32)) fail("an inclusion proof hash is not 32 bytes");
    const root = await rootFromInclusion(index, checkpoint.size, leaf, hashes);
    if (!sameBytes(root, checkpoint.root)) {
      fail(`${what}'s inclusion proof does not lead to the signed root`);
    }
  }

  // ---- 3. JCS and the issuer's key (dataintegrity.py, did.py) -------------------------------

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /** RFC 8785 for JSON without floats: keys sorted by UTF-16 units, scalars as ES writes them. */
  function jcs(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      if (!Number.isFinite(value)) fail("the credential holds a number JSON cannot write");
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        fail("the credential holds an integer beyond 2^53");
      }
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
    if (isObject(value)) {
      const keys = Object.keys(value).sort(); // the default sort compares UTF-16 code units
      return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(",")}}`;
    }
    return fail("the credential holds a value JSON cannot write");
  }

  function without(object, key) {
    const copy = Object.assign({}, object);
    delete copy[key];
    return copy;
  }

  /**
   * Find the verification method `method` in the DID document and check it is a Multikey of
   * the issuer; return it (`vm`) and its imported Ed25519 public key (`key`).
   */
  async function issuerKey(didDocument, did, method) {
    if (!isObject(didDocument) || didDocument.id !== did) {
      fail("the DID document is not the signer's");
    }
    const methods = [].concat(didDocument.verificationMethod || []);
    const vm = methods.find((m) => isObject(m) && m.id === method);
    if (!vm) fail("the signing key is not in the issuer's DID document");
    if (vm.type !== "Multikey" || vm.controller !== did) {
      fail("the signing key is not a Multikey of the issuer");
    }
    const multikey = multibase(vm.publicKeyMultibase, "the signing key");
    // 0xed 0x01, the multicodec varint of ed25519-pub, then the 32-byte key.
    if (multikey.length !== 34 || multikey[0] !== 0xed || multikey[1] !== 0x01) {
      fail("the signing key is not an Ed25519 key");
    }
    return { vm, key: await importEd25519(multikey.subarray(2), "the signing key") };
  }

  // ---- 4. A revoked key: validity by log position (keylog.py) --------------------------------

  /**
   * Fetch the revocation entry `index` at `url`, prove it is in the checkpoint (as the
   * credential's own entry) and parse it; return its `key` object. Only what does not depend
   * on the credential is checked here: the outcome is cached per entry and shared.
   */
  async function openRevocation(index, url, signed, proofUrl) {
    const what = "the revocation entry";
    const bytes = await fetchBytes(url, what);
    await checkInclusion(index, bytes, signed, proofUrl, what);
    // key_entry: JCS of {"key": {"id", "controller", "publicKeyMultibase",
    // "compromisedSince"?}, "kind": "key:revoked", "v": 1}.
    const entry = attempt(() => JSON.parse(decodeUtf8(bytes, what)), `${what} is not JSON`);
    if (!isObject(entry) || entry.kind !== "key:revoked" || !isObject(entry.key)) {
      fail(`${what} is not a key revocation`);
    }
    const since = entry.key.compromisedSince;
    if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) {
      fail(`${what}'s compromisedSince is not a log index`);
    }
    return entry.key;
  }

  /**
   * The DID document marks `vm` revoked: accept its signature on the entry at `at.index` only
   * if the log says the key was still valid there. As KeyHistory.key_for: the key is void
   * from its revocation on (`revoked < index`; the revocation entry itself signs nothing) and,
   * with `compromisedSince: c`, from entry c on. `names` is the credential element's dataset.
   */
  async function checkRevokedKey(vm, did, names, at) {
    if (names.keyRevokedIndex === undefined || names.keyRevokedUrl === undefined) {
      fail(`the signing key was revoked (${vm.revoked}) and the page names no revocation entry`);
    }
    const text = names.keyRevokedIndex;
    if (!DECIMAL.test(text) || !Number.isSafeInteger(Number(text))) {
      fail("the revocation entry index is malformed");
    }
    const revoked = Number(text);
    // A revocation the checkpoint does not cover cannot be proven (nor relied on) yet.
    if (revoked >= at.checkpoint.size) fail("the revocation is not yet in a signed checkpoint");
    const url = sameOrigin(names.keyRevokedUrl, "the revocation entry").href;
    const key = await cached(`revocation ${revoked} ${url}`, () =>
      openRevocation(revoked, url, at.checkpoint, at.proofUrl),
    );
    if (
      key.id !== vm.id ||
      key.publicKeyMultibase !== vm.publicKeyMultibase ||
      key.controller !== did
    ) {
      fail("the revocation entry is of another key");
    }
    if (at.index >= revoked) fail(`the signing key was revoked before this entry (at ${revoked})`);
    const since = key.compromisedSince;
    if (since !== undefined && at.index >= since) {
      fail(`the signing key was compromised since ${since}`);
    }
  }

  // ---- 5. The credential's eddsa-jcs-2022 proof, by a key its issuer vouches for ----------

  /**
   * Verify the credential logged at `at.index` (`at`: {index, checkpoint, proofUrl}); `names`
   * is its element's dataset: the DID document (`didUrl`, fetched once per page) and, for a
   * revoked key, the revocation entry.
   */
  async function checkCredential(credential, names, at) {
    if (!isObject(credential)) fail("the entry holds no credential");
    const proof = credential.proof;
    if (!isObject(proof)) fail("the credential has no single proof");
    if (proof.type !== "DataIntegrityProof") fail("the proof is not a DataIntegrityProof");
    if (proof.cryptosuite !== "eddsa-jcs-2022") fail("the proof's suite is not eddsa-jcs-2022");
    if (proof.proofPurpose !== "assertionMethod") fail("the proof's purpose is not assertion");
    const method = proof.verificationMethod;
    if (typeof method !== "string" || typeof proof.created !== "string") {
      fail("the proof lacks its verification method or creation time");
    }
    const did = method.split("#")[0];
    if (!did.startsWith("did:web:") || !method.includes("#")) {
      fail("the proof's verification method is not a did:web key");
    }
    const issuer = isObject(credential.issuer) ? credential.issuer.id : credential.issuer;
    if (issuer !== did) fail("the credential is signed by a key of another issuer");
    // The proof is bound to the very contexts the document is read with.
    const context = credential["@context"];
    if ("@context" in proof && (context === undefined || jcs(proof["@context"]) !== jcs(context))) {
      fail("the proof's @context differs from the credential's");
    }
    const signature = multibase(proof.proofValue, "the proof value");
    if (signature.length !== 64) fail("the proof value is not a 64-byte signature");
    // hashData = SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document without its proof)).
    const hashData = concat(
      await sha256(utf8.encode(jcs(without(proof, "proofValue")))),
      await sha256(utf8.encode(jcs(without(credential, "proof")))),
    );
    if (!names.didUrl) fail("the page names no DID document");
    const url = sameOrigin(names.didUrl, "the DID document").href;
    const didDocument = await cached(`did ${url}`, () => fetchJson(url, "the DID document"));
    const { vm, key } = await issuerKey(didDocument, did, method);
    if (vm.revoked === undefined) {
      // A key in good standing must be an assertion method (retired keys stay listed).
      if (![].concat(didDocument.assertionMethod || []).includes(method)) {
        fail("the signing key is not an assertion method");
      }
    } else {
      // A revoked key has left assertionMethod; the log decides what it signed validly.
      await checkRevokedKey(vm, did, names, at);
    }
    if (!(await ed25519Verifies(key, signature, hashData))) {
      fail("the credential's signature does not verify");
    }
  }

  // ---- 6. The page ---------------------------------------------------------------------------

  /** The page's text for `name` (data-msg-ok is dataset.msgOk), or the English default. */
  function message(name) {
    return document.body.dataset[name] || DEFAULT_MESSAGES[name];
  }

  function show(element, state, text) {
    const out = element.querySelector(".browser-check");
    if (out) {
      out.dataset.state = state;
      out.textContent = text;
    }
  }

  function checkpoint() {
    const data = document.body.dataset;
    return cached("checkpoint", () =>
      openCheckpoint(data.checkpointUrl || "/ledger/checkpoint", data.logKey),
    );
  }

  /** Check one credential element; resolve to {state, reason} (never reject). */
  async function verifyEntry(element) {
    show(element, "checking", message("msgChecking"));
    try {
      const data = element.dataset;
      if (!DECIMAL.test(data.entryIndex || "")) fail("the entry index is malformed");
      const index = Number(data.entryIndex);
      const entry = fetchBytes(data.entryUrl, "the log entry"); // fetched while the rest runs
      entry.catch(() => {});
      const signed = await checkpoint();
      const bytes = await entry;
      const proofUrl = document.body.dataset.proofUrl || "/ledger/proof/inclusion";
      await checkInclusion(index, bytes, signed, proofUrl);
      const parsed = attempt(
        () => JSON.parse(decodeUtf8(bytes, "the log entry")),
        "the log entry is not JSON",
      );
      const credential = isObject(parsed) ? parsed.credential : null;
      await checkCredential(credential, data, { index, checkpoint: signed, proofUrl });
      show(element, "ok", message("msgOk"));
      return { state: "ok", reason: "" };
    } catch (e) {
      if (e instanceof Unsupported) {
        show(element, "unsupported", message("msgUnsupported"));
        return { state: "unsupported", reason: e.message };
      }
      const reason = e instanceof Failure ? e.message : `unexpected error (${e && e.name})`;
      show(element, "failed", `${message("msgFailed")}: ${reason}`);
      return { state: "failed", reason };
    }
  }

  /** Check every credential on the page, concurrently. */
  function verifyAll() {
    return Promise.all(Array.from(document.querySelectorAll("[data-entry-url]"), verifyEntry));
  }

  window.passportVerify = { verifyAll, verifyEntry };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => verifyAll());
  } else {
    verifyAll();
  }
})();
