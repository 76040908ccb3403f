// The charge store: Mongo is the truth for "one charge per idempotency key" (a unique index).

/** Where a charge record stands. PENDING and DECLINED are internal: clients never see them. */
export type ChargeState = "PENDING" | "SUCCEEDED" | "DECLINED" | "REFUNDED";

/** One charge attempt per idempotency key, as stored. Never holds the card number or CVV. */
export interface ChargeRecord {
  id: string;
  key: string;
  amountMinor: number;
  currency: string;
  cardLast4: string;
  /** Keyed hash of the card, to refuse the same key with another card. */
  cardHash: string;
  status: ChargeState;
  declineReason?: string;
  createdAt: Date;
  /** A PENDING record whose lease has passed may be taken over (its owner died). */
  leaseUntil: Date;
  refundedAt?: Date;
  refundReason?: string;
}

/** Persistence of charge records; implementations return plain objects, never driver types. */
export interface ChargeStore {
  /** Creates the indexes; idempotent. */
  init(): Promise<void>;
  /** Inserts a PENDING record; "duplicate" when its key is taken (the unique index decides). */
  insertPending(rec: ChargeRecord): Promise<"inserted" | "duplicate">;
  findByKey(key: string): Promise<ChargeRecord | null>;
  findById(id: string): Promise<ChargeRecord | null>;
  /** Moves a PENDING record's lease forward if it still has `expectedLease`; true when won. */
  takeOver(id: string, expectedLease: Date, newLease: Date): Promise<boolean>;
  /** PENDING → SUCCEEDED or DECLINED; null when the record is no longer PENDING. */
  finish(id: string, status: "SUCCEEDED" | "DECLINED", declineReason?: string): Promise<ChargeRecord | null>;
  /** Deletes a PENDING record, freeing its key after a processor failure that captured nothing. */
  release(id: string): Promise<void>;
  /** SUCCEEDED → REFUNDED; null when the record is not SUCCEEDED. */
  markRefunded(id: string, reason: string, at: Date): Promise<ChargeRecord | null>;
  /** Returns the named secret, generating and storing a random one on first use. */
  ensureSecret(name: string): Promise<string>;
  close(): Promise<void>;
}
