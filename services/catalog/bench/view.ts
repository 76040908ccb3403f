// Measurements behind catalog's in-memory view (docs/architecture.md, "The catalog view"). Not a
// test: it prints figures. Run from the repo root with
//   node --expose-gc --import ./bench/register.mjs services/catalog/bench/view.ts getproduct|load|search
// `getproduct`: catalog (services/catalog/src/main.ts, or CATALOG_MAIN: another checkout's, to
//   compare) in a child process on free ports, with its own FerretDB and Redis, and ghz calling v2
//   GetProduct on it directly with mTLS.
// `load`: a full reload of the view from FerretDB, for the 62 seeded products and for 100,000,
//   with the time, FerretDB's CPU and the heap the view takes.
// `search`: SearchProducts over 100,000 products in memory, brute force against the index.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { MongoClient } from "mongodb";
import { createTestMesh } from "@shopmesh/mesh/testing";
import { freePort, startFerretDb, startRedis, waitForPort } from "../../../test/support/stores.js";
import { readSeedProducts, toRecords } from "../src/seed/seed.js";
import { createMongoProductStore } from "../src/store/mongo-product-store.js";
import type { ProductRecord } from "../src/store/product-store.js";
import { createProductView, type ProductView } from "../src/store/product-view.js";
import { literalMatcher } from "../src/store/search-index.js";

const root = join(import.meta.dirname, "..", "..", "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.slice(0, 2000)}`))));
  });
}

async function getProduct(): Promise<void> {
  const [mongo, redis, mesh] = await Promise.all([startFerretDb(), startRedis(), createTestMesh()]);
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, ["--max-semi-space-size=32", "--import", "./bench/register.mjs",
      process.env.CATALOG_MAIN ?? "services/catalog/src/main.ts"], {
      cwd: root, stdio: "ignore",
      env: { ...process.env, PORT: String(port), ADMIN_PORT: "0", MONGO_URL: mongo.url, REDIS_URL: redis.url,
        MESH_CERT_DIR: mesh.certDir, MESH_SERVICE_NAME: "catalog", JWKS_URL: "http://127.0.0.1:9/unused", LOG_LEVEL: "warn" },
    });
    await waitForPort(port, 60_000, child);
    const id = (JSON.parse(readFileSync(join(root, "services/catalog/src/seed/products.json"), "utf8")) as { id: string }[])[0]!.id;
    const out = join(tmpdir(), `catalog-ghz-${process.pid}.json`);
    const ghz = (duration: string) => run(join(root, ".bin", "ghz"), [
      `--protoset=${join(root, "gen/shop.binpb")}`, "--call=shop.catalog.v2.CatalogService/GetProduct",
      `--data={"id":"${id}"}`, `--concurrency=${CONCURRENCY}`, "--connections=1", `--duration=${duration}`,
      "--duration-stop=wait", `--cacert=${join(mesh.certDir, "ca.pem")}`, `--cert=${join(mesh.certDir, "edge.pem")}`,
      `--key=${join(mesh.certDir, "edge-key.pem")}`, "--cname=catalog", "--format=json", `--output=${out}`, `127.0.0.1:${port}`]);
    await ghz("2s"); // warm-up: JIT, TLS, and (before the view) the Redis cache entry
    for (let r = 1; r <= ROUNDS; r++) {
      const cpu0 = cpuSeconds(child.pid!);
      await ghz(`${SECONDS}s`);
      const cpu = cpuSeconds(child.pid!) - cpu0;
      const rep = JSON.parse(readFileSync(out, "utf8")) as { count: number; rps: number;
        latencyDistribution: { percentage: number; latency: number }[] | null; statusCodeDistribution: Record<string, number> };
      const p99 = (rep.latencyDistribution ?? []).find((l) => l.percentage === 99)?.latency ?? 0;
      console.log(`round ${r}: ${Math.round(rep.rps)} calls/s, p99 ${(p99 / 1e6).toFixed(2)} ms, catalog CPU ` +
        `${((cpu * 1e6) / rep.count).toFixed(0)} µs/call, status ${JSON.stringify(rep.statusCodeDistribution)}`);
    }
    rmSync(out, { force: true });
  } finally {
    child?.kill("SIGTERM");
    await Promise.all([mongo.stop(), redis.stop()]);
    mesh.dispose();
  }
}

// A fixed seed, so every run generates the same products.
let state = 42;
function rnd(n: number): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state >>> 8) % n;
}
const B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const code = (n: number) => Array.from({ length: n }, () => B36[rnd(36)]).join("");

/** n products shaped like the seed ones: a seed name plus a model code, its description and categories. */
function generated(n: number): ProductRecord[] {
  const seed = toRecords(readSeedProducts());
  return Array.from({ length: n }, () => {
    const s = seed[rnd(seed.length)]!;
    return { ...s, id: code(10), name: `${s.name} ${code(4)}`, price: { currencyCode: "USD", amountMinor: 100 + rnd(50_000) },
      stock: rnd(100), updateTime: new Date() };
  });
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function load(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) throw new Error("run node with --expose-gc");
  const mongo = await startFerretDb();
  try {
    for (const [name, products] of [["62 seeded", toRecords(readSeedProducts())], ["100,000", generated(100_000)]] as const) {
      const db = `bench_view_${products.length}`;
      const m = await MongoClient.connect(mongo.url);
      const coll = m.db(db).collection("products");
      const t0 = performance.now();
      for (let i = 0; i < products.length; i += 1_000) {
        await coll.insertMany(products.slice(i, i + 1_000).map(({ id, ...rest }) => ({ _id: id, ...rest })) as never[]);
      }
      console.log(`${name}: inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const store = createMongoProductStore({ url: mongo.url, db });
      await store.all(); // connect and warm up
      for (let r = 1; r <= ROUNDS; r++) {
        const f0 = cpuSeconds(mongo.pid);
        const c0 = process.cpuUsage();
        const t = performance.now();
        const all = await store.all();
        const ms = performance.now() - t;
        const c1 = process.cpuUsage(c0);
        console.log(`${name}: full read ${ms.toFixed(0)} ms, FerretDB CPU ${((cpuSeconds(mongo.pid) - f0) * 1000).toFixed(0)} ms, ` +
          `catalog CPU ${((c1.user + c1.system) / 1000).toFixed(0)} ms (${all.length} products)`);
      }
      gc();
      const h0 = process.memoryUsage().heapUsed;
      let view: ProductView | undefined = createProductView();
      const t = performance.now();
      await view.reload(() => store.all());
      const loadMs = performance.now() - t;
      gc();
      const h1 = process.memoryUsage().heapUsed;
      console.log(`${name}: first load (read + build) ${loadMs.toFixed(0)} ms, heap ${mb(h0)} → ${mb(h1)} MB: the view takes ${mb(h1 - h0)} MB`);
      // A periodic resync when nothing changed: its time, and the longest the event loop stalled.
      for (let r = 1; r <= ROUNDS; r++) {
        const delay = monitorEventLoopDelay({ resolution: 5 });
        delay.enable();
        const t1 = performance.now();
        const { changed } = await view.reload(() => store.all());
        delay.disable();
        console.log(`${name}: resync ${(performance.now() - t1).toFixed(0)} ms (${changed} changed), ` +
          `longest event-loop stall ${(delay.max / 1e6).toFixed(0)} ms`);
      }
      view = undefined;
      // Today's search, for comparison: the $regex MongoDB query over every product.
      const today = async (q: string) => {
        const t2 = performance.now();
        await coll.find({ $or: [{ name: { $regex: q, $options: "i" } }, { description: { $regex: q, $options: "i" } }] })
          .sort({ _id: 1 }).limit(500).toArray();
        return performance.now() - t2;
      };
      const selective = products[products.length >> 1]!.name.slice(-4);
      console.log(`${name}: search on FerretDB (before the view): selective "${selective}" ${(await today(selective)).toFixed(0)} ms, ` +
        `unselective "with" ${(await today("with")).toFixed(0)} ms`);
      await store.close();
      await m.db(db).dropDatabase();
      await m.close();
    }
  } finally {
    await mongo.stop();
  }
}

async function search(): Promise<void> {
  const products = generated(100_000);
  const view = createProductView();
  await view.reload(async () => products);
  const ordered = [...products].sort((a, b) => (a.id < b.id ? -1 : 1));
  // The best brute force: every product in id order, stopping at the 500th match.
  const brute = (q: string) => {
    const re = literalMatcher(q);
    const out: ProductRecord[] = [];
    for (const p of ordered) if ((re.test(p.name) || re.test(p.description)) && out.push(p) === 500) break;
    return out;
  };
  const model = products[54_321]!.name.slice(-4);
  const cases: [string, string][] = [["selective (a model code)", model], ["selective (a word)", "jasmine"],
    ["unselective", "with"], ["unselective, 1 character", "e"], ["rare, 2 characters (no trigram: scans)", "qz"], ["no match", "zebra"]];
  for (const [label, q] of cases) {
    const time = (f: () => ProductRecord[]) => {
      const runs: number[] = [];
      let n = 0;
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        n = f().length;
        runs.push(performance.now() - t);
      }
      return { ms: median(runs), n };
    };
    const b = time(() => brute(q));
    const v = time(() => view.search(q, 500));
    if (b.n !== v.n) throw new Error(`"${q}": brute force found ${b.n}, the index ${v.n}`);
    console.log(`${label} "${q}": ${v.n} matches (first 500), brute force ${b.ms.toFixed(2)} ms, index ${v.ms.toFixed(3)} ms`);
  }
  const list = (label: string, f: () => unknown) => {
    const runs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      f();
      runs.push(performance.now() - t);
    }
    console.log(`list ${label}: ${median(runs).toFixed(3)} ms`);
  };
  list("first page of 21", () => view.list({ limit: 21 }));
  list("a category, page of 21", () => view.list({ limit: 21, category: "coffee" }));
  list("a category that no product has (scans all)", () => view.list({ limit: 21, category: "none" }));
  list("price 100-110 cents, page of 21", () => view.list({ limit: 21, price: { currencyCode: "USD", min: 100, max: 110 } }));
}

const what = process.argv[2];
const jobs: Record<string, () => Promise<void>> = { getproduct: getProduct, load, search };
const job = what === undefined ? undefined : jobs[what];
if (!job) {
  console.error(`usage: view.ts ${Object.keys(jobs).join("|")}`);
  process.exit(2);
}
await job();
