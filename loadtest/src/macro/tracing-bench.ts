// make bench's tracing row (issue 18): the same GetProduct and PlaceOrder load through the edge of
// `make up OBSERVE=1` with tracing off (OTEL_SDK_DISABLED=true), at 10% sampling and at 100%,
// one after the other in one run, the mesh restarted for each setting (the sampler is read at
// start). Zipkin and Prometheus run in all three, so only the tracing differs. GetProduct runs
// closed-loop (ghz as fast as its workers go: throughput), PlaceOrder as users checking out
// without think time. Medians over rounds. Writes bench/results/tracing.json; never fails on a
// figure. It starts from any running mesh (or none) and leaves the local mesh running, without
// OBSERVE.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runJourney } from "../journey.js";
import { median } from "../latency.js";
import { summarizeReport } from "../summary.js";
import { EDGE, knob, meshCli, prepareLoad, root, round2 } from "./bench-run.js";

const SECONDS = knob("BENCH_TRACING_SECONDS", 5);
const ROUNDS = knob("BENCH_TRACING_ROUNDS", 3);
const USERS = knob("BENCH_TRACING_USERS", 20);

const settings: { name: string; env: Record<string, string> }[] = [
  { name: "off", env: { OTEL_SDK_DISABLED: "true" } },
  { name: "10%", env: { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" } },
  { name: "100%", env: { OTEL_TRACES_SAMPLER: "parentbased_always_on" } },
];

interface Figures { rps: number; p99: number; errors: number }

async function measure(name: string): Promise<{ getProduct: Figures; placeOrder: Figures }> {
  const { users, usersFile, getProduct } = await prepareLoad(USERS);
  const tag = name.replace("%", "pct");
  const ghz = (run: string, seconds: number) => getProduct(run, seconds, { concurrency: 20 });
  const checkout = (ms: number) => runJourney({ edge: EDGE, users: USERS, durationMs: ms, thinkMs: 0, profile: "checkout", usersFile, loggedIn: users });
  await ghz(`tracing-warm-${tag}`, 3);
  await checkout(5000);
  const gp: Figures[] = [];
  const po: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const row = summarizeReport("GetProduct", await ghz(`tracing-${tag}-r${r + 1}`, SECONDS), "");
    gp.push({ rps: row.rps, p99: row.p99, errors: Object.values(row.errors).reduce((a, b) => a + b, 0) });
    const j = await checkout(SECONDS * 1000);
    po.push({ rps: j.ordersPerSecond, p99: j.steps.checkout!.p99, errors: Object.values(j.errors).reduce((a, b) => a + b, 0) });
  }
  const med = (rows: Figures[]): Figures => ({ rps: round2(median(rows.map((x) => x.rps))), p99: round2(median(rows.map((x) => x.p99))),
    errors: rows.reduce((s, x) => s + x.errors, 0) });
  return { getProduct: med(gp), placeOrder: med(po) };
}

async function main(): Promise<void> {
  const results: Record<string, { getProduct: Figures; placeOrder: Figures }> = {};
  try {
    for (const s of settings) {
      meshCli(["down"]);
      meshCli(["up"], { MESH: "local", OBSERVE: "1", ...s.env });
      results[s.name] = await measure(s.name);
      console.log(`tracing ${s.name}: GetProduct ${results[s.name]!.getProduct.rps} calls/s, PlaceOrder ${results[s.name]!.placeOrder.rps} orders/s`);
    }
  } finally {
    meshCli(["down"]);
    meshCli(["up"], { MESH: "local" });
  }
  const off = results.off!;
  const ratio = (k: "getProduct" | "placeOrder", s: string) => round2(results[s]![k].rps / off[k].rps);
  const out = {
    date: new Date().toISOString(),
    load: { getProduct: `ghz, 20 workers, ${SECONDS} s per round, through the edge`, placeOrder: `${USERS} users checking out without think time, ${SECONDS} s per round` },
    rounds: ROUNDS,
    results,
    throughput_vs_off: { "10%": { getProduct: ratio("getProduct", "10%"), placeOrder: ratio("placeOrder", "10%") },
      "100%": { getProduct: ratio("getProduct", "100%"), placeOrder: ratio("placeOrder", "100%") } },
    target: "at 10% sampling, throughput within 10% of tracing off (ratio ≥ 0.9)",
    notes: ["make up OBSERVE=1 in all three settings (Zipkin and Prometheus running); off is OTEL_SDK_DISABLED=true, so no span is made or exported.",
      "Medians over rounds; errors summed. The mesh is restarted for each setting, so each has its own warm-up (3 s of GetProduct, 5 s of checkout)."],
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/tracing.json"), JSON.stringify(out, null, 2) + "\n");
  console.log(`\nthroughput vs off: ${JSON.stringify(out.throughput_vs_off)}\nbench/results/tracing.json written`);
}

main().catch((err: unknown) => {
  console.error(`bench-tracing: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
