// Probes the local mesh's processes: TCP for the stores, grpc.health.v1 Check over mTLS for the
// services (with the edge's certificate, which every service accepts for health), and the same
// Check through the edge's plaintext port.
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { certDir } from "./paths.js";
import type { Proc } from "./supervisor.js";

/** What a probe saw. */
export type Health = "SERVING" | "NOT_SERVING" | "DOWN";

/** True when something accepts TCP connections on 127.0.0.1:port. */
export async function tcpOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * grpc.health.v1.Health/Check with service "" (the whole server), in raw protobuf bytes; over mTLS
 * when certDir is given, verifying that the server's certificate names `tlsName`.
 */
export async function grpcHealth(port: number, certDir: string | undefined, timeoutMs = 1000, tlsName?: string): Promise<Health> {
  const creds = certDir
    ? grpc.credentials.createSsl(readFileSync(join(certDir, "ca.pem")),
      readFileSync(join(certDir, "edge-key.pem")), readFileSync(join(certDir, "edge.pem")))
    : grpc.credentials.createInsecure();
  // Each dev certificate names only its own identity (catalog-2's names catalog).
  const client = new grpc.Client(`127.0.0.1:${port}`, creds, certDir && tlsName ? { "grpc.ssl_target_name_override": tlsName } : {});
  try {
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b: Buffer) => b, (b: Buffer) => b,
        Buffer.alloc(0), { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(err) : resolve(res)));
    });
    // HealthCheckResponse { ServingStatus status = 1; }: SERVING is 1, encoded 08 01.
    return bytes.length >= 2 && bytes[0] === 0x08 && bytes[1] === 0x01 ? "SERVING" : "NOT_SERVING";
  } catch {
    return "DOWN";
  } finally {
    client.close();
  }
}

/** SERVING when a GET of `url` answers 200 within a second (istiod's /ready, a sidecar's /healthz/ready). */
export async function httpReady(url: string): Promise<Health> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok ? "SERVING" : "NOT_SERVING";
  } catch {
    return "DOWN";
  }
}

/** The identity a recorded process's certificate names: its service (catalog-2 is catalog). */
export function tlsNameOf(proc: Pick<Proc, "name">): string {
  return proc.name.replace(/-\d+$/, "");
}

/** Probes a recorded process as its kind answers: TCP for a store, Check in plaintext at the edge, over mTLS elsewhere. */
export async function probe(proc: Pick<Proc, "kind" | "port" | "name" | "probe">): Promise<Health> {
  if (proc.probe && "http" in proc.probe) return httpReady(proc.probe.http);
  if (proc.probe?.grpc === "plaintext") return grpcHealth(proc.port, undefined);
  if (proc.kind === "store") return (await tcpOpen(proc.port)) ? "SERVING" : "DOWN";
  if (proc.kind === "supervisor") return "SERVING"; // no port: it serves by running (its caller checked that)
  if (proc.kind === "edge") return grpcHealth(proc.port, undefined);
  return grpcHealth(proc.port, certDir, 1000, tlsNameOf(proc));
}
