// Fuzzing every RPC of the contracts with bytes, through a raw grpc-js client, against the whole shop
// in-process (the Python recommendation service as a subprocess). For each RPC: at least 2,000
// generated inputs (see fuzz-inputs.ts) plus the max-message-size edges, mostly with a valid token
// and an allowed caller so they reach the handlers, some without a token.
// It asserts that every answer is a proper gRPC status (no UNKNOWN, no dropped stream, no stack
// trace, no hang), that each service still answers health checks SERVING after its batch, and that
// memory stays bounded: after each batch a full GC runs (scripts/jest.sh gives node --expose-gc),
// then the JS heap still in use (a leak's measure) and the RSS are sampled. Every code an RPC
// answered must be listed in its proto comment's `Errors:` line, unless the runtime adds it to
// every RPC (IMPLICIT_CODES, test/contracts/check.ts).
// Inputs per RPC and the code distribution go to .run/security/fuzz.json.
// Then two targeted attacks (issue 14): 5,000 concurrent WatchProduct opens from one caller, and
// huge or deeply nested messages to the Python service, each answered with one exact code.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { defaultLimits } from "@shopmesh/mesh";
import { rawClient } from "@shopmesh/mesh/testing";
import { IMPLICIT_CODES, listedCodes } from "../contracts/check.js";
import { allRpcs, descriptorSet, type Rpc } from "./contracts.js";
import { createRng, deepLengthDelimited, fuzzInput, hugeString, lengthDelimited, nestedGroups, type InputKind } from "./fuzz-inputs.js";
import { bearer, codeName, rawCall, type CallResult } from "./raw-call.js";
import { startShop, type ServiceName, type Shop } from "./shop.js";
import { createFixture, encode, entryOf, type Fixture } from "./valid-requests.js";

const PER_RPC = Math.max(2000, Number(process.env.SECURITY_FUZZ_PER_RPC ?? 2000));
const CONCURRENCY = 48;
const UNARY_DEADLINE_MS = 10_000;
const SEED = Number(process.env.SECURITY_FUZZ_SEED ?? Date.now() % 2 ** 31);
// The heap in use after a full GC is the tight bound, after every batch: it went from 45 to at
// most 53 MB over a whole run (2026-12-03), so 25 MB of growth is a leak, not noise. RSS also holds
// what V8 and glibc keep after freeing (auth's scrypt takes 16 MiB a login from malloc, and the
// size edges send 4 MiB messages), so it peaks after some batches (+231 MB after UpsertProduct's)
// and is checked once, after the last: +155 MB in that run. Without the full GC, RSS had grown 233
// to 310 MB by the end of the run.
const RSS_BOUND_MB = 300;
const HEAP_BOUND_MB = 25;
const rpcs = allRpcs();
const listed = listedCodes(descriptorSet);
let shop: Shop;
let f: Fixture;

interface RpcRecord {
  inputs: number;
  withoutToken: number;
  kinds: Partial<Record<InputKind | "huge-under-max" | "huge-over-max", number>>;
  codes: Record<string, number>;
  /** The first status message of each code, to tell where an unlisted code came from. */
  firstDetails: Record<string, string>;
  /** Codes answered that the RPC's Errors: line does not list (and no runtime code). */
  unlisted: string[];
  ms: number;
}
const records: Record<string, RpcRecord> = {};
const problems: string[] = [];
/**
 * Bugs this test found that belong to another owner, reported with a proposed fix; matching answers
 * are counted in fuzz.json (knownIssues) instead of failing the run, so that every other check
 * stays enforced. Remove an entry once it is fixed.
 */
// Known bugs that may answer INTERNAL, each with its issue, while it is open. Empty: the two found
// by this fuzzer (recommendation's undecodable requests, catalog's racing upserts) are fixed.
const KNOWN_ISSUES: { service: ServiceName; rpc?: string; code: number; details: string; issue: string }[] = [];
const knownIssues: Record<string, number> = {};
/** Up to 5 inputs per RPC that got INTERNAL (base64), so a finding can be replayed. */
const internalSamples: Record<string, { kind: string; base64: string }[]> = {};
/** The Python service's RSS before and after the batches (this process's is in `memory`). */
const rss: Record<string, { beforeMb: number; afterMb: number }> = {};
/** This process's memory after a full GC: before the batches, then after each. */
const memory: { after: string; rssMb: number; heapMb: number }[] = [];
/** What the targeted attacks got, for fuzz.json. */
const targeted: { streams?: Record<string, number>; python: Record<string, string> } = { python: {} };

// What a status must never look like: a leaked stack or source location, or a transport failure.
const STACK = /\n\s+at |\bat .+\.(ts|js|mjs):\d+|\.(ts|js|py):\d+:\d+|Traceback \(most recent/;
const DROPPED = /RST_STREAM|Connection dropped|Stream removed|Socket closed|ECONNRESET|write after end/i;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Runs a full GC, then records the RSS and the heap in use. */
function sampleMemory(after: string): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("global.gc is missing: run node with --expose-gc (scripts/jest.sh does)");
  gc();
  const m = process.memoryUsage();
  memory.push({ after, rssMb: Math.round(m.rss / 2 ** 20), heapMb: Math.round(m.heapUsed / 2 ** 20) });
}

beforeAll(async () => {
  shop = await startShop();
  f = await createFixture(shop);
  sampleMemory("start");
  if (shop.recommendationPid) rss.recommendation = { beforeMb: rssMb(shop.recommendationPid), afterMb: 0 };
}, 90_000);

afterAll(async () => {
  const dir = path.resolve(import.meta.dirname, "../../.run/security");
  mkdirSync(dir, { recursive: true });
  const totals: Record<string, number> = {};
  for (const r of Object.values(records)) for (const [c, n] of Object.entries(r.codes)) totals[c] = (totals[c] ?? 0) + n;
  const inputs = Object.values(records).reduce((s, r) => s + r.inputs, 0);
  writeFileSync(path.join(dir, "fuzz.json"), `${JSON.stringify({ seed: SEED, perRpcMin: PER_RPC, inputs, totals, rss, memory, problems, knownIssues, internalSamples, targeted, rpcs: records }, null, 2)}\n`);
  const lines = Object.entries(records).map(([k, r]) =>
    `${k.padEnd(66)} ${String(r.inputs).padStart(5)} ${String(r.ms).padStart(6)}ms  ${Object.entries(r.codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}:${n}`).join(" ")}`);
  console.log(`fuzz seed ${SEED}: ${inputs} inputs over ${Object.keys(records).length} RPCs\n${lines.join("\n")}\ntotals ${JSON.stringify(totals)}\nmemory ${JSON.stringify([memory[0], memory[memory.length - 1]])}\nrss ${JSON.stringify(rss)}\nknown issues ${JSON.stringify(knownIssues)}`);
  await shop?.stop();
}, 60_000);

/** Runs `n` tasks with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < n) await task(next++);
  }));
}

function check(rpc: Rpc, kind: string, r: CallResult, streaming: boolean, ms: number): void {
  const where = `${rpc.key} [${kind}]`;
  const known = KNOWN_ISSUES.find((k) => k.service === rpc.service && (k.rpc === undefined || k.rpc === rpc.key) && k.code === r.code && k.details === r.details);
  if (known) {
    knownIssues[known.issue] = (knownIssues[known.issue] ?? 0) + 1;
    return;
  }
  if (r.code === status.UNKNOWN) problems.push(`${where}: UNKNOWN ${r.details}`);
  if (r.code < 0 || r.code > 16) problems.push(`${where}: not a gRPC code ${r.code}`);
  if (STACK.test(r.details)) problems.push(`${where}: stack trace in status: ${r.details.slice(0, 300)}`);
  if (DROPPED.test(r.details)) problems.push(`${where}: transport failure ${codeName(r.code)} ${r.details}`);
  // Bad input is the caller's fault: INTERNAL means an input reached code that did not expect it.
  if (r.code === status.INTERNAL) problems.push(`${where}: INTERNAL "${r.details.slice(0, 200)}"`);
  // Unary calls get 10 s; a stream that sends nothing for 1 s is legal (no change yet). A server
  // that answers DEADLINE_EXCEEDED itself before then (its database's own time limit) did not hang.
  if (r.code === status.DEADLINE_EXCEEDED && !streaming && ms >= UNARY_DEADLINE_MS - 500) problems.push(`${where}: hung until the deadline`);
}

async function healthy(service: ServiceName): Promise<string> {
  const r = await rawCall(shop.raw(service, "edge"), "/grpc.health.v1.Health/Check", Buffer.alloc(0), { deadlineMs: 5000 });
  // HealthCheckResponse { status = 1 (SERVING) } is the two bytes 08 01.
  return r.code === 0 && r.response?.equals(Buffer.from([0x08, 0x01])) ? "SERVING" : `${codeName(r.code)} ${r.details}`;
}

describe("fuzz every RPC with bytes", () => {
  test.each(rpcs.map((r) => [r.key, r] as const))("%s", async (_key, rpc) => {
    const started = Date.now();
    const streaming = rpc.method.methodKind === "server_streaming";
    const entry = entryOf(rpc);
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) seeds.push(encode(rpc, await entry.build(f)));
    // One PRNG per RPC, derived from the run's seed: an RPC's inputs do not depend on test order.
    const rng = createRng(SEED ^ [...rpc.key].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
    const rec: RpcRecord = { inputs: 0, withoutToken: 0, kinds: {}, codes: {}, firstDetails: {}, unlisted: [], ms: 0 };
    records[rpc.key] = rec;
    const client = shop.raw(rpc.service, rpc.callers[0]);
    const send = async (kind: string, bytes: Uint8Array, token: string | undefined) => {
      const t0 = Date.now();
      const r = await rawCall(client, rpc.path, Buffer.from(bytes), { streaming, token, deadlineMs: streaming ? 1000 : UNARY_DEADLINE_MS });
      rec.inputs++;
      if (token === undefined) rec.withoutToken++;
      rec.kinds[kind as InputKind] = (rec.kinds[kind as InputKind] ?? 0) + 1;
      const name = codeName(r.code);
      rec.codes[name] = (rec.codes[name] ?? 0) + 1;
      rec.firstDetails[name] ??= r.details.slice(0, 200);
      check(rpc, kind, r, streaming, Date.now() - t0);
      if (r.code === status.INTERNAL) {
        const list = (internalSamples[rpc.key] ??= []);
        if (list.length < 5) list.push({ kind, base64: Buffer.from(bytes).toString("base64") });
      }
    };

    await pool(PER_RPC, CONCURRENCY, async () => {
      const { kind, bytes } = fuzzInput(rpc.method.input, seeds, rng);
      await send(kind, bytes, rng() < 0.9 ? f.owner.token : undefined);
    });
    // The size edges, one at a time: just under the limit reaches the handler, just over is refused.
    const max = defaultLimits.maxMessageBytes;
    await send("huge-under-max", hugeString(rpc.method.input, max - 64), f.owner.token);
    const over = await rawCall(client, rpc.path, Buffer.from(hugeString(rpc.method.input, max + 1024)), { streaming, token: f.owner.token, deadlineMs: 10_000 });
    rec.inputs++;
    rec.kinds["huge-over-max"] = 1;
    rec.codes[codeName(over.code)] = (rec.codes[codeName(over.code)] ?? 0) + 1;
    rec.ms = Date.now() - started;
    rec.unlisted = Object.keys(rec.codes).filter((c) => c !== "OK" && !IMPLICIT_CODES.has(c) && !listed.get(rpc.key)?.has(c));
    sampleMemory(rpc.key);

    expect(codeName(over.code)).toBe("RESOURCE_EXHAUSTED");
    expect(rec.inputs).toBeGreaterThanOrEqual(PER_RPC + 2);
    expect(await healthy(rpc.service)).toBe("SERVING");
    expect(problems.filter((p) => p.startsWith(`${rpc.key} `))).toEqual([]);
    // The contract says what the handler does: every code it answered is in its Errors: line.
    expect(rec.unlisted.map((c) => `${c} (${rec.codes[c]}x, e.g. "${rec.firstDetails[c]}")`)).toEqual([]);
  }, 120_000);

  test("memory stays bounded after every batch", async () => {
    expect(Object.keys(records)).toHaveLength(rpcs.length);
    expect(memory).toHaveLength(rpcs.length + 1);
    const start = memory[0]!;
    const over = memory.filter((m) => m.heapMb - start.heapMb >= HEAP_BOUND_MB);
    expect(over.map((m) => `after ${m.after}: heap ${start.heapMb} → ${m.heapMb} MB`)).toEqual([]);
    expect(memory[memory.length - 1]!.rssMb - start.rssMb).toBeLessThan(RSS_BOUND_MB);
    if (shop.recommendationPid) {
      rss.recommendation!.afterMb = rssMb(shop.recommendationPid);
      expect(rss.recommendation!.afterMb - rss.recommendation!.beforeMb).toBeLessThan(RSS_BOUND_MB);
    }
    // Every service still serves after all batches (a late crash would show here).
    for (const s of ["auth", "catalog", "cart", "payment", "order", "recommendation"] as const) expect(`${s}: ${await healthy(s)}`).toBe(`${s}: SERVING`);
  });
});

const rpcByKey = (key: string): Rpc => {
  const rpc = rpcs.find((r) => r.key === key);
  if (rpc === undefined) throw new Error(`${key} is not in the contracts`);
  return rpc;
};
const idBytes = (b: Buffer) => b;

describe("5,000 concurrent stream opens on catalog, from one caller", () => {
  const N = 5000;
  const { maxConcurrentStreams, maxStreamsPerCaller } = defaultLimits;

  test(`${maxStreamsPerCaller} held (the per-caller cap), ${N - maxStreamsPerCaller} RESOURCE_EXHAUSTED, and unary GetProduct answers meanwhile`, async () => {
    const watch = rpcByKey("shop.catalog.v2.CatalogService/WatchProduct");
    const get = rpcByKey("shop.catalog.v2.CatalogService/GetProduct");
    // The server budget (2048) is far above the cap, so the cap is what holds: one caller, one JWT
    // subject (mesh/src/serve.ts counts streams per end user when a valid token came).
    expect(maxStreamsPerCaller).toBeLessThan(maxConcurrentStreams);
    const token = await shop.mesh.signToken({ sub: `stream-caller-${shop.tag}` });
    // A client of its own, so the 5,000 streams share no connection with the other tests.
    const client = rawClient(shop.mesh, shop.ports.catalog, "edge", "catalog");
    const body = encode(watch, { id: f.productId });
    const calls: ClientReadableStream<Buffer>[] = [];
    const open = () => new Promise<{ outcome: string; details: string }>((resolve) => {
      const call = client.makeServerStreamRequest(watch.path, idBytes, idBytes, body, bearer(token), {});
      calls.push(call);
      // The first event decides: a message (the product's current state) means the stream is held.
      call.on("data", () => resolve({ outcome: "held", details: "" }));
      call.on("error", (e: ServiceError) => resolve({ outcome: codeName(e.code), details: e.details }));
      call.on("status", (st) => resolve({ outcome: codeName(st.code), details: st.details }));
    });
    try {
      const outcomes = await Promise.all(Array.from({ length: N }, open));
      const counts: Record<string, number> = {};
      for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1;
      const refused = outcomes.filter((o) => o.outcome === "RESOURCE_EXHAUSTED");
      const byCap = refused.filter((o) => o.details.includes("for this caller")).length;
      const byBudget = refused.filter((o) => o.details.includes("on this server")).length;
      targeted.streams = { opened: N, ...counts, refusedByCallerCap: byCap, refusedByServerBudget: byBudget };
      expect(counts).toEqual({ held: maxStreamsPerCaller, RESOURCE_EXHAUSTED: N - maxStreamsPerCaller });
      // Every refusal says which limit it hit; none leaks anything else.
      expect(byCap + byBudget).toBe(refused.length);

      // Unary calls have a budget of their own: held streams do not starve them.
      const unary = await Promise.all(Array.from({ length: 100 }, () =>
        rawCall(shop.raw("catalog", "edge"), get.path, encode(get, { id: f.productId }), { token, deadlineMs: 10_000 })));
      expect(unary.map((r) => codeName(r.code))).toEqual(Array<string>(100).fill("OK"));
      targeted.streams.unaryOkWhileHeld = unary.length;
    } finally {
      for (const c of calls) c.cancel();
    }
    // The cap is released with the streams: the same caller opens one again (after the server
    // has seen the cancellations).
    let again = "";
    for (let i = 0; i < 50 && again !== "OK"; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      again = codeName((await rawCall(client, watch.path, body, { streaming: true, token, deadlineMs: 5000 })).code);
    }
    client.close();
    expect(again).toBe("OK");
  }, 120_000);
});

describe("huge and deeply nested messages to the Python service", () => {
  const list = rpcByKey("shop.recommendation.v1.RecommendationService/ListRecommendations");
  const record = rpcByKey("shop.recommendation.v1.RecommendationService/RecordPurchase");
  const FIVE_MB = 5 * 1024 * 1024;
  const DEPTH = 1_000_000;
  // Field 15 is unknown to both request messages.
  const UNKNOWN = 15;
  const cases: { name: string; rpc: Rpc; bytes: () => Promise<Uint8Array>; expected: number }[] = [
    // Over the 4 MiB limit: grpcio refuses it before any of our code runs.
    { name: "ListRecommendations, a 5 MB excluded product id", rpc: list, bytes: async () => hugeString(list.method.input, FIVE_MB),
      expected: status.RESOURCE_EXHAUSTED },
    { name: "RecordPurchase, a 5 MB order id", rpc: record, bytes: async () => hugeString(record.method.input, FIVE_MB),
      expected: status.RESOURCE_EXHAUSTED },
    // Groups must be parsed to be skipped; upb stops at its depth limit (100) and the service
    // answers the DecodeError as InvalidArgument (server.py), never a crash or Internal.
    { name: `ListRecommendations, ${DEPTH.toLocaleString("en")} nested groups of an unknown field`, rpc: list,
      bytes: async () => nestedGroups(UNKNOWN, DEPTH), expected: status.INVALID_ARGUMENT },
    { name: `ListRecommendations, ${DEPTH.toLocaleString("en")} unterminated groups`, rpc: list,
      bytes: async () => nestedGroups(UNKNOWN, DEPTH, false), expected: status.INVALID_ARGUMENT },
    { name: `RecordPurchase, ${DEPTH.toLocaleString("en")} nested groups inside an item`, rpc: record,
      bytes: async () => lengthDelimited(2, nestedGroups(UNKNOWN, DEPTH)), expected: status.INVALID_ARGUMENT },
    // An unknown length-delimited field is kept as bytes, never parsed, however deep its insides:
    // the rest of the request is served as if it were not there.
    { name: "ListRecommendations, an unknown field nesting 100,000 length-delimited levels", rpc: list,
      bytes: async () => Buffer.concat([encode(list, await entryOf(list).build(f)), deepLengthDelimited(UNKNOWN, 100_000, Buffer.from("x"))]),
      expected: status.OK },
    { name: "RecordPurchase, a valid purchase with an unknown field nesting 100,000 length-delimited levels", rpc: record,
      bytes: async () => Buffer.concat([encode(record, await entryOf(record).build(f)), deepLengthDelimited(UNKNOWN, 100_000, Buffer.from("x"))]),
      expected: status.OK },
  ];

  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const bytes = Buffer.from(await c.bytes());
    const r = await rawCall(shop.raw("recommendation", c.rpc.callers[0]), c.rpc.path, bytes, { token: f.owner.token, deadlineMs: 20_000 });
    targeted.python[c.name] = `${codeName(r.code)} (${bytes.length} bytes)`;
    expect(`${codeName(r.code)}: ${STACK.test(r.details) ? "stack trace in status" : "no stack"}`).toBe(`${codeName(c.expected)}: no stack`);
    // Still alive and still answering a valid call, on the same connection.
    expect(() => process.kill(shop.recommendationPid!, 0)).not.toThrow();
    const after = await rawCall(shop.raw("recommendation", "edge"), list.path, encode(list, await entryOf(list).build(f)), { token: f.owner.token, deadlineMs: 10_000 });
    expect(codeName(after.code)).toBe("OK");
    expect(await healthy("recommendation")).toBe("SERVING");
  }, 60_000);
});
