// make bench's side-by-side row (issue 16): the same GetProduct and PlaceOrder load through the
// local mesh (nginx edge, mTLS in the apps) and through the Istio data plane (gateway and Envoy
// sidecars, `make up MESH=istio`), in one run, on this machine. GetProduct runs open-loop at a
// fixed rate, as Istio's own benchmark does, so latency is compared at equal load; PlaceOrder
// runs closed-loop users with think time. For each Envoy it reports the CPU seconds it used per
// 1,000 requests it handled (its own downstream_rq_total). It starts from a running local mesh and
// leaves one running. Writes bench/results/istio.json; never fails on a figure.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runJourney } from "../journey.js";
import { median } from "../latency.js";
import { summarizeReport } from "../summary.js";
import { EDGE, knob, meshCli, prepareLoad, root, round2 } from "./bench-run.js";
import { cpuSeconds, meshProcesses } from "./proc.js";

const RPS = knob("BENCH_ISTIO_RPS", 500);
const SECONDS = knob("BENCH_ISTIO_SECONDS", 10);
const USERS = knob("BENCH_ISTIO_USERS", 10);
const THINK_MS = knob("BENCH_ISTIO_THINK_MS", 100);
const ROUNDS = knob("BENCH_ISTIO_ROUNDS", 3);

/** Each Envoy of istio mode (a child of a recorded pilot-agent), with its admin port. */
function envoys(): { name: string; pid: number; admin: number }[] {
  const state = JSON.parse(readFileSync(join(root, ".run/mesh.json"), "utf8")) as { name: string; pid: number; env?: Record<string, string> }[];
  const agents = new Map(state.filter((p) => p.env?.PROXY_CONFIG).map((p) => [p.pid, p]));
  const out: { name: string; pid: number; admin: number }[] = [];
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const agent = agents.get(ppid);
      if (agent && readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0")[0]!.endsWith("envoy")) {
        out.push({ name: agent.name, pid: Number(d), admin: (JSON.parse(agent.env!.PROXY_CONFIG!) as { proxyAdminPort: number }).proxyAdminPort });
      }
    } catch {
      // A process that ended while we looked.
    }
  }
  return out;
}

/** Requests an Envoy's HTTP connection managers have taken (inbound and outbound). */
async function handled(admin: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/stats?filter=downstream_rq_total`)).text();
  // Listeners' HTTP connection managers are inbound_<ip>_<port>; or outbound_<ip>_<port>; (the admin's own are not).
  return text.split("\n").filter((l) => /^http\.(inbound|outbound)_\S*\.downstream_rq_total: /.test(l))
    .reduce((s, l) => s + (Number(l.split(": ")[1]) || 0), 0);
}

interface Latency { p50: number; p90: number; p99: number; rps: number; errors: number }

type SidecarUse = Record<string, { cpuSeconds: number; requests: number; vcpuPer1000: number }>;

async function measure(mode: "local" | "istio"): Promise<{ getProduct: Latency; placeOrder: Latency; sidecars?: { getProduct: SidecarUse; placeOrder: SidecarUse } }> {
  const { users, usersFile, getProduct } = await prepareLoad(USERS);
  const ghz = (name: string, seconds: number) => getProduct(name, seconds, { concurrency: 16, connections: 4, rps: RPS });
  await ghz(`istio-row-warm-${mode}`, 3);
  await runJourney({ edge: EDGE, users: USERS, durationMs: 3000, thinkMs: THINK_MS, profile: "checkout", usersFile, loggedIn: users });

  // ROUNDS measures of each load, GetProduct and PlaceOrder in turn; each percentile is the median
  // over rounds. The Envoys' CPU and requests are summed over the GetProduct measures.
  const proxies = mode === "istio" ? envoys() : [];
  const gp: Latency[] = [];
  const po: Latency[] = [];
  const used = { getProduct: proxies.map(() => ({ cpu: 0, rq: 0 })), placeOrder: proxies.map(() => ({ cpu: 0, rq: 0 })) };
  // Runs `load` while counting each Envoy's CPU seconds and requests into `into`.
  const counted = async <T>(into: { cpu: number; rq: number }[], load: () => Promise<T>): Promise<T> => {
    const before = await Promise.all(proxies.map(async (p) => ({ cpu: cpuSeconds(p.pid) ?? 0, rq: await handled(p.admin) })));
    const out = await load();
    const after = await Promise.all(proxies.map(async (p) => ({ cpu: cpuSeconds(p.pid) ?? 0, rq: await handled(p.admin) })));
    after.forEach((a, i) => { into[i]!.cpu += a.cpu - before[i]!.cpu; into[i]!.rq += a.rq - before[i]!.rq; });
    return out;
  };
  for (let r = 0; r < ROUNDS; r++) {
    const row = summarizeReport("GetProduct", await counted(used.getProduct, () => ghz(`istio-row-${mode}-r${r + 1}`, SECONDS)), "");
    gp.push({ p50: row.p50, p90: row.p90, p99: row.p99, rps: row.rps, errors: Object.values(row.errors).reduce((a, b) => a + b, 0) });
    const j = await counted(used.placeOrder, () => runJourney({ edge: EDGE, users: USERS, durationMs: SECONDS * 1000, thinkMs: THINK_MS, profile: "checkout", usersFile, loggedIn: users }));
    const step = j.steps.checkout!;
    po.push({ p50: step.p50, p90: step.p90, p99: step.p99, rps: j.ordersPerSecond, errors: Object.values(j.errors).reduce((a, b) => a + b, 0) });
  }
  const perSidecar = (u: { cpu: number; rq: number }[]) => Object.fromEntries(proxies.map((p, i) => [p.name, { cpuSeconds: round2(u[i]!.cpu),
    requests: u[i]!.rq, vcpuPer1000: u[i]!.rq > 0 ? round2((u[i]!.cpu / u[i]!.rq) * 1000) : 0 }]).filter(([, v]) => (v as { requests: number }).requests > 0));
  const sidecars = { getProduct: perSidecar(used.getProduct), placeOrder: perSidecar(used.placeOrder) };
  const med = (rows: Latency[]): Latency => ({
    p50: round2(median(rows.map((x) => x.p50))), p90: round2(median(rows.map((x) => x.p90))), p99: round2(median(rows.map((x) => x.p99))),
    rps: round2(median(rows.map((x) => x.rps))), errors: rows.reduce((s, x) => s + x.errors, 0),
  });
  return {
    getProduct: med(gp),
    placeOrder: med(po),
    ...(mode === "istio" ? { sidecars } : {}),
  };
}

async function main(): Promise<void> {
  const procs = meshProcesses(root);
  if (procs.length === 0 || procs.some((p) => p.name === "istiod")) throw new Error("run make up (local mode) first: this bench compares it with istio mode and leaves it running");
  // The replicas running now, so the local mesh comes back as it was.
  const replicas: Record<string, string> = {};
  for (const p of procs) {
    const m = /^([a-z]+)-(\d+)$/.exec(p.name);
    if (m) replicas[`REPLICAS_${m[1]}`] = String(Math.max(Number(replicas[`REPLICAS_${m[1]}`] ?? 1), Number(m[2])));
  }
  const local = await measure("local");
  meshCli(["down"]);
  let istio;
  try {
    meshCli(["up"], { MESH: "istio" });
    istio = await measure("istio");
  } finally {
    meshCli(["down"]);
    meshCli(["up"], { MESH: "local", ...replicas });
  }
  const added = (k: "getProduct" | "placeOrder") => ({
    p50: round2(istio[k].p50 - local[k].p50), p90: round2(istio[k].p90 - local[k].p90), p99: round2(istio[k].p99 - local[k].p99),
  });
  const results = {
    date: new Date().toISOString(),
    load: { getProduct: `ghz open loop at ${RPS} calls/s, 16 workers on 4 connections, ${SECONDS} s, through the edge (127.0.0.1:8080)`,
      placeOrder: `${USERS} users adding one item and checking out, ${THINK_MS} ms mean think time, ${SECONDS} s` },
    local, istio, added: { getProduct: added("getProduct"), placeOrder: added("placeOrder") },
    anchor: "Istio 1.24's published figures for two proxies at 1,000 calls/s: +0.63 ms p90, +0.88 ms p99, 0.20 vCPU per 1,000 requests per sidecar",
    rounds: ROUNDS,
    notes: [
      `Each percentile is the median over ${ROUNDS} measures per mode; errors are summed.`,
      "Local mode already has a proxy (nginx) and mTLS in the apps; istio mode replaces nginx with the gateway and adds a sidecar on each side of every hop, so 'added' is what Istio's two proxies cost over ours, not over no mesh.",
      "vcpuPer1000 = CPU seconds an Envoy used during the measures of one load ÷ the requests its HTTP connection managers took (inbound and outbound) × 1,000: vCPU per 1,000 requests/s, the unit of Istio's figure.",
    ],
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/istio.json"), JSON.stringify(results, null, 2) + "\n");
  console.log("\nlocal vs istio       p50 ms          p90 ms          p99 ms");
  for (const k of ["getProduct", "placeOrder"] as const) {
    const f = (m: Latency) => [m.p50, m.p90, m.p99];
    const [l, i] = [f(local[k]), f(istio[k])];
    console.log(`${k.padEnd(14)} ${l.map((v, n) => `${v} → ${i[n]}`.padEnd(16)).join("")}`);
  }
  for (const [load, rows] of Object.entries(istio.sidecars ?? {})) {
    for (const [name, s] of Object.entries(rows)) console.log(`${load.padEnd(11)} ${name.padEnd(24)} ${s.vcpuPer1000} vCPU per 1,000 requests (${s.requests} requests)`);
  }
  console.log("bench/results/istio.json written");
}

main().catch((err: unknown) => {
  console.error(`bench-istio: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
