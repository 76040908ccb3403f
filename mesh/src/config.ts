// Mesh configuration: read from the environment once at start (fail fast when something required is
// missing), then passed explicitly to serve() and createClient(). Nothing else in mesh/ reads env.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { JWTVerifyGetKey } from "jose";
import { defaultTopologyPath, loadTopology, type Topology } from "./topology.js";
import type { TrustPolicy } from "./identity.js";
import { parseFault, type FaultConfig } from "./fault.js";
import { defaultAccessLog, type AccessLogConfig } from "./access-log.js";

/** local: the app does mTLS, retries, breakers; istio: plaintext behind the sidecar, app retries off. */
export type MeshMode = "local" | "istio";

/** PEM material for mTLS (local mode). */
export interface TlsMaterial {
  /** The dev CA certificate(s) that sign every mesh identity. */
  ca: Buffer;
  /** This process's certificate chain. */
  cert: Buffer;
  /** This process's private key. */
  key: Buffer;
}

/** End-user JWT verification settings. */
export interface JwtConfig {
  /** auth's JWKS URL (fetched, cached, refetched on unknown kid). */
  jwksUrl?: string;
  /** Key getter used instead of jwksUrl (tests use an in-process JWKS). */
  getKey?: JWTVerifyGetKey;
  /** Expected `iss`, checked when set. */
  issuer?: string;
  /** Expected `aud`, checked when set. */
  audience?: string;
}

/** Server limits. */
export interface MeshLimits {
  /** Largest accepted or sent message, bytes; larger gets ResourceExhausted. */
  maxMessageBytes: number;
  /** Inbound deadlines are capped to this many ms; calls without a deadline get it too. */
  maxDeadlineMs: number;
  /** In-flight unary calls per server beyond which new ones are shed with ResourceExhausted. */
  maxConcurrentCalls: number;
  /** Open server streams per server beyond which new ones are refused (ResourceExhausted): a budget
   * of their own, so held streams never starve unary calls (issue 14). */
  maxConcurrentStreams: number;
  /** Open streams per caller: per end user when a valid JWT came, else per client address (the one
   * the edge forwards in x-forwarded-for, or the peer's). */
  maxStreamsPerCaller: number;
  /** A stream's longest life, ms: then the server ends it with OK (trailer x-shop-stream-end:
   * max-lifetime), and the client opens it again. */
  maxStreamLifetimeMs: number;
}

/** Everything serve() and createClient() need to know about the mesh. */
export interface MeshConfig {
  /** local or istio. */
  mode: MeshMode;
  /** This process's mesh identity (its service name; the cert file name in certDir). */
  name: string;
  /** Directory with ca.pem, <name>.pem, <name>-key.pem (local mode). */
  certDir: string | undefined;
  /** mTLS material loaded from certDir (local mode), undefined in istio mode. */
  tls: TlsMaterial | undefined;
  /** End-user JWT verification. */
  jwt: JwtConfig;
  /** The routing/access table. */
  topology: Topology;
  /** Server limits. */
  limits: MeshLimits;
  /** Whose SPIFFE ids name mesh identities (trust domain and namespaces). */
  trust: TrustPolicy;
  /** Bind address of the gRPC and admin servers (HOST): loopback locally, 0.0.0.0 in a pod, where
   * the sidecar forwards to the pod IP and a loopback-bound server would be unreachable. */
  host?: string;
  /** The fault knob (MESH_FAULT_*, off unless set): see fault.ts. */
  fault?: FaultConfig;
  /** Which calls get an access log line (access-log.ts); default defaultAccessLog. */
  accessLog?: AccessLogConfig;
}

/**
 * Default limits: gRPC's usual 4 MiB, a 30 s deadline cap, 1024 unary calls in flight, and 2048
 * open streams, 32 per caller, each ended after 30 minutes (the edge holds a stream at most an hour).
 */
export const defaultLimits: MeshLimits = { maxMessageBytes: 4 * 1024 * 1024, maxDeadlineMs: 30_000, maxConcurrentCalls: 1024,
  maxConcurrentStreams: 2048, maxStreamsPerCaller: 32, maxStreamLifetimeMs: 30 * 60_000 };

/** Loads ca.pem, <name>.pem and <name>-key.pem from certDir, with a clear error when one is missing. */
export function loadTlsMaterial(certDir: string, name: string): TlsMaterial {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(certDir, f));
    } catch {
      throw new Error(`mesh: missing ${path.join(certDir, f)} (make up makes them in .run/certs; or set MESH_CERT_DIR)`);
    }
  };
  return { ca: read("ca.pem"), cert: read(`${name}.pem`), key: read(`${name}-key.pem`) };
}

/**
 * Builds the MeshConfig from the environment: MESH_MODE (local|istio, default local), MESH_SERVICE_NAME
 * (or `name`), MESH_CERT_DIR (default .run/certs of the cwd; local mode), JWKS_URL, JWT_ISSUER,
 * JWT_AUDIENCE, MESH_TOPOLOGY, MESH_MAX_MESSAGE_BYTES, MESH_MAX_DEADLINE_MS, MESH_MAX_CONCURRENT_CALLS,
 * MESH_MAX_CONCURRENT_STREAMS, MESH_MAX_STREAMS_PER_CALLER, MESH_MAX_STREAM_LIFETIME_MS,
 * MESH_ACCESS_LOG_SAMPLE and MESH_ACCESS_LOG_SLOW_MS (access-log.ts), and the
 * fault knob MESH_FAULT_UNAVAILABLE_RATE and MESH_FAULT_DELAY_MS (fault.ts).
 * Throws at start when something required is missing or malformed.
 */
export function loadMeshConfig(env: NodeJS.ProcessEnv = process.env, name?: string): MeshConfig {
  const mode = (env.MESH_MODE ?? "local") as MeshMode;
  if (mode !== "local" && mode !== "istio") throw new Error(`mesh: MESH_MODE must be local or istio, got ${mode}`);
  const self = name ?? env.MESH_SERVICE_NAME;
  if (!self) throw new Error("mesh: MESH_SERVICE_NAME is required (the service's mesh identity)");
  const topology = loadTopology(env.MESH_TOPOLOGY ?? defaultTopologyPath);
  const certDir = mode === "local" ? path.resolve(env.MESH_CERT_DIR ?? ".run/certs") : undefined;
  const tls = certDir === undefined ? undefined : loadTlsMaterial(certDir, self);
  const jwt: JwtConfig = { jwksUrl: env.JWKS_URL, issuer: env.JWT_ISSUER || undefined, audience: env.JWT_AUDIENCE || undefined };
  // Only auth itself may run without a JWKS (it is the issuer); everyone else would reject every user.
  if (!jwt.jwksUrl && self !== "auth") throw new Error("mesh: JWKS_URL is required (auth's JWKS endpoint)");
  const limits: MeshLimits = {
    maxMessageBytes: intEnv(env, "MESH_MAX_MESSAGE_BYTES", defaultLimits.maxMessageBytes),
    maxDeadlineMs: intEnv(env, "MESH_MAX_DEADLINE_MS", defaultLimits.maxDeadlineMs),
    maxConcurrentCalls: intEnv(env, "MESH_MAX_CONCURRENT_CALLS", defaultLimits.maxConcurrentCalls),
    maxConcurrentStreams: intEnv(env, "MESH_MAX_CONCURRENT_STREAMS", defaultLimits.maxConcurrentStreams),
    maxStreamsPerCaller: intEnv(env, "MESH_MAX_STREAMS_PER_CALLER", defaultLimits.maxStreamsPerCaller),
    maxStreamLifetimeMs: intEnv(env, "MESH_MAX_STREAM_LIFETIME_MS", defaultLimits.maxStreamLifetimeMs),
  };
  const host = env.HOST || (mode === "istio" ? "0.0.0.0" : "127.0.0.1");
  const accessLog: AccessLogConfig = {
    sampleOneIn: intEnv(env, "MESH_ACCESS_LOG_SAMPLE", defaultAccessLog.sampleOneIn),
    slowMs: intEnv(env, "MESH_ACCESS_LOG_SLOW_MS", defaultAccessLog.slowMs),
  };
  return { mode, name: self, certDir, tls, jwt, topology, limits, trust: trustPolicy(mode, topology, env), host,
    fault: parseFault(env), accessLog };
}

/**
 * Whose SPIFFE ids name mesh identities. Locally, the dev CA's trust domain and namespace
 * (topology.json). Under Istio, the cluster's trust domain (MESH_TRUST_DOMAIN, default Istio's
 * cluster.local), the namespace (MESH_NAMESPACE, default topology.json's) and the ingress
 * gateway's namespace (MESH_GATEWAY_NAMESPACE, default istio-system).
 */
export function trustPolicy(mode: MeshMode, topology: Topology, env: NodeJS.ProcessEnv = {}): TrustPolicy {
  if (mode === "local") return { trustDomain: topology.trustDomain, namespace: topology.namespace, gatewayNamespace: "istio-system" };
  return { trustDomain: env.MESH_TRUST_DOMAIN || "cluster.local", namespace: env.MESH_NAMESPACE || topology.namespace,
    gatewayNamespace: env.MESH_GATEWAY_NAMESPACE || "istio-system" };
}

function intEnv(env: NodeJS.ProcessEnv, key: string, dflt: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`mesh: ${key} must be a positive integer, got ${raw}`);
  return n;
}

/** The SPIFFE id of a mesh identity, e.g. spiffe://shop.local/ns/shop/sa/catalog. */
export function spiffeId(topology: Pick<Topology, "trustDomain" | "namespace">, name: string): string {
  return `spiffe://${topology.trustDomain}/ns/${topology.namespace}/sa/${name}`;
}
