// The one-machine mesh: `node mesh/dist/local/cli.js up|down|status|logs`, run by make up/down/
// status/logs. It starts FerretDB, Redis, every service, the reflector and the nginx edge as
// detached processes, records their pids in .run/mesh.json, waits until all are healthy, and
// returns. `down` stops exactly the recorded processes (checking each pid still runs the command
// it recorded) and keeps .data/. A second `up` restarts only what is not running.
import { type SpawnOptions, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDevCerts } from "../identity-certs.js";
import { grpcHealth, type Health, tcpOpen } from "./health.js";
import { renderNginxConf } from "./nginx.js";
import { loadTopology, type Topology } from "../topology.js";
import { buildInstances, buildRoutes, type Instance, type Route } from "./routes.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const run = join(repo, ".run");
const logDir = join(run, "logs");
const certDir = join(run, "certs");
const stateFile = join(run, "mesh.json");
/** The reflector: reflection of every service, for the edge. Not a shop service. */
const REFLECTOR = { port: 50050, adminPort: 9090 };

/** A process the mesh started. */
interface Proc {
  name: string;
  kind: "store" | "service" | "reflector" | "edge";
  pid: number;
  /** What was started (for the record). */
  command: string[];
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the
   * pid, it names this very process, even after the pid is reused or the process retitles itself
   * (redis and nginx do). */
  startTime: string;
  port: number;
  adminPort?: number;
  log: string;
}

interface Plan {
  name: string;
  kind: Proc["kind"];
  port: number;
  adminPort?: number;
  command: string[];
  env?: Record<string, string>;
  /** Working directory; default the repo root. */
  cwd?: string;
}

/** Replica counts: what the running mesh has, overridden by REPLICAS_<service> variables. */
function replicasFrom(env: NodeJS.ProcessEnv, state: Proc[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of state) {
    const m = /^([a-z]+)-(\d+)$/.exec(p.name);
    if (p.kind === "service" && m) out[m[1]!] = Math.max(out[m[1]!] ?? 1, Number(m[2]));
  }
  for (const [k, v] of Object.entries(env)) {
    const m = /^REPLICAS_([a-z]+)$/.exec(k);
    if (m && v) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 3) throw new Error(`${k}=${v}: replicas must be 1 to 3`);
      out[m[1]!] = n;
    }
  }
  return out;
}

function servicePlan(topology: Topology, instance: Instance, instances: Instance[]): Plan {
  const { stores } = topology;
  const first = (svc: string) => instances.find((i) => i.service === svc)!;
  const env: Record<string, string> = {
    MESH_MODE: "local",
    MESH_CERT_DIR: certDir,
    MESH_TOPOLOGY: join(repo, "mesh", "topology.json"),
    MESH_SERVICE_NAME: instance.service,
    MESH_INSTANCE: instance.name,
    PORT: String(instance.port),
    ADMIN_PORT: String(instance.adminPort),
    MONGO_URL: `mongodb://${stores.ferretdb.host}:${stores.ferretdb.port}/`,
    REDIS_URL: `redis://${stores.redis.host}:${stores.redis.port}`,
    JWKS_URL: `http://127.0.0.1:${first("auth").adminPort}/.well-known/jwks.json`,
    JWT_KEY_FILE: join(run, "keys", "jwt-es256.pem"),
    // What auth puts in every access token; the services then refuse tokens minted for anything else.
    JWT_ISSUER: "shopmesh-auth",
    JWT_AUDIENCE: "shopmesh",
    AUTH_ADMIN_EMAILS: "admin@shop.local",
    LOG_LEVEL: "info",
  };
  for (const svc of Object.keys(topology.services)) {
    // Every replica: grpc-js and grpcio fail over between the addresses of an ipv4: target, so a
    // caller keeps working while one replica restarts. The certificates name the service.
    const ports = instances.filter((i) => i.service === svc).map((i) => `127.0.0.1:${i.port}`);
    env[`${svc.toUpperCase()}_ADDR`] = ports.length === 1 ? ports[0]! : `ipv4:${ports.join(",")}`;
    env[`${svc.toUpperCase()}_TLS_NAME`] = svc;
  }
  const spec = topology.services[instance.service]!;
  // The Python service runs as a package from its own folder; TS services run their build.
  const python = spec.language === "python";
  const command = python
    ? [join(repo, ".venv", "bin", "python"), "-m", instance.service]
    : [process.execPath, join(repo, "services", instance.service, "dist", "main.js")];
  return { name: instance.name, kind: "service", port: instance.port, adminPort: instance.adminPort, command, env,
    cwd: python ? join(repo, "services", instance.service) : undefined };
}

function plan(topology: Topology, instances: Instance[]): Plan[] {
  const { ferretdb, redis } = topology.stores;
  const plans: Plan[] = [
    { name: "ferretdb", kind: "store", port: ferretdb.port,
      command: [join(repo, ".bin", "ferretdb"), "-listen-addr", `${ferretdb.host}:${ferretdb.port}`,
        "-state-dir", join(repo, ".data", "ferretdb"), "-log-level", "warn"] },
    { name: "redis", kind: "store", port: redis.port,
      command: ["/usr/bin/redis-server", "--port", String(redis.port), "--bind", redis.host,
        "--dir", join(repo, ".data", "redis"), "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "", "--loglevel", "warning"] },
    ...instances.map((i) => servicePlan(topology, i, instances)),
    { name: "reflector", kind: "reflector", port: REFLECTOR.port, adminPort: REFLECTOR.adminPort,
      command: [process.execPath, join(repo, "mesh", "dist", "local", "reflector.js")],
      env: { MESH_MODE: "local", MESH_CERT_DIR: certDir, MESH_TOPOLOGY: join(repo, "mesh", "topology.json"),
        JWKS_URL: `http://127.0.0.1:${topology.services.auth!.adminPort}/.well-known/jwks.json`,
        PORT: String(REFLECTOR.port), ADMIN_PORT: String(REFLECTOR.adminPort) } },
    { name: "edge", kind: "edge", port: topology.edge.port,
      command: ["/usr/sbin/nginx", "-p", join(run, "nginx"), "-c", join(run, "nginx", "nginx.conf"),
        "-e", join(logDir, "edge-error.log")] },
  ];
  return plans;
}

function readState(): Proc[] {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, "utf8")) as Proc[]) : [];
}

function writeState(procs: Proc[]): void {
  writeFileSync(stateFile, JSON.stringify(procs, null, 2));
}

/** The start time of a running pid, or undefined when it is gone (or a zombie). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; the fields after its closing paren are plain.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** True when the recorded process still runs (same pid and same start time). */
function alive(proc: Proc): boolean {
  return startTimeOf(proc.pid) === proc.startTime;
}

/** Who listens on a TCP port, from `ss`, for the "port taken" message. */
function portOwner(port: number): string {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" }).trim();
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    return m ? `${m[1]} (pid ${m[2]})` : out || "an unknown process";
  } catch {
    return "an unknown process";
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} is not healthy after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(p: Plan): Proc {
  const log = join(logDir, `${p.name}.log`);
  const fd = openSync(log, "a");
  const options: SpawnOptions = {
    cwd: p.cwd ?? repo, detached: true, stdio: ["ignore", fd, fd],
    env: { ...process.env, ...p.env },
  };
  const child = spawn(p.command[0]!, p.command.slice(1), options);
  child.unref();
  closeSync(fd);
  const pid = child.pid!;
  return { name: p.name, kind: p.kind, pid, command: p.command, startTime: startTimeOf(pid) ?? "gone",
    port: p.port, adminPort: p.adminPort, log };
}

/**
 * Takes our fixed ports out of the kernel's ephemeral range (ip_local_reserved_ports), so that no
 * outgoing connection of any process is given one of them: 50051-50062 lie in Linux's default
 * range (32768-60999), and a pooled Mongo connection that got 50062 kept catalog-2 from binding
 * for its whole life (seen in a CI run). Only root may write it; otherwise startHealthy's retry is
 * what remains. Binding a reserved port explicitly works as before.
 */
function reservePorts(ports: number[]): void {
  const file = "/proc/sys/net/ipv4/ip_local_reserved_ports";
  try {
    const current = readFileSync(file, "utf8").trim();
    const reserved = (port: number) => current.split(",").filter(Boolean).some((r) => {
      const [lo, hi] = r.split("-").map(Number);
      return port >= lo! && port <= (hi ?? lo)!;
    });
    const missing = [...new Set(ports)].filter((p) => !reserved(p)).sort((a, b) => a - b);
    if (missing.length === 0) return;
    writeFileSync(file, [current, ...missing].filter(Boolean).join(","));
    console.log(`up: reserved ports ${missing.join(",")} in ip_local_reserved_ports, so no outgoing connection can take them`);
  } catch {
    // Not root, or not Linux: a port taken by a connection is retried by startHealthy.
  }
}

/**
 * Starts a planned process, records it in `procs` (replacing an earlier record of that name) and
 * waits until it serves. Our fixed ports lie in the kernel's ephemeral range (32768-60999), so an
 * outgoing connection can hold one for a moment and the bind fails with EADDRINUSE while nothing
 * listens there: then it tries again, up to three times.
 */
async function startHealthy(p: Plan, procs: Proc[], timeoutMs: number): Promise<Proc> {
  for (let attempt = 1; ; attempt++) {
    const proc = start(p);
    const i = procs.findIndex((x) => x.name === p.name);
    procs.splice(i < 0 ? procs.length : i, i < 0 ? 0 : 1, proc);
    writeState(procs);
    try {
      await waitFor(`${proc.name} (log: .run/logs/${proc.name}.log)`,
        async () => { if (!alive(proc)) throw new Error(`${proc.name} exited; see .run/logs/${proc.name}.log`); return (await probe(proc)) === "SERVING"; },
        timeoutMs);
      return proc;
    } catch (err) {
      const tail = readFileSync(proc.log, "utf8").slice(-4000);
      if (alive(proc) || attempt >= 3 || !/address already in use|EADDRINUSE/i.test(tail) || (await tcpOpen(p.port))) throw err;
      console.log(`up: ${p.name} could not bind its port (held for a moment by a connection); starting it again`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function probe(proc: Pick<Proc, "kind" | "port">): Promise<Health> {
  if (proc.kind === "store") return (await tcpOpen(proc.port)) ? "SERVING" : "DOWN";
  if (proc.kind === "edge") return grpcHealth(proc.port, undefined);
  return grpcHealth(proc.port, certDir);
}

async function table(procs: Proc[]): Promise<void> {
  const rows = await Promise.all(procs.map(async (p) => [
    p.name, `127.0.0.1:${p.port}`, alive(p) ? await probe(p) : "DOWN",
    p.adminPort ? `http://127.0.0.1:${p.adminPort}/metrics` : "-", `.run/logs/${p.name}.log`,
  ]));
  const head = ["service", "address", "health", "metrics", "log"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

function examples(topology: Topology): void {
  const edge = `${topology.edge.host}:${topology.edge.port}`;
  console.log(`
Try it (grpcurl is in .bin/):
  .bin/grpcurl -plaintext ${edge} list
  .bin/grpcurl -plaintext -d '{"page_size": 3}' ${edge} shop.catalog.v2.CatalogService/ListProducts
  .bin/grpcurl -plaintext -d '{"email": "you@example.com", "password": "correct horse"}' ${edge} shop.auth.v1.AuthService/Register
`);
}

async function up(): Promise<void> {
  const topology = loadTopology(join(repo, "mesh", "topology.json"));
  // Replicas as recorded (alive or not, so a killed replica is started again), or as asked.
  const instances = buildInstances(topology, replicasFrom(process.env, readState()));
  const routes = buildRoutes(repo, topology);
  const plans = plan(topology, instances);
  for (const d of [logDir, join(run, "nginx", "tmp"), join(run, "keys"), join(repo, ".data", "ferretdb"), join(repo, ".data", "redis")]) {
    mkdirSync(d, { recursive: true });
  }
  const state = readState().filter(alive);
  const running = new Set(state.map((p) => p.name));
  const missing = plans.filter((p) => !running.has(p.name));
  if (missing.length === 0) {
    console.log("The mesh is already running.\n");
    await table(state);
    examples(topology);
    return;
  }
  // Refuse before starting anything when a port we need is taken by someone else.
  for (const p of missing) {
    for (const port of [p.port, p.adminPort].filter((x): x is number => x !== undefined)) {
      if (await tcpOpen(port)) {
        throw new Error(`port ${port} (for ${p.name}) is taken by ${portOwner(port)}. ` +
          "Stop that process or free the port; make up never kills what it did not start.");
      }
    }
  }
  reservePorts(plans.flatMap((p) => [p.port, p.adminPort].filter((x): x is number => x !== undefined)));
  // The dev CA and a certificate per identity, made once (kept across restarts, never committed).
  makeDevCerts(certDir, [...Object.keys(topology.services), "edge", "reflector"]);
  writeEdgeConf(topology, routes, instances);

  const procs = [...state];
  const save = () => writeState(procs);
  const order: Proc["kind"][] = ["store", "service", "reflector", "edge"];
  for (const kind of order) {
    const batch = missing.filter((p) => p.kind === kind);
    if (kind === "edge" && batch.length > 0) {
      execFileSync(batch[0]!.command[0]!, [...batch[0]!.command.slice(1), "-t", "-q"], { stdio: "inherit" });
    }
    const started = await Promise.all(batch.map((p) => startHealthy(p, procs, kind === "store" ? 20_000 : 60_000)));
    for (const p of started) console.log(`up: ${p.name} is serving on 127.0.0.1:${p.port}`);
  }
  // The table lists processes in start order, also after a partial restart.
  procs.sort((a, b) => plans.findIndex((p) => p.name === a.name) - plans.findIndex((p) => p.name === b.name));
  save();
  console.log("");
  await table(procs);
  examples(topology);
}

/** Signals a recorded process if it still is the one we started; gone already is fine. */
function signal(p: Proc, sig: NodeJS.Signals): void {
  if (!alive(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

function writeEdgeConf(topology: Topology, routes: Route[], instances: Instance[]): void {
  writeFileSync(join(run, "nginx", "nginx.conf"), renderNginxConf(topology, routes, instances, REFLECTOR,
    { certDir, runDir: join(run, "nginx"), logDir }, process.getuid?.() === 0));
}

/** Stops a recorded process with SIGTERM (SIGKILL after 15 s) and waits until it is gone. */
async function stop(p: Proc): Promise<void> {
  signal(p, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(p)) signal(p, "SIGKILL");
}

/**
 * Restarts every replica of a service, one at a time, without failing a call: the edge stops
 * sending it new calls first (nginx reload without that replica, as Kubernetes removes an
 * endpoint before SIGTERM), then it drains (SIGTERM), starts again, becomes healthy, and rejoins
 * the edge. With one replica there is nowhere else to send calls, so its restart is visible.
 */
async function restart(service: string): Promise<void> {
  const topology = loadTopology(join(repo, "mesh", "topology.json"));
  if (!topology.services[service]) throw new Error(`unknown service ${service}; one of ${Object.keys(topology.services).join(", ")}`);
  const procs = readState();
  const running = procs.filter(alive);
  const instances = buildInstances(topology, replicasFrom(process.env, procs));
  const routes = buildRoutes(repo, topology);
  const plans = plan(topology, instances);
  const edge = running.find((p) => p.kind === "edge");
  const reloadEdge = async (without?: string) => {
    if (!edge) return;
    writeEdgeConf(topology, routes, instances.filter((i) => i.name !== without));
    signal(edge, "SIGHUP");
    // New workers take the new upstreams at once; old ones finish the calls they hold.
    await new Promise((r) => setTimeout(r, 1000));
  };
  const replicas = instances.filter((i) => i.service === service);
  for (const instance of replicas) {
    const old = procs.find((p) => p.name === instance.name);
    if (replicas.length > 1) await reloadEdge(instance.name);
    if (old) await stop(old);
    const proc = await startHealthy(plans.find((p) => p.name === instance.name)!, procs, 60_000);
    if (replicas.length > 1) await reloadEdge();
    console.log(`restart: ${proc.name} is serving again on 127.0.0.1:${proc.port}`);
  }
}

async function down(): Promise<void> {
  const procs = readState();
  const mine = procs.filter(alive);
  // Edge first, so clients stop arriving, then services, then the stores they use.
  const order: Proc["kind"][] = ["edge", "reflector", "service", "store"];
  for (const kind of order) {
    const batch = mine.filter((p) => p.kind === kind);
    for (const p of batch) signal(p, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (batch.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const p of batch.filter(alive)) { console.log(`down: ${p.name} ignored SIGTERM; killing it`); signal(p, "SIGKILL"); }
    for (const p of batch) console.log(`down: stopped ${p.name} (pid ${p.pid})`);
  }
  writeState([]);
  console.log(mine.length === 0 ? "down: nothing was running" : "down: the mesh is stopped; data kept in .data/");
}

async function main(): Promise<void> {
  const cmd = process.argv[2];
  if (cmd === "up") await up();
  else if (cmd === "down") await down();
  else if (cmd === "status") {
    const procs = readState();
    if (procs.length === 0) console.log("The mesh is not running (make up starts it).");
    else await table(procs);
  } else if (cmd === "restart") {
    await restart(process.argv[3] ?? "");
  } else if (cmd === "pids") {
    for (const p of readState().filter(alive)) console.log(`${p.name} ${p.pid}`);
  } else {
    console.error("usage: cli.js up|down|status|pids|restart <service>");
    process.exit(2);
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (process.argv[2] === "up" && readState().some(alive)) console.error("make down stops what was started so far.");
  process.exit(1);
});
