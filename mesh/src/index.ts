// @shopmesh/mesh: the TypeScript service runtime. One export line per concept; anything not listed
// here is private. mesh-server and mesh-client each add their own lines. Test support is the
// separate @shopmesh/mesh/testing entry (testing/index.ts).
export { ValidationError, NotFoundError, AlreadyExistsError, PreconditionError, UnauthenticatedError, PermissionDeniedError, RateLimitedError, AbortedError, UnavailableError, DomainError, toConnectError, withReason, reasonOf } from "./errors.js";
export type { FieldViolation, ErrorReason } from "./errors.js";
export { upstreamError } from "./upstream-error.js";
export type { BusinessErrorMap } from "./upstream-error.js";
export { Violations } from "./violations.js";
export { insertOnce, firstWriterWins } from "./insert-once.js";
export { parseSettings, parsers } from "./settings.js";
export type { Setting, Settings } from "./settings.js";
export { loadMeshConfig, loadTlsMaterial, spiffeId, defaultLimits } from "./config.js";
export type { MeshConfig, MeshMode, MeshLimits, JwtConfig, TlsMaterial } from "./config.js";
export { loadTopology, checkTopology, defaultTopologyPath } from "./topology.js";
export type { Topology, TopologyService, MethodRule, Address } from "./topology.js";
export { inboundCall, runWithInboundCall, currentUser, currentCaller, userKey, callerKey } from "./context.js";
export type { InboundCall, User } from "./context.js";
export { serve } from "./serve.js";
export type { ServeOptions, MeshServer, ServiceRegistration, AdminRoute } from "./serve.js";
export { stopOnSignals } from "./serve-signals.js";
export { createLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { meshRegistry } from "./metrics.js";
export { parseTraceparent, formatTraceparent, outboundTraceparent, newTraceId, newSpanId } from "./trace.js";
export type { TraceParent } from "./trace.js";
export { createJwtVerifier } from "./jwt.js";
export type { JwtVerifier } from "./jwt.js";
export { makeDevCerts } from "./identity-certs.js";
export { identityFromCertificate, identityFromXfcc, identityFromSpiffe } from "./identity.js";
// mesh-client
export { createClient, closeClients, breakerOf, breakersOf, credentialsOf } from "./client.js";
export type { ClientOptions } from "./client.js";
export { createGrpcJsTransport, defaultChannelOptions, statusToError } from "./transport.js";
export type { GrpcJsTransportOptions } from "./transport.js";
export { createDeadlineInterceptor, deadlineKey, abortReasonToError } from "./deadline.js";
export type { DeadlineOptions, InboundCallInfo } from "./deadline.js";
export { createRetryInterceptor, createRetryBudget, isRetrySafe } from "./retry.js";
export type { RetryOptions, RetryBudget } from "./retry.js";
export { createBreaker, createBreakerInterceptor, isTripCode, MESH_DOMAIN, CIRCUIT_OPEN } from "./breaker.js";
export type { Breaker, BreakerOptions, BreakerState } from "./breaker.js";
export { clientMetrics, createMetricsInterceptor } from "./client-metrics.js";
export type { ClientMetrics } from "./client-metrics.js";
export { sleep } from "./sleep.js";
export { checkCard, luhnValid } from "./card.js";
export type { CardInput } from "./card.js";
export { openRedis } from "./redis.js";
export type { RedisClientOptions } from "./redis.js";
export { connectMongo, insertFact, readFact } from "./mongo.js";
export type { MongoConnectOptions, FactDoc } from "./mongo.js";
