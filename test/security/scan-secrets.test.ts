// The secret scanner, run as the CLI `make test` runs it: each kind of secret planted in a temp git
// repo or a temp log directory is reported as file:line with a non-zero exit, and clean input
// (including documented test cards in the repo and forged fixture tokens) passes.
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { luhnValid } from "@shopmesh/mesh";

const script = path.resolve(import.meta.dirname, "../../scripts/scan-secrets.sh");
let dir: string;

function run(args: string[], cwd = dir): { code: number; out: string; err: string } {
  const r = spawnSync("bash", [script, ...args], { cwd, encoding: "utf8", timeout: 20_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString("base64url");
}

// A JWT with a 64-byte (ES256-sized) signature: shaped exactly like auth's access tokens.
const realJwt = `${b64url({ alg: "ES256", kid: "k1" })}.${b64url({ sub: "u_1", exp: 2e9 })}.${randomBytes(64).toString("base64url")}`;
// Like test/e2e/refusals.test.ts: a forged token whose "signature" is 9 bytes of ASCII.
const forgedJwt = `${b64url({ alg: "ES256" })}.${b64url({ sub: "x" })}.${Buffer.from("signature").toString("base64url")}`;
const privateKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
// Luhn-valid, not a documented test card; computed, so this tracked file holds no card number itself.
const realCard = withLuhnDigit("453957876362148");

// The runtime's Luhn, not the scanner's own copy, so the test does not trust what it tests.
function withLuhnDigit(body: string): string {
  const d = [..."0123456789"].find((c) => luhnValid(body + c));
  if (d === undefined) throw new Error(`no Luhn digit completes ${body}`);
  return body + d;
}

function gitRepo(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(dir, "repo-"));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  execFileSync("git", ["init", "-q"], { cwd: root });
  execFileSync("git", ["add", "."], { cwd: root });
  return root;
}

function logDir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(dir, "logs-"));
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(d, f), text);
  return d;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "scan-secrets-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("repo mode (tracked files)", () => {
  const clean = {
    "README.md": "Pay with the test card 4242424242424242 or 4000000000000002 (declined).\nBuilt 20230530153820.\n",
    "src/a.test.ts": `const forged = "${forgedJwt}";\nconst id = "a${realCard}b";\n`,
  };

  test("clean tracked files pass, test cards and forged fixture tokens included", () => {
    const r = run(["--repo"], gitRepo(clean));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("clean");
  });

  test.each([
    ["a PEM private key", "keys/dev-key.pem", privateKey, 1, "private key"],
    ["a signed JWT", "src/fixture.ts", `// old\nconst t = "${realJwt}";\n`, 2, "jwt"],
    ["a Luhn-valid card that is no test card", "docs/pay.md", `a\nb\ncard ${realCard} here\n`, 3, "card number"],
    ["a grouped card number", "notes.txt", `${realCard.replace(/(\d{4})(?=\d)/g, "$1 ")}\n`, 1, "card number"],
  ])("finds %s as file:line", (_what, file, text, line, kind) => {
    const r = run(["--repo"], gitRepo({ ...clean, [file]: text }));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}:${line}: ${kind}`);
  });

  test("an untracked secret is not the repo's (only git ls-files is scanned)", () => {
    const root = gitRepo(clean);
    writeFileSync(path.join(root, "scratch.pem"), privateKey);
    expect(run(["--repo"], root).code).toBe(0);
  });

  test("the shopmesh repo itself is clean", () => {
    const r = run(["--repo"], path.resolve(import.meta.dirname, "../.."));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("log mode (a directory of logs)", () => {
  const cleanLine = JSON.stringify({ level: 30, name: "order", trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", msg: "order placed", card_last4: "4242", orderId: "o_1" });

  test("clean logs pass", () => {
    const d = logDir({ "order.log": `${cleanLine}\n${cleanLine}\n`, "edge-access.log": '127.0.0.1 "POST /shop.cart.v1.CartService/GetCart" 200\n' });
    const r = run([d]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  test.each([
    ["an access JWT", `{"msg":"call","token":"${realJwt}"}`, "jwt"],
    ["even a forged JWT (the code logs tokens)", `{"msg":"denied ${forgedJwt}"}`, "jwt"],
    ["a refresh token field", `{"msg":"refresh","refresh_token":"${randomBytes(32).toString("base64url")}"}`, 'credential field "refresh_token"'],
    ["a password field", '{"msg":"login","password":"hunter2hunter2"}', 'credential field "password"'],
    ["the e2e password in free text", '{"msg":"bad login for correct horse battery"}', "test password"],
    ["a Bearer header", `authorization: Bearer ${randomBytes(24).toString("base64url")}`, "bearer credential"],
    ["a test card (never allowed in logs)", '{"msg":"charge","card":"4242424242424242"}', "card number"],
    ["a real card", `{"msg":"charge ${realCard}"}`, "card number"],
  ])("finds %s as file:line", (_what, line, kind) => {
    const d = logDir({ "svc.log": `${cleanLine}\n${line}\n` });
    const r = run([d]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${path.join(d, "svc.log")}:2: ${kind}`);
  });

  test("a span id of decimal digits that passes Luhn is no card, but the same digits elsewhere are", () => {
    const spanId = withLuhnDigit("587298927112010");
    const d = logDir({ "svc.log": `${JSON.stringify({ msg: "rpc", trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: spanId })}\n` });
    expect(run([d]).code).toBe(0);
    const e = logDir({ "svc.log": `${JSON.stringify({ msg: `charge ${spanId}` })}\n` });
    expect(run([e]).code).toBe(1);
  });

  test("redacted credential fields pass", () => {
    const d = logDir({ "svc.log": '{"msg":"login","password":"[Redacted]","refresh_token":""}\n' });
    expect(run([d]).code).toBe(0);
  });

  test("--literal and --literals-file find secrets an e2e run handed out", () => {
    const token = randomBytes(32).toString("base64url");
    const d = logDir({ "auth.log": `{"msg":"rotated ${token}"}\n` });
    expect(run([d]).code).toBe(0); // an opaque token with no field name is invisible without the hint
    expect(run([d, "--literal", token]).err).toContain("auth.log:1: known secret");
    const list = path.join(dir, "secrets.txt");
    writeFileSync(list, `other\n${token}\n`);
    expect(run([d, "--literals-file", list]).code).toBe(1);
  });

  test("a missing log directory is a usage error, not a pass", () => {
    const r = run([path.join(dir, "nope")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not a directory");
  });
});
