#!/usr/bin/env node
// Secret scanner for the repo and for service logs. Plain ESM JavaScript so it runs on a fresh
// clone with no build step.
//
// Usage:
//   node scripts/scan-secrets.mjs                 tracked files (git ls-files) + .run/logs (if present)
//   node scripts/scan-secrets.mjs --repo          tracked files only
//   node scripts/scan-secrets.mjs DIR...          log directories only (each must exist)
//   options: --repo-root DIR (default: cwd), --literal TEXT (another exact secret to find in logs,
//            repeatable), --literals-file FILE (one exact secret per line, e.g. tokens an e2e run saw)
// Exit 0 when clean, 1 with one "file:line: kind" per finding on stderr, 2 on a usage error.
//
// What counts as a secret:
//   repo: PEM private keys; JWTs whose signature is long enough to be real (>= 32 bytes: HS256 is
//         the shortest real JOSE signature, so a forged "header.payload.c2ln" fixture is not a
//         secret); card numbers that pass Luhn, except the public test cards listed below.
//   logs: the same, but stricter: any JWT-shaped string, any Luhn card number (test cards too:
//         a card in a log means the code logs cards), Bearer credentials, JSON fields named like
//         a credential with a non-redacted value, and the e2e tests' passwords.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Public test card numbers (Stripe-style documentation cards) that docs and test fixtures may hold. */
export const TEST_CARDS = new Set([
  "4242424242424242", "4000000000000002", "4000000000009995", "4000000000000069", "4000000000000127",
  "4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
]);

/** Passwords the e2e tests use; they must never reach a log line. */
export const TEST_PASSWORDS = ["correct horse battery", "correct horse"];

const PRIVATE_KEY = /-----BEGIN ((?:RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----/;
// header.payload.signature; both JSON segments start with '{"' → base64url "eyJ".
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.([A-Za-z0-9_-]*)/g;
// 13..19 digits, optionally grouped by single spaces or dashes, not glued to other word characters
// (so hashes, ids and timestamps inside longer tokens are not candidates).
const CARD = /(?<![0-9A-Za-z_.-])[3456](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_])/g;
// W3C trace and span ids are random hex, and a 16-digit span id that happens to be all decimal
// digits passes Luhn about one time in ten; as the whole value of those log fields it is no card.
const TRACE_ID_VALUE = /"(trace_id|span_id|parent_id)"\s*:\s*"$/;
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/;
// "refresh_token":"...", "password":"..." and friends, unless the value is empty or redacted.
const CREDENTIAL_FIELD = /"(refresh_?token|access_?token|refreshToken|accessToken|password|authorization|cvv|card_?number|cardNumber)"\s*:\s*"(?!\[?redacted\]?"|\*+"|")[^"]+"/i;

/**
 * Luhn checksum over a digit string. Written again on purpose (mesh/src/card.ts has the services'
 * one): this script runs on a fresh clone with plain node, before anything is built
 * (docs/architecture.md "What is written twice on purpose").
 */
export function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function base64urlBytes(s) {
  return Buffer.from(s, "base64url").length;
}

/** Findings in one line of text: a list of kinds ("private key", "jwt", "card number", ...). */
export function scanLine(line, mode, literals = []) {
  const found = [];
  if (PRIVATE_KEY.test(line)) found.push("private key");
  for (const m of line.matchAll(JWT)) {
    if (mode === "logs" || base64urlBytes(m[1]) >= 32) {
      found.push("jwt");
      break;
    }
  }
  for (const m of line.matchAll(CARD)) {
    const digits = m[0].replace(/[ -]/g, "");
    if (digits.length < 13 || digits.length > 19 || !luhn(digits)) continue;
    // Runs of one digit ("0000...") pass Luhn trivially and are never card numbers.
    if (/^(\d)\1+$/.test(digits)) continue;
    if (TRACE_ID_VALUE.test(line.slice(Math.max(0, m.index - 24), m.index))) continue;
    if (mode === "repo" && TEST_CARDS.has(digits)) continue;
    found.push("card number");
    break;
  }
  if (mode === "logs") {
    if (BEARER.test(line)) found.push("bearer credential");
    const field = CREDENTIAL_FIELD.exec(line);
    if (field) found.push(`credential field "${field[1]}"`);
    for (const p of [...TEST_PASSWORDS, ...literals]) {
      if (p.length > 0 && line.includes(p)) {
        found.push(literals.includes(p) ? "known secret" : "test password");
        break;
      }
    }
  }
  return found;
}

/** Scans one file's text; returns "file:line: kind" findings. */
export function scanText(file, text, mode, literals = []) {
  const out = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    for (const kind of scanLine(lines[i], mode, literals)) out.push(`${file}:${i + 1}: ${kind}`);
  }
  return out;
}

function isBinary(buf) {
  return buf.subarray(0, 8000).includes(0);
}

/** Scans the tracked files of the git repository at root. */
export function scanRepo(root) {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .split("\0").filter((f) => f.length > 0);
  const out = [];
  for (const f of files) {
    const full = path.join(root, f);
    let buf;
    try {
      if (!statSync(full).isFile()) continue;
      buf = readFileSync(full);
    } catch {
      continue; // tracked but deleted in the working tree
    }
    if (isBinary(buf)) continue;
    out.push(...scanText(f, buf.toString("utf8"), "repo"));
  }
  return out;
}

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Scans every file under a log directory (binary files included: logs must not hide secrets). */
export function scanLogs(dir, literals = []) {
  const out = [];
  for (const f of walk(dir)) out.push(...scanText(f, readFileSync(f).toString("utf8"), "logs", literals));
  return out;
}

function main(argv) {
  let repoRoot = process.cwd();
  let repo = false;
  const dirs = [];
  const literals = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--repo") repo = true;
    else if (a === "--repo-root") repoRoot = argv[++i];
    else if (a === "--literal") literals.push(argv[++i] ?? "");
    else if (a === "--literals-file") {
      literals.push(...readFileSync(argv[++i], "utf8").split("\n").map((l) => l.trim()).filter((l) => l.length > 0));
    } else if (a.startsWith("-")) {
      process.stderr.write(`scan-secrets: unknown option ${a}\n`);
      return 2;
    } else dirs.push(a);
  }
  const findings = [];
  if (!repo && dirs.length === 0) {
    repo = true;
    const def = path.join(repoRoot, ".run/logs");
    if (existsSync(def)) dirs.push(def);
  }
  if (repo) findings.push(...scanRepo(repoRoot));
  for (const d of dirs) {
    if (!existsSync(d) || !statSync(d).isDirectory()) {
      process.stderr.write(`scan-secrets: ${d} is not a directory\n`);
      return 2;
    }
    findings.push(...scanLogs(d, literals));
  }
  for (const f of findings) process.stderr.write(`${f}\n`);
  const what = [repo ? "tracked files" : "", ...dirs].filter(Boolean).join(", ");
  if (findings.length > 0) {
    process.stderr.write(`scan-secrets: ${findings.length} finding(s) in ${what}\n`);
    return 1;
  }
  process.stdout.write(`scan-secrets: clean (${what})\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
