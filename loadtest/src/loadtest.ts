// make loadtest: runs every scenario in loadtest/scenarios against the edge with ghz, one after the
// other, writes ghz's HTML and JSON per scenario and summary.json to .run/loadtest/, and prints a
// table. Bounded: each scenario runs LOADTEST_DURATION (or a fixed count of orders), loopback only.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createEdgeClient } from "./edge-client.js";
import { renderHtml, runGhz } from "./ghz.js";
import { parseScenario, renderScenario, type Scenario } from "./scenario.js";
import { emptyCarts, fillCarts, listProductIds } from "./shop-setup.js";
import { formatTable, summarizeReport, type ScenarioSummary } from "./summary.js";
import { ensureUsers } from "./users.js";

/** Settings of a loadtest run, from the environment. */
export interface LoadtestConfig {
  /** The edge, host:port. Must be loopback. */
  edge: string;
  /** Per-scenario duration, ghz syntax ("30s"). */
  duration: string;
  /** ghz workers. */
  concurrency: number;
  /** Orders (and users with a filled cart) of the PlaceOrder scenario. */
  orders: number;
  /** Users whose tokens the authenticated duration scenarios rotate through. */
  users: number;
  /** Only these scenarios, when set. */
  only: string[];
  /** Output directory. */
  outDir: string;
  /** Repository root. */
  root: string;
}

function positiveInt(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`${key} must be an integer from 1 to 10000, got "${raw}"`);
  return n;
}

/** Reads the run's settings; fails at start on a bad value rather than mid-run. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoadtestConfig {
  const root = resolve(env.LOADTEST_ROOT ?? ".");
  const duration = env.LOADTEST_DURATION || "30s";
  if (!/^\d+(ms|s|m)$/.test(duration)) throw new Error(`LOADTEST_DURATION must look like 30s, 500ms or 2m, got "${duration}"`);
  const edge = env.LOADTEST_EDGE || "127.0.0.1:8080";
  // Loopback only: this tool must never be pointed at someone else's machine by accident.
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(edge)) throw new Error(`LOADTEST_EDGE must be a loopback host:port, got "${edge}"`);
  const concurrency = positiveInt(env, "LOADTEST_CONCURRENCY", 20);
  return {
    edge,
    duration,
    concurrency,
    orders: positiveInt(env, "LOADTEST_ORDERS", 200),
    users: positiveInt(env, "LOADTEST_USERS", Math.max(20, concurrency)),
    only: (env.LOADTEST_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    outDir: resolve(root, env.LOADTEST_OUT || ".run/loadtest"),
    root,
  };
}

/** Reads and validates every scenario file, sorted by name. */
export function loadScenarios(dir: string): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => parseScenario(f, JSON.parse(readFileSync(join(dir, f), "utf8"))));
}

/**
 * Which mesh serves the edge: "istio" when make up MESH=istio recorded istiod, "local" when the
 * local mesh runs, undefined when neither does. MESH=istio|local on the command line must match
 * it, so a run is never labelled with the wrong data plane.
 */
export function runningMesh(root: string, asked: string | undefined): "local" | "istio" | undefined {
  let names: string[] = [];
  try {
    names = (JSON.parse(readFileSync(join(root, ".run/mesh.json"), "utf8")) as { name: string }[]).map((p) => p.name);
  } catch {
    // No mesh recorded.
  }
  const mode = names.length === 0 ? undefined : names.includes("istiod") ? "istio" : "local";
  if (asked && asked !== mode) {
    throw new Error(`MESH=${asked}, but ${mode ? `the mesh runs in ${mode} mode` : "no mesh runs"}: make up${asked === "istio" ? " MESH=istio" : ""} first`);
  }
  return mode;
}

async function main(): Promise<void> {
  const cfg = loadConfig();
  const mesh = runningMesh(cfg.root, process.env.MESH || undefined);
  if (mesh === "istio") console.log("loadtest: through the Istio ingress gateway and the Envoy sidecars (make up MESH=istio)");
  mkdirSync(cfg.outDir, { recursive: true });
  const scenarios = loadScenarios(join(cfg.root, "loadtest/scenarios")).filter(
    (s) => cfg.only.length === 0 || cfg.only.includes(s.name),
  );
  const client = createEdgeClient({ address: cfg.edge });
  try {
    const productIds = await listProductIds(client);
    const needUsers = Math.max(
      scenarios.some((s) => s.auth && s.mode !== "one-per-cart") ? cfg.users : 0,
      scenarios.some((s) => s.mode === "one-per-cart") ? cfg.orders : 0,
    );
    const t0 = Date.now();
    const users = needUsers ? await ensureUsers(client, { count: needUsers, file: join(cfg.outDir, "users.json") }) : [];
    if (users.length) console.log(`loadtest: ${users.length} users logged in (${Date.now() - t0} ms)`);
    const rows: ScenarioSummary[] = [];
    for (const s of scenarios) {
      const oneEach = s.mode === "one-per-cart";
      const tokens = users.slice(0, oneEach ? cfg.orders : cfg.users).map((u) => u.token);
      if (oneEach) await fillCarts(client, tokens, productIds);
      const { data, metadata } = renderScenario(s, { productIds, tokens: s.auth ? tokens : [] });
      const jsonOut = join(cfg.outDir, `${s.name}.json`);
      const html = join(cfg.outDir, `${s.name}.html`);
      console.log(`loadtest: ${s.name} (${oneEach ? `${cfg.orders} calls` : cfg.duration}, concurrency ${cfg.concurrency})`);
      const report = await runGhz({
        ghz: join(cfg.root, ".bin/ghz"),
        protoset: join(cfg.root, "gen/shop.binpb"),
        target: cfg.edge,
        call: s.call,
        data,
        ...(metadata ? { metadata } : {}),
        ...(oneEach ? { total: cfg.orders } : { duration: cfg.duration }),
        concurrency: Math.min(cfg.concurrency, oneEach ? cfg.orders : cfg.concurrency),
        name: s.name,
        jsonOut,
      });
      await renderHtml(join(cfg.outDir, "bin/ghz-html"), jsonOut, html);
      rows.push(summarizeReport(s.name, report, html));
    }
    if (users.length) await emptyCarts(client, users.slice(0, cfg.users).map((u) => u.token));
    const summary = {
      date: new Date().toISOString(),
      mesh,
      edge: cfg.edge,
      duration: cfg.duration,
      concurrency: cfg.concurrency,
      orders: cfg.orders,
      scenarios: rows,
    };
    writeFileSync(join(cfg.outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
    console.log(`\n${formatTable(rows)}\n\nHTML reports and summary.json in ${cfg.outDir}`);
    const failed = rows.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);
    if (failed > 0) {
      console.error(`loadtest: ${failed} calls failed`);
      process.exitCode = 1;
    }
  } finally {
    client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`loadtest: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
