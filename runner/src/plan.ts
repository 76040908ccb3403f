// What the local mesh runs, derived from mesh/topology.json: the two stores, every service replica
// with its environment, and the nginx edge, each with its command line. Pure: it
// starts nothing (supervisor.ts does).
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { certDir, dataDir, logDir, nginxDir, repo, run, topologyFile } from "./paths.js";
import type { Instance } from "./routes.js";
import type { Plan, Proc } from "./supervisor.js";

/**
 * Each TypeScript service's V8 semi-space, MiB (--max-semi-space-size; the young generation is
 * three of them), overridden by SEMI_SPACE_MIB_<service>. A larger young generation means fewer
 * scavenges of the short-lived objects every call makes, and a larger resident size. Measured
 * side by side on 2026-12-03 (docs/architecture.md, "Memory"): every service at 8 instead of 32
 * took the checkout's peak from 933 to 832 MiB (medians of five arms each). CPU per order moved by
 * less than the arms' spread: order +7%, cart +5%, payment −4%; catalog took 8–12% more CPU per
 * GetProduct (ghz, two pairs). So the three small ones run at 8, where a few percent is about
 * 0.2 ms an order, and order and catalog, the busiest, at 32 (V8's own default tops out at 16).
 */
export const SEMI_SPACE_MIB: Record<string, number> = { auth: 8, cart: 8, payment: 8 };
const DEFAULT_SEMI_SPACE_MIB = 32;

/**
 * Each TypeScript service's cap on V8's old generation, MiB (--max-old-space-size), overridden by
 * OLD_SPACE_MIB_<service>. Without a cap, V8 lets the heap grow with the machine's memory: under
 * make bench, order peaked at 333 MiB, catalog at 279 and auth at 223; capped at 128 (with
 * MALLOC_ARENA_MAX=2), 166–181, 147–173 and 149–166 over two runs (docs/architecture.md,
 * "Memory"). Catalog holds the whole catalog in its view, 100,000 products in about 300 MiB, so its
 * cap is higher (its 512 is not measured under make bench yet; those runs capped it at 128 too).
 */
export const OLD_SPACE_MIB: Record<string, number> = { catalog: 512 };
const DEFAULT_OLD_SPACE_MIB = 128;

/** glibc's mmap threshold for auth, bytes: 128 KiB, glibc's starting value, held fixed (servicePlan). */
export const AUTH_MMAP_THRESHOLD = 128 * 1024;

/**
 * glibc's tunables for auth: malloc asks for transparent huge pages (madvise) on what it maps, so
 * a login's 16 MiB scrypt buffer, mapped fresh under the fixed threshold, faults in 2 MiB pages.
 * Measured on 2026-12-03 (40 hashes a run, three runs alternated, docs/architecture.md "Memory"):
 * 4,099 page faults and 52–53 ms of CPU per hash with the threshold alone, 522 and 42–46 ms with
 * this too, 412 and 42–45 ms with neither (the buffer then stays resident). Without transparent
 * huge pages in the kernel it changes nothing.
 */
export const AUTH_GLIBC_TUNABLES = "glibc.malloc.hugetlb=1";

/**
 * The V8 flags a TypeScript service starts with: its semi-space and old-space sizes, or
 * SERVICE_NODE_FLAGS (space-separated) in their place, for an experiment.
 */
export function nodeServiceFlags(service: string, env: NodeJS.ProcessEnv): string[] {
  const raw = env.SERVICE_NODE_FLAGS?.trim();
  if (raw) return raw.split(/\s+/);
  return [`--max-semi-space-size=${semiSpaceMib(service, env)}`, `--max-old-space-size=${oldSpaceMib(service, env)}`];
}

// A per-service size in MiB: <NAME>_<service> from the environment, else the service's default.
function mibSetting(name: string, what: string, min: number, defaults: Record<string, number>, fallback: number, service: string, env: NodeJS.ProcessEnv): number {
  const key = `${name}_${service}`;
  const mib = env[key] ? Number(env[key]) : defaults[service] ?? fallback;
  if (!Number.isInteger(mib) || mib < min) throw new Error(`${key}=${env[key]}: ${what} must be a whole number of MiB, at least ${min}`);
  return mib;
}

/**
 * A TypeScript service's old-space cap, MiB: OLD_SPACE_MIB_<service> or its default. The
 * Deployments in istio/base pass the default as OLD_SPACE_MIB to services/Dockerfile's command
 * (istio/check/workload-check.ts checks that they agree).
 */
export function oldSpaceMib(service: string, env: NodeJS.ProcessEnv = {}): number {
  return mibSetting("OLD_SPACE_MIB", "the old-space cap", 64, OLD_SPACE_MIB, DEFAULT_OLD_SPACE_MIB, service, env);
}

/** A TypeScript service's semi-space, MiB: SEMI_SPACE_MIB_<service> or its default; the Deployments pass it as SEMI_SPACE_MIB. */
export function semiSpaceMib(service: string, env: NodeJS.ProcessEnv = {}): number {
  return mibSetting("SEMI_SPACE_MIB", "the semi-space", 1, SEMI_SPACE_MIB, DEFAULT_SEMI_SPACE_MIB, service, env);
}

/** Replica counts: what the running mesh has, overridden by REPLICAS_<service> variables. */
export function replicasFrom(env: NodeJS.ProcessEnv, state: Proc[]): Record<string, number> {
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

/** A service replica as local mode runs it: its command, working directory and environment. */
export function servicePlan(topology: Topology, instance: Instance, instances: Instance[], processEnv: NodeJS.ProcessEnv = process.env): Plan {
  const { stores } = topology;
  const first = (svc: string) => instances.find((i) => i.service === svc)!;
  const env: Record<string, string> = {
    MESH_MODE: "local",
    MESH_CERT_DIR: certDir,
    MESH_TOPOLOGY: topologyFile,
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
    LOG_LEVEL: "info",
    // glibc's malloc keeps an arena per thread that allocates (libuv's pool runs auth's scrypt):
    // two arenas hold the native peak down (auth: 180 → 148 MiB under login load).
    MALLOC_ARENA_MAX: "2",
  };
  for (const svc of Object.keys(topology.services)) {
    // Every replica: grpc-js and grpcio fail over between the addresses of an ipv4: target, so a
    // caller keeps working while one replica restarts. The certificates name the service.
    const ports = instances.filter((i) => i.service === svc).map((i) => `127.0.0.1:${i.port}`);
    env[`${svc.toUpperCase()}_ADDR`] = ports.length === 1 ? ports[0]! : `ipv4:${ports.join(",")}`;
    env[`${svc.toUpperCase()}_TLS_NAME`] = svc;
  }
  // Each login's scrypt takes a 16 MiB buffer from malloc. glibc raises its mmap threshold past
  // that size once the first such buffer is freed, so later ones come from the heap and stay
  // resident; a fixed threshold gives each back when freed. Measured on auth after 50 logins and
  // 3 s of checkout: 99.5 → 138 MiB without, 97.5 → 106 with (5 s later: 110 and 106).
  if (instance.service === "auth") {
    env.MALLOC_MMAP_THRESHOLD_ = String(AUTH_MMAP_THRESHOLD);
    env.GLIBC_TUNABLES = AUTH_GLIBC_TUNABLES;
  }
  const spec = topology.services[instance.service]!;
  // The Python service runs as a package from its own folder; TS services run their build.
  const python = spec.language === "python";
  const command = python
    ? [join(repo, ".venv", "bin", "python"), "-m", instance.service]
    : [process.execPath, ...nodeServiceFlags(instance.service, processEnv), join(repo, "services", instance.service, "dist", "main.js")];
  return { name: instance.name, kind: "service", port: instance.port, adminPort: instance.adminPort, command, env,
    cwd: python ? join(repo, "services", instance.service) : undefined };
}

/** Every process of the mesh, in start order: stores, services, edge. */
export function plan(topology: Topology, instances: Instance[], env: NodeJS.ProcessEnv = process.env): Plan[] {
  const { ferretdb, redis } = topology.stores;
  const plans: Plan[] = [
    { name: "ferretdb", kind: "store", port: ferretdb.port,
      command: [join(repo, ".bin", "ferretdb"), "-listen-addr", `${ferretdb.host}:${ferretdb.port}`,
        "-state-dir", join(dataDir, "ferretdb"), "-log-level", "warn"] },
    { name: "redis", kind: "store", port: redis.port,
      command: ["/usr/bin/redis-server", "--port", String(redis.port), "--bind", redis.host,
        "--dir", join(dataDir, "redis"), "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "", "--loglevel", "warning"] },
    ...instances.map((i) => servicePlan(topology, i, instances, env)),
    { name: "edge", kind: "edge", port: topology.edge.port,
      command: ["/usr/sbin/nginx", "-p", nginxDir, "-c", join(nginxDir, "nginx.conf"),
        "-e", join(logDir, "edge-error.log")] },
  ];
  return plans;
}
