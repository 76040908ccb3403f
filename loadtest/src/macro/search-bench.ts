// make bench's SearchProducts rows (issue 17): SearchProducts' p99 with the shop's 62 products and
// with 100,000, side by side. The big catalog lives in a database of its own (the running shop's is
// never touched): its products are copies of the stored fixtures, each with its own id and a serial
// in its name, inserted the way catalog stores them. A second catalog process, the running
// catalog's own command line (its V8 caps too) and settings on that database, loads them into its view; ghz then
// calls both catalogs directly over mTLS with the same queries. Dropping the database afterwards
// is one command, where deleting 100,000 documents one filter at a time is not (FerretDB turns a
// large $in into more SQL variables than SQLite takes).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { MongoClient } from "mongodb";
import { runGhz, type GhzRunOptions } from "../ghz.js";
import { summarizeReport } from "../summary.js";
import { rssMiB } from "./proc.js";

/** The queries, each a kind of search a shopper makes. */
export const SEARCH_QUERIES = {
  /** A word in about one product in 62: at 100k, 1,600 matches, more than a page. */
  common: "Drill",
  /** One serial: at 100k, a handful of candidates. */
  rare: "#04217",
  /** Three code points no product holds. */
  none: "qzx",
} as const;

/** What searchBench measured. */
export interface SearchBenchResult {
  products: number;
  /** p99 ms per query, against the shop's catalog and against the big one. */
  p99Ms: { fixture: Record<string, number>; big: Record<string, number> };
  /** Calls per second per query, at each size. */
  rps: { fixture: Record<string, number>; big: Record<string, number> };
  /** The worst query's p99 at each size. */
  worstP99Ms: { fixture: number; big: number };
  /** Calls that did not answer OK, by "<size> <query>:<code>". */
  errors: Record<string, number>;
  seedSeconds: number;
  loadSeconds: number;
  /** RSS of the big catalog once loaded, MiB. */
  bigCatalogRssMiB: number | undefined;
}

/** Options of searchBench. */
export interface SearchBenchOptions {
  root: string;
  mongoUrl: string;
  /** The running catalog, direct: address and the mTLS files ghz presents. */
  catalogAddr: string;
  tls: NonNullable<GhzRunOptions["tls"]>;
  products: number;
  seconds: number;
  concurrency: number;
  outDir: string;
}

const DB = "shop_catalog_bench_search";

/** The running catalog as make up recorded it (.run/mesh.json): its command line (V8 flags and caps
 * included) and its environment, which the big catalog starts with. */
function catalogRecord(root: string): { command: string[]; env: Record<string, string> } {
  const procs = JSON.parse(readFileSync(join(root, ".run/mesh.json"), "utf8")) as { name: string; command: string[]; env?: Record<string, string> }[];
  const rec = procs.find((p) => p.name === "catalog");
  if (!rec?.env) throw new Error("no running catalog recorded in .run/mesh.json: run make up first");
  return { command: rec.command, env: rec.env };
}

/** A child that has not exited, by a code or a signal. */
const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/**
 * Starts the catalog's recorded command with `env` and hands the child to `started` at once (so
 * the caller stops it whatever happens next); resolves with its gRPC port once it serves, and
 * refuses a catalog that loaded fewer than `products`.
 */
async function startCatalog(command: string[], env: Record<string, string>, products: number, started: (c: ChildProcess) => void): Promise<number> {
  const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  started(child);
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bench catalog did not serve within 120 s")), 120_000);
    const fail = (err: Error) => { clearTimeout(timer); reject(err); };
    child.once("error", fail);
    child.once("exit", (code, sig) => fail(new Error(`the bench catalog exited with ${code ?? sig}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.includes('"catalog serving"')) return;
      let o: { port?: number; products?: number };
      try {
        o = JSON.parse(line) as typeof o;
      } catch {
        return;
      }
      if (o.products !== products) fail(new Error(`the bench catalog loaded ${o.products} products, not ${products}`));
      else if (o.port) { clearTimeout(timer); resolve(o.port); }
    });
  });
}

/** Measures SearchProducts at the shop's size and at `products` (see the file comment). */
export async function searchBench(o: SearchBenchOptions): Promise<SearchBenchResult> {
  const mongo = await MongoClient.connect(o.mongoUrl);
  let child: ChildProcess | undefined;
  try {
    const db = mongo.db(DB);
    await db.dropDatabase();
    const fixtures = await mongo.db("shop_catalog").collection<Record<string, unknown> & { _id: string; name: string }>("products").find().toArray();
    if (fixtures.length === 0) throw new Error("the shop's catalog is empty");
    const t0 = performance.now();
    const products = db.collection<Record<string, unknown> & { _id: string }>("products");
    for (let from = 0; from < o.products; from += 1000) {
      const batch = [];
      for (let i = from; i < Math.min(from + 1000, o.products); i++) {
        const f = fixtures[i % fixtures.length]!;
        const serial = String(i).padStart(5, "0");
        batch.push({ ...f, _id: `${f._id}-b${serial}`, name: `${f.name} #${serial}` });
      }
      await products.insertMany(batch, { ordered: false });
    }
    const seedSeconds = Math.round((performance.now() - t0) / 100) / 10;

    const t1 = performance.now();
    const rec = catalogRecord(o.root);
    const port = await startCatalog(rec.command, { ...rec.env, PORT: "0", ADMIN_PORT: "0", MONGO_DB: DB,
      REDIS_PREFIX: "catalog-bench-search:", CATALOG_SEED: "false", MESH_INSTANCE: "catalog-bench-search" }, o.products, (c) => { child = c; });
    const loadSeconds = Math.round((performance.now() - t1) / 100) / 10;
    const bigCatalogRssMiB = rssMiB(child!.pid!);

    const p99Ms: SearchBenchResult["p99Ms"] = { fixture: {}, big: {} };
    const rps: SearchBenchResult["rps"] = { fixture: {}, big: {} };
    const errors: Record<string, number> = {};
    const targets = { fixture: o.catalogAddr, big: `127.0.0.1:${port}` } as const;
    for (const [name, query] of Object.entries(SEARCH_QUERIES)) {
      for (const size of ["fixture", "big"] as const) {
        const report = await runGhz({
          ghz: join(o.root, ".bin/ghz"), protoset: join(o.root, "gen/shop.binpb"),
          call: "shop.catalog.v2.CatalogService/SearchProducts", data: JSON.stringify({ query, pageSize: 20 }),
          duration: `${o.seconds}s`, concurrency: o.concurrency, target: targets[size], tls: o.tls,
          name: `search-${size}-${name}`, jsonOut: join(o.outDir, `search-${size}-${name}.json`),
        });
        const row = summarizeReport(name, report, "");
        p99Ms[size][name] = row.p99;
        rps[size][name] = row.rps;
        for (const [code, n] of Object.entries(row.errors)) errors[`${size} ${name}:${code}`] = n;
      }
    }
    const worst = (r: Record<string, number>) => Math.max(...Object.values(r));
    return { products: o.products, p99Ms, rps, worstP99Ms: { fixture: worst(p99Ms.fixture), big: worst(p99Ms.big) },
      errors, seedSeconds, loadSeconds, bigCatalogRssMiB };
  } finally {
    const c = child as ChildProcess | undefined;
    if (c && running(c)) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await exited;
    }
    await mongo.db(DB).dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}
