// The charge store: facts, each inserted once under a unique `_id` (docs/architecture.md "The
// store"). A charge is its attempt (who asked for what), its outcome (what the processor decided)
// and maybe its refund; reads merge them. Nothing is ever updated or deleted.

/** Where a charge stands. PENDING and DECLINED are internal: clients never see them. */
export type ChargeState = "PENDING" | "SUCCEEDED" | "DECLINED" | "REFUNDED";

/** The attempt: one per idempotency key (its `id` is derived from the key). Never holds the card number or CVV. */
export interface ChargeAttempt {
  id: string;
  key: string;
  amountMinor: number;
  currency: string;
  cardLast4: string;
  /** Keyed hash of the card, to refuse the same key with another card. */
  cardHash: string;
  createdAt: Date;
}

/** What the processor decided for an attempt; DECLINED with reason "voided" when the key was closed first. */
export interface ChargeOutcome {
  status: "SUCCEEDED" | "DECLINED";
  declineReason?: string;
  at: Date;
}

/** A full refund of a SUCCEEDED charge. */
export interface ChargeRefund {
  reason: string;
  at: Date;
}

/** A charge as read: its facts merged. */
export interface ChargeRecord extends ChargeAttempt {
  status: ChargeState;
  declineReason?: string;
  refundedAt?: Date;
  refundReason?: string;
}

/** Persistence of charge facts; implementations return plain objects, never driver types. */
export interface ChargeStore {
  /** Creates what the collections need; idempotent. */
  init(): Promise<void>;
  /** Inserts the attempt; false when its id (its key) is taken. */
  insertAttempt(a: ChargeAttempt): Promise<boolean>;
  /** Inserts the outcome unless the attempt has one; returns the outcome that stands. */
  insertOutcome(id: string, o: ChargeOutcome): Promise<ChargeOutcome>;
  /** Inserts the refund unless there is one; returns the refund that stands. */
  insertRefund(id: string, r: ChargeRefund): Promise<ChargeRefund>;
  /** The charge's facts merged, or null when there is no attempt. */
  find(id: string): Promise<ChargeRecord | null>;
  /** Returns the named secret, generating and storing a random one on first use. */
  ensureSecret(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Merges a charge's facts into what a reader sees. */
export function mergeCharge(a: ChargeAttempt, o: ChargeOutcome | null, r: ChargeRefund | null): ChargeRecord {
  const rec: ChargeRecord = { ...a, status: o ? o.status : "PENDING" };
  if (o?.declineReason) rec.declineReason = o.declineReason;
  if (o?.status === "SUCCEEDED" && r) {
    rec.status = "REFUNDED";
    rec.refundedAt = r.at;
    rec.refundReason = r.reason;
  }
  return rec;
}
