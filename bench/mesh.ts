// The mesh overhead benchmark (`make bench-mesh`). Not a test: it measures, and writes
// bench/results/mesh.json. Three scenarios, interleaved round by round (the order rotates so no
// scenario always runs first or last on a warming or throttling machine), same payload, same
// concurrency, mTLS with the dev CA in all three:
//   (a) bare grpc-js server + bare grpc-js client
//   (b) mesh serve()          + bare grpc-js client
//   (c) mesh serve()          + mesh createClient() (metrics, deadline, breaker, retry: all on)
// Servers run in child processes; the client runs here. The median round is quoted.
import { fork, execSync, type ChildProcess } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { closeClients, createClient } from "@shopmesh/mesh";
import { createTestMesh } from "@shopmesh/mesh/testing";
import { benchProduct, benchRequest } from "./payload.js";

const here = import.meta.dirname;
const root = path.resolve(here, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WARMUP_SECONDS = 1;

type Scenario = "bare" | "mesh_server" | "mesh_full";
interface Round {
  scenario: Scenario;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  client_cpu_us_per_call: number;
  server_cpu_us_per_call: number;
}

interface ServerChild {
  child: ChildProcess;
  port: number;
  cpu(): Promise<NodeJS.CpuUsage>;
}

function startServer(kind: "bare" | "mesh", certDir: string): Promise<ServerChild> {
  const child = fork(path.join(here, "mesh-server.ts"), [kind, certDir], {
    execArgv: ["--import", path.join(here, "register.mjs"), ...(process.env.BENCH_SERVER_PROF ? ["--cpu-prof", `--cpu-prof-dir=${path.join(here, "results/prof")}`] : [])],
    // Access logs are off in both cases: a log line per call to a pipe would measure the pipe.
    env: { ...process.env, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${kind} server exited with ${code}`)));
    child.once("message", (m: { port: number }) =>
      resolve({
        child,
        port: m.port,
        cpu: () =>
          new Promise((res) => {
            child.once("message", (r: { cpu: NodeJS.CpuUsage }) => res(r.cpu));
            child.send({ cmd: "cpu" });
          }),
      }),
    );
  });
}

/** A bare grpc-js unary caller with the same codec the mesh uses. */
function bareCaller(port: number, creds: grpc.ChannelCredentials): { call: () => Promise<unknown>; close(): void } {
  const client = new grpc.Client(`127.0.0.1:${port}`, creds, { "grpc.ssl_target_name_override": "catalog" });
  const m = CatalogService.method.getProduct;
  const req = benchRequest();
  const ser = (v: typeof req) => Buffer.from(toBinary(m.input, v));
  const de = (b: Buffer) => fromBinary(m.output, b);
  const meta = new grpc.Metadata();
  return {
    call: () =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(`/${CatalogService.typeName}/GetProduct`, ser, de, req, meta, {}, (err, v) =>
          err ? reject(err) : resolve(v),
        );
      }),
    close: () => client.close(),
  };
}

async function load(call: () => Promise<unknown>, seconds: number) {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await call();
        lat.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    calls: lat.length,
    errors,
    rps: lat.length / elapsed,
    p50: lat[Math.floor(lat.length * 0.5)] ?? NaN,
    p99: lat[Math.floor(lat.length * 0.99)] ?? NaN,
    cpuUs: cpu.user + cpu.system,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const mesh = await createTestMesh();
  const certDir = mesh.certDir;
  const tlsOrder = mesh.config("order").tls!;
  const clientCreds = grpc.credentials.createSsl(tlsOrder.ca, tlsOrder.key, tlsOrder.cert);
  const bareServer = await startServer("bare", certDir);
  const meshServer = await startServer("mesh", certDir);
  const meshClient = createClient(CatalogService, {
    target: "catalog",
    address: `127.0.0.1:${meshServer.port}`,
    config: mesh.config("order"),
  });
  const req = benchRequest();
  const expected = benchProduct().product?.name;
  const callers: Record<Scenario, { server: ServerChild; call: () => Promise<unknown> }> = {
    bare: { server: bareServer, call: bareCaller(bareServer.port, clientCreds).call },
    mesh_server: { server: meshServer, call: bareCaller(meshServer.port, clientCreds).call },
    mesh_full: { server: meshServer, call: () => meshClient.getProduct(req) },
  };
  // Every path must really work before it is timed.
  for (const [name, c] of Object.entries(callers)) {
    const res = (await c.call()) as { product?: { name?: string } };
    if (res.product?.name !== expected) throw new Error(`${name}: unexpected response`);
  }
  const order: Scenario[] = ["bare", "mesh_server", "mesh_full"];
  for (const s of order) await load(callers[s].call, WARMUP_SECONDS);

  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const rotated = order.map((_, i) => order[(i + r) % order.length]!);
    for (const s of rotated) {
      const { server, call } = callers[s];
      const s0 = await server.cpu();
      const res = await load(call, SECONDS);
      const s1 = await server.cpu();
      const serverUs = s1.user - s0.user + (s1.system - s0.system);
      const round: Round = {
        scenario: s,
        rps: Math.round(res.rps),
        p50_ms: r2(res.p50),
        p99_ms: r2(res.p99),
        errors: res.errors,
        client_cpu_us_per_call: r2(res.cpuUs / res.calls),
        server_cpu_us_per_call: r2(serverUs / res.calls),
      };
      rounds.push(round);
      console.log(`round ${r + 1} ${s.padEnd(11)} ${round.rps} calls/s  p99 ${round.p99_ms} ms  ` +
        `cpu/call client ${round.client_cpu_us_per_call} µs server ${round.server_cpu_us_per_call} µs  errors ${round.errors}`);
    }
  }
  const med = (s: Scenario, k: keyof Round) => median(rounds.filter((x) => x.scenario === s).map((x) => x[k] as number));
  const cpu = (s: Scenario) => ({
    client: r2(med(s, "client_cpu_us_per_call")),
    server: r2(med(s, "server_cpu_us_per_call")),
    total: r2(med(s, "client_cpu_us_per_call") + med(s, "server_cpu_us_per_call")),
  });
  const [a, b, c] = [med("bare", "rps"), med("mesh_server", "rps"), med("mesh_full", "rps")];
  const machineLoad = loadavg();
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: root }).toString().trim();
  } catch {
    // Outside a git checkout the commit is simply unknown.
  }
  const out = {
    bare_rps: Math.round(a),
    mesh_server_rps: Math.round(b),
    mesh_full_rps: Math.round(c),
    server_ratio: r2(b / a),
    full_ratio: r2(c / a),
    targets: { server_ratio: 0.85, full_ratio: 0.7 },
    // Throughput ratios swing with other load on a shared machine; when both processes are
    // CPU-bound, throughput follows total CPU per call, which is far steadier: these are
    // the same ratios estimated from CPU time (a's CPU per call over b's or c's).
    server_ratio_cpu: r2(cpu("bare").total / cpu("mesh_server").total),
    full_ratio_cpu: r2(cpu("bare").total / cpu("mesh_full").total),
    p99_ms: { bare: med("bare", "p99_ms"), mesh_server: med("mesh_server", "p99_ms"), mesh_full: med("mesh_full", "p99_ms") },
    cpu_us_per_call: { bare: cpu("bare"), mesh_server: cpu("mesh_server"), mesh_full: cpu("mesh_full") },
    mesh_added_cpu_us_per_call: {
      server: r2(cpu("mesh_server").server - cpu("bare").server),
      client: r2(cpu("mesh_full").client - cpu("mesh_server").client),
      total: r2(cpu("mesh_full").total - cpu("bare").total),
    },
    setup: {
      method: "shop.catalog.v2.CatalogService/GetProduct (public: no JWT verification)",
      credentials: "mTLS with the dev CA in all three scenarios (local mode)",
      concurrency: CONCURRENCY,
      seconds_per_round: SECONDS,
      rounds: ROUNDS,
      statistic: "median of rounds",
      server_process: "separate child process; client in the parent",
      server_log_level: process.env.BENCH_LOG_LEVEL ?? "warn",
    },
    cores: cpus().length,
    loadavg_at_end: machineLoad.map(r2),
    node: process.version,
    date: new Date().toISOString(),
    commit,
    rounds,
  };
  mkdirSync(path.join(here, "results"), { recursive: true });
  writeFileSync(path.join(here, "results/mesh.json"), JSON.stringify(out, null, 2) + "\n");
  console.log(`bare ${out.bare_rps}/s, mesh server ${out.mesh_server_rps}/s (ratio ${out.server_ratio}), ` +
    `mesh full ${out.mesh_full_rps}/s (ratio ${out.full_ratio}); wrote bench/results/mesh.json`);
  closeClients();
  bareServer.child.disconnect();
  meshServer.child.disconnect();
  mesh.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
