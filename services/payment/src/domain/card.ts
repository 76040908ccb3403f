// The card fingerprint (the card's rules are mesh's checkCard). The number and CVV live only in
// the request: what survives the call is the last four digits and a keyed hash, enough to tell
// "same card?" on a repeated idempotency key without keeping anything a thief could charge.
import { createHmac } from "node:crypto";
import type { CardInput } from "@shopmesh/mesh";

/** What is kept of a card: enough to compare, never enough to charge. */
export interface CardFingerprint {
  last4: string;
  /** HMAC-SHA256 of the number (and expiry) under the service's key, hex. */
  hash: string;
}

/**
 * Fingerprints a card. Keyed (HMAC), because a plain hash of a 16-digit number with a known
 * prefix and Luhn digit is brute-forced in minutes.
 */
export function fingerprintCard(card: CardInput, key: string): CardFingerprint {
  const hash = createHmac("sha256", key)
    .update(`${card.number}|${card.expirationYear}|${card.expirationMonth}`)
    .digest("hex");
  return { last4: card.number.slice(-4), hash };
}
