// Domain errors and the one map from any thrown value to a ConnectError. Service domain code throws
// the classes below and never picks transport codes itself; serve() and the client call
// toConnectError so every failure leaves a process with an explicit, honest gRPC status.
// The map as a table: docs/architecture.md, "The error map".
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { createLogger } from "./logger.js";

/** One invalid request field: `field` is the proto field path (e.g. "product.price.amount_minor"). */
export interface FieldViolation {
  /** Path of the offending field, in proto field names. */
  field: string;
  /** Why the value is invalid, readable by the caller. */
  description: string;
}

/** A stable, machine-readable reason for a failure; travels as google.rpc.ErrorInfo. */
export interface ErrorReason {
  /** UPPER_SNAKE_CASE, unique within the domain, e.g. "CARD_DECLINED". */
  reason: string;
  /** The service that defines the reason, e.g. "payment.shop.local". */
  domain: string;
  /** Facts about the failure, for the caller's program (never secrets). */
  metadata?: Record<string, string>;
}

/** Base class of every domain error; `code` is the gRPC code the one map gives it. */
export abstract class DomainError extends Error {
  /** The gRPC status code this error becomes on the wire. */
  abstract readonly code: Code;
  /** Why, for the caller's program: other services branch on this, never on the message. */
  reason?: ErrorReason;
}

/** Gives a domain error its machine-readable reason and returns it, for `throw withReason(...)`. */
export function withReason<E extends DomainError>(err: E, reason: ErrorReason): E {
  err.reason = reason;
  return err;
}

/** The google.rpc.ErrorInfo of a failed call (or a local DomainError), if it has one. */
export function reasonOf(err: unknown): ErrorReason | undefined {
  if (err instanceof DomainError) return err.reason;
  if (!(err instanceof ConnectError)) return undefined;
  const info = err.findDetails(ErrorInfoSchema)[0];
  return info ? { reason: info.reason, domain: info.domain, metadata: { ...info.metadata } } : undefined;
}

/** Invalid input: becomes InvalidArgument with google.rpc.BadRequest field violations. */
export class ValidationError extends DomainError {
  readonly code = Code.InvalidArgument;
  /** The field violations, also sent to the caller as google.rpc.BadRequest. */
  readonly violations: FieldViolation[];
  constructor(violations: FieldViolation[], message?: string) {
    super(message ?? validationMessage(violations));
    this.name = "ValidationError";
    this.violations = violations;
  }
}

/** The addressed entity does not exist: NotFound. */
export class NotFoundError extends DomainError {
  readonly code = Code.NotFound;
  override readonly name = "NotFoundError";
}

/** The entity to create already exists: AlreadyExists. */
export class AlreadyExistsError extends DomainError {
  readonly code = Code.AlreadyExists;
  override readonly name = "AlreadyExistsError";
}

/** The system is not in the state the operation needs (e.g. empty cart at checkout): FailedPrecondition. */
export class PreconditionError extends DomainError {
  readonly code = Code.FailedPrecondition;
  override readonly name = "PreconditionError";
}

/** Missing or invalid credentials: Unauthenticated. */
export class UnauthenticatedError extends DomainError {
  readonly code = Code.Unauthenticated;
  override readonly name = "UnauthenticatedError";
}

/** Authenticated, but not allowed to do this: PermissionDenied. */
export class PermissionDeniedError extends DomainError {
  readonly code = Code.PermissionDenied;
  override readonly name = "PermissionDeniedError";
}

/** Too many requests or a quota is spent: ResourceExhausted. */
export class RateLimitedError extends DomainError {
  readonly code = Code.ResourceExhausted;
  override readonly name = "RateLimitedError";
}

/** A concurrency conflict (e.g. lost an optimistic-lock race); the caller may retry the sequence: Aborted. */
export class AbortedError extends DomainError {
  readonly code = Code.Aborted;
  override readonly name = "AbortedError";
}

/** A dependency is down; the call may succeed later: Unavailable. */
export class UnavailableError extends DomainError {
  readonly code = Code.Unavailable;
  override readonly name = "UnavailableError";
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

const log = createLogger("mesh-errors");

/** Maps any thrown value to a ConnectError; the ONE error map of the mesh. Keeps the original as `cause`. */
export function toConnectError(err: unknown): ConnectError {
  // Already a transport error (from a downstream call or a mesh interceptor): keep code and details.
  if (err instanceof ConnectError) return err;
  if (err instanceof ValidationError) {
    // Invalid input: the violations travel as google.rpc.BadRequest so clients can show them per field.
    return new ConnectError(err.message, Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: { fieldViolations: err.violations } },
      ...infoDetails(err),
    ], err);
  }
  // Other domain errors already name their code; their messages are written for the caller, and
  // their reason (if any) for the caller's program.
  if (err instanceof DomainError) return new ConnectError(err.message, err.code, undefined, infoDetails(err), err);
  // Duck-typed, not instanceof Error: DOMException and errors from other realms (vm, jest) fail instanceof.
  if (isErrorLike(err)) {
    // AbortSignal.timeout() and our deadline timers abort with a TimeoutError: the deadline passed.
    if (err.name === "TimeoutError") return new ConnectError("deadline exceeded", Code.DeadlineExceeded, undefined, undefined, err);
    // An AbortError means the call was cancelled (client went away or shutdown), not that it failed.
    if (err.name === "AbortError") return new ConnectError("operation canceled", Code.Canceled, undefined, undefined, err);
    // MongoDB, by the driver's error class and the server's error code.
    const mongo = mongoCode(err);
    if (mongo === Code.DeadlineExceeded) return new ConnectError("database deadline exceeded", Code.DeadlineExceeded, undefined, undefined, err);
    if (mongo === Code.Unavailable) return new ConnectError("database unavailable", Code.Unavailable, undefined, undefined, err);
    // ioredis connection failures (closed connection, refused, offline queue off): cache/store outage.
    if (isRedisUnavailable(err)) return new ConnectError("cache unavailable", Code.Unavailable, undefined, undefined, err);
    // Node socket errors from any other client library: also a dependency outage.
    if (isNodeNetworkError(err)) return new ConnectError("dependency unavailable", Code.Unavailable, undefined, undefined, err);
  }
  // Anything else is a bug: the client learns only that it failed; the details go to our log.
  log.error({ err }, "internal error");
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

function infoDetails(err: DomainError) {
  return err.reason ? [{ desc: ErrorInfoSchema, value: { reason: err.reason.reason, domain: err.reason.domain, metadata: err.reason.metadata ?? {} } }] : [];
}

// MongoDB driver errors by class: the driver names each class (`name`), which also holds across
// realms where instanceof fails. The driver lost its server or cannot select one: an outage.
const mongoUnavailableNames = new Set([
  "MongoNetworkError", "MongoNetworkTimeoutError", "MongoServerSelectionError", "MongoTopologyClosedError",
  "MongoNotConnectedError", "PoolClearedError", "MongoPoolClearedError", "MongoServerClosedError", "MongoClientClosedError",
]);
// The driver's own operation timeout (timeoutMS).
const mongoDeadlineNames = new Set(["MongoOperationTimeoutError"]);
// The classes that carry a server error code.
const mongoServerNames = new Set(["MongoServerError", "MongoBulkWriteError", "MongoWriteConcernError", "MongoClientBulkWriteError"]);
// Server codes: the operation's time limit passed (50 MaxTimeMSExpired, which FerretDB sends for
// maxTimeMS too, and 262 ExceededTimeLimit)...
const mongoDeadlineCodes = new Set([50, 262]);
// ...or the server is unreachable, shutting down or not primary (HostUnreachable, HostNotFound,
// NetworkTimeout, ShutdownInProgress, ReadConcernMajorityNotAvailableYet, PrimarySteppedDown,
// SocketException, LegacyNotPrimary, NotWritablePrimary, InterruptedAtShutdown,
// InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary).
const mongoUnavailableCodes = new Set([6, 7, 89, 91, 134, 189, 9001, 10058, 10107, 11600, 11602, 13435, 13436]);

function isErrorLike(err: unknown): err is Error {
  return typeof err === "object" && err !== null && typeof (err as Error).name === "string" && typeof (err as Error).message === "string";
}

/** Unavailable or DeadlineExceeded for a MongoDB driver error that says so; undefined for any other error. */
function mongoCode(err: Error): Code | undefined {
  if (mongoUnavailableNames.has(err.name)) return Code.Unavailable;
  if (mongoDeadlineNames.has(err.name)) return Code.DeadlineExceeded;
  if (!mongoServerNames.has(err.name)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "number") return undefined;
  if (mongoDeadlineCodes.has(code)) return Code.DeadlineExceeded;
  return mongoUnavailableCodes.has(code) ? Code.Unavailable : undefined;
}

function isRedisUnavailable(err: Error): boolean {
  // ioredis: "Connection is closed.", MaxRetriesPerRequestError, and "Stream isn't writeable" when offline.
  return err.name === "MaxRetriesPerRequestError" ||
    (err.message === "Connection is closed.") ||
    err.message.startsWith("Stream isn't writeable");
}

const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

function isNodeNetworkError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && networkCodes.has(code);
}

function validationMessage(violations: FieldViolation[]): string {
  if (violations.length === 0) return "invalid request";
  const first = violations[0]!;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return `invalid ${first.field}: ${first.description}${more}`;
}
