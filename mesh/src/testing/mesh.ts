// Test support for component tests in any package: dev certificates for every identity in a temp dir,
// a per-identity MeshConfig, and a JWT signer whose keys those configs trust (no auth service needed).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet } from "jose";
import { defaultLimits, loadTlsMaterial, trustPolicy, type MeshConfig, type MeshLimits, type MeshMode } from "../config.js";
import { loadTopology, type Topology } from "../topology.js";
import { makeDevCerts } from "../identity-certs.js";

/** Claims of a test access token. */
export interface TestTokenClaims {
  /** The user id. */
  sub: string;
  /** Roles claim; default []. */
  roles?: string[];
  /** jose duration ("15m", "-1h" for an already expired token) or seconds from now; default "15m". */
  expiresIn?: string | number;
  /** The iss claim; default testIssuer (another one makes a token the configs refuse). */
  issuer?: string;
  /** The aud claim; default the mesh's audience (none when it has none); null leaves it out. */
  audience?: string | null;
  /** The kid header; default the kid of the one key in the JWKS. */
  kid?: string;
}

/** Options of createTestMesh. */
export interface TestMeshOptions {
  /** An audience the configs require and the test tokens carry, as JWT_AUDIENCE in a real mesh; default none. */
  audience?: string;
}

/** A ready-made set of identities and keys for in-process mesh tests. */
export interface TestMesh {
  /** Directory holding ca.pem and <name>.pem/<name>-key.pem for every identity. */
  certDir: string;
  /** The topology the configs carry. */
  topology: Topology;
  /** A MeshConfig for identity `name` (a topology service, "edge" or "stranger"), in local mode by default. */
  config(name: string, overrides?: { mode?: MeshMode; limits?: Partial<MeshLimits> }): MeshConfig;
  /** Signs an ES256 access token that the configs' JWT verifier accepts. */
  signToken(claims: TestTokenClaims): Promise<string>;
  /** The public JWKS the configs trust (serve it to test a JWKS_URL setup). */
  jwks: JSONWebKeySet;
  /** The issuer the test tokens carry. */
  issuer: string;
  /** The audience the configs require and the test tokens carry (undefined: not checked). */
  audience: string | undefined;
  /** Removes the temp directory (when createTestMesh made it). */
  dispose(): void;
}

/** Issuer of test tokens. */
export const testIssuer = "shopmesh-test";

/**
 * Makes dev certificates for all topology services + "edge" + "stranger" (a valid CA-signed cert with an
 * identity no method allows) in `dir` (default: a fresh temp dir) and an ES256 signing key. Starts nothing.
 */
export async function createTestMesh(dir?: string, opts: TestMeshOptions = {}): Promise<TestMesh> {
  const topology = loadTopology();
  const certDir = dir ?? mkdtempSync(path.join(tmpdir(), "shopmesh-certs-"));
  makeDevCerts(certDir, [...Object.keys(topology.services), "edge", "stranger"], topology);
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-1", alg: "ES256", use: "sig" };
  const jwks: JSONWebKeySet = { keys: [jwk] };
  const getKey = createLocalJWKSet(jwks);
  return {
    certDir,
    topology,
    jwks,
    issuer: testIssuer,
    audience: opts.audience,
    config(name, overrides = {}) {
      const mode = overrides.mode ?? "local";
      return {
        mode,
        name,
        certDir: mode === "local" ? certDir : undefined,
        tls: mode === "local" ? loadTlsMaterial(certDir, name) : undefined,
        jwt: { getKey, issuer: testIssuer, audience: opts.audience },
        topology,
        limits: { ...defaultLimits, ...overrides.limits },
        trust: trustPolicy(mode, topology, { MESH_TRUST_DOMAIN: topology.trustDomain }),
      };
    },
    async signToken({ sub, roles = [], expiresIn = "15m", issuer = testIssuer, audience = opts.audience, kid = jwk.kid }) {
      const now = Math.floor(Date.now() / 1000);
      const exp = typeof expiresIn === "number" ? now + expiresIn : expiresIn;
      const jwt = new SignJWT({ roles })
        .setProtectedHeader({ alg: "ES256", kid })
        .setSubject(sub)
        .setIssuer(issuer)
        .setIssuedAt(now - 60 * 60 * 2)
        .setExpirationTime(exp);
      if (audience !== undefined && audience !== null) jwt.setAudience(audience);
      return jwt.sign(privateKey);
    },
    dispose() {
      if (dir === undefined) rmSync(certDir, { recursive: true, force: true });
    },
  };
}
