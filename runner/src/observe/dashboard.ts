// The mesh dashboard of make up OBSERVE=1 (issue 18; docs/architecture.md, "Metrics and logs"): one
// page (dashboard.html) that draws the topology and, from a JSON API this server assembles, each
// caller→callee edge's RED figures (Prometheus's recording rules, prometheus.ts), each breaker's
// state (the services' gauges, scraped by the same Prometheus), each process's health (health.ts's
// probes) and the slowest recent calls, linked to their traces in Zipkin. Plain node:http: one page
// and two JSON routes need no framework. Prometheus and Zipkin are asked at every refresh, each
// within a time limit, and either being down only marks its part unavailable.
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { probe, type Health } from "../health.js";
import { repo } from "../paths.js";
import { alive, type Proc } from "../supervisor.js";
import { RATE_WINDOW } from "./prometheus.js";

/**
 * A process as the dashboard shows it. A recorded one (a Proc of .run/mesh.json, with its pid and
 * start time) is judged as `make status` judges it (table.ts): DOWN when that very process is gone,
 * else probed by its kind (health.ts).
 */
export type DashboardProcess = Pick<Proc, "name" | "kind" | "port" | "probe" | "restarts"> & Partial<Pick<Proc, "pid" | "startTime">> & {
  /** Known already; else probed. */
  health?: Health;
};

async function healthOf(p: DashboardProcess): Promise<Health> {
  if (p.health) return p.health;
  if (p.pid !== undefined && p.startTime !== undefined && !alive(p as Proc)) return "DOWN";
  return probe(p);
}

export interface DashboardOptions {
  /** Default 127.0.0.1: the dashboard has no access control, so it stays on loopback. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Prometheus's base URL, e.g. http://127.0.0.1:9190 (its HTTP API, and the page's link to its UI). */
  prometheusUrl: string;
  /** Zipkin's base URL, e.g. http://127.0.0.1:9411 (its v2 API, and the links to its UI). */
  zipkinUrl: string;
  topology: Topology;
  /** The processes to show, read at every refresh (the runner's record changes as it restarts them). */
  processes: () => DashboardProcess[] | Promise<DashboardProcess[]>;
  /** Each query's time limit; default 2 s, so a hung backend cannot hold the page's refresh. */
  timeoutMs?: number;
}

export interface Dashboard {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A node of the drawing: "edge" (the ingress) or a topology service, in its column. */
export interface GraphNode {
  name: string;
  /** The longest chain of calls from the edge to it: the edge is 0, what only the edge calls is 1. */
  layer: number;
}

/** Who may call whom, from each method's `callers`. */
export interface GraphEdge {
  caller: string;
  callee: string;
  methods: string[];
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The topology as a graph to draw: caller→callee edges from the methods' `callers`, nodes in layers. */
export function topologyGraph(topology: Topology): Graph {
  const byPair = new Map<string, GraphEdge>();
  for (const [callee, spec] of Object.entries(topology.services)) {
    for (const [method, rule] of Object.entries(spec.methods)) {
      for (const caller of rule.callers) {
        const key = `${caller}→${callee}`;
        const edge = byPair.get(key) ?? { caller, callee, methods: [] };
        edge.methods.push(method);
        byPair.set(key, edge);
      }
    }
  }
  const edges = [...byPair.values()];
  const names = ["edge", ...Object.keys(topology.services)];
  const layer = new Map(names.map((n) => [n, n === "edge" ? 0 : 1]));
  // Longest path by relaxation; bounded by the node count, so a cycle (which the topology should not
  // have) ends the loop instead of hanging the page.
  for (let round = 0; round < names.length; round++) {
    let moved = false;
    for (const e of edges) {
      const next = (layer.get(e.caller) ?? 0) + 1;
      if (e.callee !== "edge" && next > (layer.get(e.callee) ?? 0)) {
        layer.set(e.callee, next);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return { nodes: names.map((name) => ({ name, layer: layer.get(name)! })), edges };
}

/** The recording rules the dashboard reads, by the names prometheus.ts gives them. */
export const edgeRecords = {
  rps: `edge:grpc_client_requests:rate${RATE_WINDOW}`,
  errorRatio: `edge:grpc_client_errors:ratio_rate${RATE_WINDOW}`,
  p99Seconds: `edge:grpc_client_duration_seconds:p99_rate${RATE_WINDOW}`,
} as const;

// The TypeScript clients' gauge (mesh/src/client-metrics.ts) and the Python service's
// (services/recommendation/recommendation/metrics.py, labelled `upstream`), as one set of series.
const breakerQuery = 'shop_breaker_state or label_replace(circuit_breaker_state, "target", "$1", "upstream", "(.+)")';
const breakerStates = ["closed", "half-open", "open"] as const;
type BreakerState = (typeof breakerStates)[number];

/** One part of the state: its data, or why it is missing. */
type Part<T> = { ok: true; data: T } | { ok: false; error: string };

export interface EdgeFigures extends GraphEdge {
  /** null: no figure (no calls seen on this edge, or Prometheus unavailable). */
  rps: number | null;
  errorPct: number | null;
  p99Ms: number | null;
  /** The worst state of the caller's breakers toward the callee, when it exports one. */
  breaker: BreakerState | null;
}

export interface BreakerRow {
  service: string;
  instance: string;
  target: string;
  endpoint?: string;
  state: BreakerState;
}

export interface SlowCall {
  traceId: string;
  service: string;
  name: string;
  durationMs: number;
  /** Start, epoch ms. */
  start: number;
  spans: number;
  url: string;
}

/** What /api/state answers. */
export interface DashboardState {
  time: number;
  prometheus: { ok: boolean; error?: string; url: string };
  zipkin: { ok: boolean; error?: string; url: string };
  edges: EdgeFigures[];
  breakers: BreakerRow[];
  processes: { name: string; kind: string; health: Health; restarts: number }[];
  slowest: SlowCall[];
}

/**
 * An error's message with its cause's: fetch's own says only "fetch failed", ECONNREFUSED is in the
 * cause. Duck-typed, since fetch's errors may come from another realm than this module's Error
 * (jest's VM), where instanceof fails.
 */
function message(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } } | undefined;
  if (typeof e?.message !== "string") return String(err);
  return typeof e.cause?.message === "string" ? `${e.message}: ${e.cause.message}` : e.message;
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}: ${body.slice(0, 200)}`);
  return JSON.parse(body) as unknown;
}

interface PromSample { metric: Record<string, string>; value: [number, string] }

/** An instant query's samples; NaN values (an error ratio or p99 with no calls) are left out. */
async function promQuery(base: string, query: string, timeoutMs: number): Promise<PromSample[]> {
  const body = await getJson(`${base}/api/v1/query?query=${encodeURIComponent(query)}`, timeoutMs) as
    { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
  if (body.status !== "success" || body.data?.resultType !== "vector") throw new Error(`prometheus: ${body.error ?? "not a vector"}`);
  return body.data.result.filter((s) => Number.isFinite(Number(s.value[1])));
}

async function fromPrometheus(base: string, timeoutMs: number) {
  const [rps, errorRatio, p99Seconds, breakers] = await Promise.all([
    promQuery(base, edgeRecords.rps, timeoutMs), promQuery(base, edgeRecords.errorRatio, timeoutMs),
    promQuery(base, edgeRecords.p99Seconds, timeoutMs), promQuery(base, breakerQuery, timeoutMs),
  ]);
  const byEdge = (samples: PromSample[], scale: number) =>
    new Map(samples.map((s) => [`${s.metric.caller}→${s.metric.callee}`, Number(s.value[1]) * scale]));
  return {
    rps: byEdge(rps, 1), errorPct: byEdge(errorRatio, 100), p99Ms: byEdge(p99Seconds, 1000),
    breakers: breakers.map((s): BreakerRow => ({
      service: s.metric.service ?? "", instance: s.metric.instance ?? "", target: s.metric.target ?? "",
      ...(s.metric.endpoint ? { endpoint: s.metric.endpoint } : {}),
      state: breakerStates[Number(s.value[1])] ?? "open",
    })).sort((a, b) => `${a.instance} ${a.target} ${a.endpoint}`.localeCompare(`${b.instance} ${b.target} ${b.endpoint}`)),
  };
}

interface ZipkinSpan { traceId: string; id: string; parentId?: string; name?: string; timestamp?: number; duration?: number; localEndpoint?: { serviceName?: string } }

/** How far back "recent" reaches, and how many traces one refresh reads (at most a few hundred KB). */
const LOOKBACK_MS = 15 * 60_000;
const TRACES_READ = 100;
const SLOWEST_SHOWN = 10;

/**
 * Each trace as its root span's call (the span whose parent is not in the trace: a call through the
 * nginx edge has the parent the edge put in its traceparent, a span Zipkin never saw), slowest first.
 */
export function slowestCalls(traces: ZipkinSpan[][], zipkinUrl: string): SlowCall[] {
  const calls: SlowCall[] = [];
  for (const spans of traces) {
    const ids = new Set(spans.map((s) => s.id));
    const root = spans.filter((s) => !s.parentId || !ids.has(s.parentId))
      .sort((a, b) => (b.duration ?? 0) - (a.duration ?? 0))[0];
    if (!root) continue;
    calls.push({
      traceId: root.traceId, service: root.localEndpoint?.serviceName ?? "", name: root.name ?? "",
      durationMs: (root.duration ?? 0) / 1000, start: (root.timestamp ?? 0) / 1000, spans: spans.length,
      url: `${zipkinUrl}/zipkin/traces/${root.traceId}`,
    });
  }
  return calls.sort((a, b) => b.durationMs - a.durationMs);
}

/**
 * The slowest calls of the last 15 minutes, kept across refreshes. Zipkin returns the newest traces
 * first and cannot sort by duration, so under load one read of the newest 100 would miss a slow call
 * within seconds. Instead each read asks only for traces at least as slow as the slowest kept list's
 * last entry (minDuration), and merges them in: a call slower than those shown is found as long as
 * fewer than 100 such calls arrive in the window.
 */
export function slowestTracker(zipkinUrl: string, timeoutMs: number): () => Promise<SlowCall[]> {
  let kept: SlowCall[] = [];
  return async () => {
    const since = Date.now() - LOOKBACK_MS;
    kept = kept.filter((c) => c.start >= since);
    const floor = kept.length >= SLOWEST_SHOWN ? `&minDuration=${Math.floor(kept[SLOWEST_SHOWN - 1]!.durationMs * 1000)}` : "";
    const traces = await getJson(`${zipkinUrl}/api/v2/traces?endTs=${Date.now()}&lookback=${LOOKBACK_MS}&limit=${TRACES_READ}${floor}`, timeoutMs);
    if (!Array.isArray(traces)) throw new Error("zipkin: not a list of traces");
    // A trace read again replaces its older reading: more of its spans may have arrived since.
    const fresh = slowestCalls(traces as ZipkinSpan[][], zipkinUrl);
    const ids = new Set(fresh.map((c) => c.traceId));
    kept = [...fresh, ...kept.filter((c) => !ids.has(c.traceId))].sort((a, b) => b.durationMs - a.durationMs).slice(0, SLOWEST_SHOWN);
    return kept;
  };
}

async function settle<T>(work: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, data: await work() };
  } catch (err) {
    return { ok: false, error: message(err) };
  }
}

/** Everything the page shows, assembled now. Never throws: a part that fails says why. */
export async function dashboardState(opts: DashboardOptions, graph: Graph, slowest: () => Promise<SlowCall[]>): Promise<DashboardState> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const [prom, zipkin, processes] = await Promise.all([
    settle(() => fromPrometheus(opts.prometheusUrl, timeoutMs)),
    settle(slowest),
    settle(async () => Promise.all((await opts.processes()).map(async (p) => ({
      name: p.name, kind: p.kind, health: await healthOf(p), restarts: p.restarts ?? 0,
    })))),
  ]);
  const breakers = prom.ok ? prom.data.breakers : [];
  const worst = (caller: string, callee: string): BreakerState | null => {
    const states = breakers.filter((b) => b.service === caller && b.target === callee).map((b) => breakerStates.indexOf(b.state));
    return states.length ? breakerStates[Math.max(...states)]! : null;
  };
  const figure = (m: Map<string, number> | undefined, key: string) => m?.get(key) ?? null;
  return {
    time: Date.now(),
    prometheus: { ok: prom.ok, ...(prom.ok ? {} : { error: prom.error }), url: opts.prometheusUrl },
    zipkin: { ok: zipkin.ok, ...(zipkin.ok ? {} : { error: zipkin.error }), url: opts.zipkinUrl },
    edges: graph.edges.map((e) => {
      const key = `${e.caller}→${e.callee}`;
      const d = prom.ok ? prom.data : undefined;
      return { ...e, rps: figure(d?.rps, key), errorPct: figure(d?.errorPct, key), p99Ms: figure(d?.p99Ms, key), breaker: worst(e.caller, e.callee) };
    }),
    breakers,
    // The process list is the runner's own: if even that failed, the page says so with one row.
    processes: processes.ok ? processes.data : [{ name: `(processes unavailable: ${processes.error})`, kind: "-", health: "DOWN", restarts: 0 }],
    slowest: zipkin.ok ? zipkin.data : [],
  };
}

/** The page, read from beside this module's source (runner/src/observe), which a build leaves in place. */
export const pageFile = join(repo, "runner", "src", "observe", "dashboard.html");

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
}

/** Starts the dashboard; resolves once it listens. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const page = readFileSync(pageFile, "utf8");
  const graph = topologyGraph(opts.topology);
  const slowest = slowestTracker(opts.zipkinUrl, opts.timeoutMs ?? 2000);
  const host = opts.host ?? "127.0.0.1";
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "GET only\n");
    if (path === "/") return send(res, 200, "text/html; charset=utf-8", page);
    if (path === "/api/topology") return send(res, 200, "application/json", JSON.stringify(graph));
    if (path === "/api/state") {
      dashboardState(opts, graph, slowest).then(
        (state) => send(res, 200, "application/json", JSON.stringify(state)),
        // dashboardState settles every part itself; this is only a last guard for the process.
        (err: unknown) => send(res, 500, "application/json", JSON.stringify({ error: message(err) })),
      );
      return;
    }
    send(res, 404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
