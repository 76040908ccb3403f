// @shopmesh/mesh/testing: test support for any package's tests, kept out of the runtime's index
// (mesh/src/index.ts) so that production code cannot import it by accident.
export { createTestMesh, testIssuer } from "./mesh.js";
export type { TestMesh, TestMeshOptions, TestTokenClaims } from "./mesh.js";
export { rawClient, rawUnary, testCredentials } from "./grpc.js";
export type { RawResult } from "./grpc.js";
export { createCatalogFixture } from "./catalog.js";
export type { CatalogFixtureOptions } from "./catalog.js";
export { startBareServer, grpcDefinitionOf, toGrpcStatus } from "./bare-server.js";
export type { BareServer, BareCall, BareHandler } from "./bare-server.js";
export { UPSTREAM_SECRET, upstreamFailure, answerOf } from "./upstream-failure.js";
export { deleteRedisKeys } from "./redis-keys.js";
