// Jest runs the TypeScript sources directly (swc), as native ESM, like Node runs the build.
// Imports of @shopmesh/* packages resolve to their sources, so tests need no build step.
const transform = {
  "^.+\\.ts$": [
    "@swc/jest",
    { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } },
  ],
};
const moduleNameMapper = {
  "^@shopmesh/gen/(.*)\\.js$": "<rootDir>/gen/ts/src/$1.ts",
  "^@shopmesh/mesh$": "<rootDir>/mesh/src/index.ts",
  "^@shopmesh/mesh/testing$": "<rootDir>/mesh/src/testing/index.ts",
  "^@shopmesh/books$": "<rootDir>/test/books/src/index.ts",
  "^(\\.{1,2}/.*)\\.js$": "$1",
};
const common = {
  rootDir: import.meta.dirname,
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform,
  moduleNameMapper,
  // Component tests start real servers; a slow shared machine needs more than jest's 5 s.
  testTimeout: 60_000,
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...common,
      displayName: "unit",
      // Unit tests (pure logic, in memory) and component tests (real FerretDB and Redis on free
      // ports, real gRPC over loopback) sit beside the code.
      testMatch: ["<rootDir>/test/contracts/**/*.test.ts", "<rootDir>/mesh/src/**/*.test.ts", "<rootDir>/runner/src/**/*.test.ts",
        "<rootDir>/services/*/src/**/*.test.ts", "<rootDir>/loadtest/src/**/*.test.ts",
        "<rootDir>/test/security/**/*.test.ts"],
      // Sets SHOP_TEST_MONGO_URL and SHOP_TEST_REDIS_URL for component tests.
      globalSetup: "<rootDir>/test/support/global-setup.ts",
      globalTeardown: "<rootDir>/test/support/global-teardown.ts",
    },
    {
      ...common,
      displayName: "e2e",
      // Against a running `make up`; run by `make test-e2e`.
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
    },
    {
      ...common,
      displayName: "chaos",
      // Faults injected into a running `make up` (REPLICAS_catalog=2); run in band by `make test-e2e`.
      testMatch: ["<rootDir>/test/chaos/**/*.test.ts"],
    },
    {
      ...common,
      displayName: "istio",
      // Against a running `make up MESH=istio`: what istiod and the Envoys say; run by `make test-e2e-istio`.
      testMatch: ["<rootDir>/test/istio/**/*.test.ts"],
    },
    {
      ...common,
      displayName: "observe",
      // Against a running `make up OBSERVE=1`: traces in Zipkin, Prometheus's targets and rules; run by `make test-e2e-observe`.
      testMatch: ["<rootDir>/test/observe/**/*.test.ts"],
    },
  ],
};
