// The real Zipkin server (.bin/zipkin.jar, tools/setup.sh observe) for tests of tracing: started on
// a free port, and asked through its v2 API for what it stored.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./stores.js";

/** A span as Zipkin's v2 API returns it. */
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: "CLIENT" | "SERVER";
  name: string;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
  annotations?: { value: string }[];
}

/** A running Zipkin: its base URL, the spans endpoint to export to, and stop(). */
export interface TestZipkin {
  url: string;
  spansUrl: string;
  /** The trace's spans, once Zipkin holds at least `count` of them (it ingests asynchronously), else after 5 s. */
  trace(traceId: string, count: number): Promise<ZipkinSpan[]>;
  stop(): void;
}

/** Starts Zipkin on a free port; resolves once /health answers (5–9 s here). */
export async function startZipkin(): Promise<TestZipkin> {
  const jar = join(process.env.SHOP_REPO_ROOT ?? process.cwd(), ".bin", "zipkin.jar");
  if (!existsSync(jar)) throw new Error(`${jar} is missing: run bash tools/setup.sh observe (make setup does)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // QUERY_PORT is Zipkin's port setting; a small heap, and the JIT's quick tier only, which
  // starts it sooner on two cores.
  const proc: ChildProcess = spawn("java", ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar], {
    env: { ...process.env, QUERY_PORT: String(port) }, stdio: "ignore",
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`zipkin exited with ${proc.exitCode} before it was healthy`);
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`zipkin was not healthy on ${url} after 90 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    spansUrl: `${url}/api/v2/spans`,
    async trace(traceId, count) {
      const end = Date.now() + 5_000;
      for (;;) {
        const res = await fetch(`${url}/api/v2/trace/${traceId}`);
        const spans = res.ok ? ((await res.json()) as ZipkinSpan[]) : [];
        if (spans.length >= count || Date.now() > end) return spans;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => proc.kill("SIGKILL"),
  };
}

/**
 * Starts Zipkin and points this test file's tracing at it with the standard settings, as a pod or
 * make up OBSERVE=1 gives them; call it before anything reads them (tracing's settings are read
 * once per module registry, so once per test file). stop() also puts the environment back.
 */
export async function traceToZipkin(serviceName: string): Promise<TestZipkin> {
  const zipkin = await startZipkin();
  const saved = { ...process.env };
  Object.assign(process.env, { OTEL_TRACES_EXPORTER: "zipkin", OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.spansUrl, OTEL_SERVICE_NAME: serviceName });
  return { ...zipkin, stop: () => { zipkin.stop(); process.env = saved; } };
}
