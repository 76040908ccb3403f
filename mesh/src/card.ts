// The rules of a shop.payment.v1.CreditCard (proto/shop/payment/v1/payment.proto), for every
// service that receives one: order checks the card of a PlaceOrder before it reserves anything,
// payment checks a Charge's again because it trusts no caller. One copy, so they cannot disagree.
import type { Violations } from "./violations.js";

/** The card fields as they arrive in a request. */
export interface CardInput {
  number: string;
  cvv: string;
  expirationYear: number;
  expirationMonth: number;
}

/** True when the digits pass the Luhn checksum. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Adds a violation per bad card field under `prefix` (e.g. "card"). `now` is injectable so the
 * expiry rule is testable at month boundaries.
 */
export function checkCard(v: Violations, card: CardInput | undefined, prefix: string, now = new Date()): void {
  if (!card) {
    v.check(false, prefix, "required");
    return;
  }
  const digitsOk = /^[0-9]{12,19}$/.test(card.number);
  v.check(digitsOk, `${prefix}.number`, "must be 12 to 19 digits");
  if (digitsOk) v.check(luhnValid(card.number), `${prefix}.number`, "fails the Luhn check");
  v.check(/^[0-9]{3,4}$/.test(card.cvv), `${prefix}.cvv`, "must be 3 or 4 digits");
  const yearOk = Number.isInteger(card.expirationYear) && card.expirationYear >= 2000 && card.expirationYear <= 2100;
  const monthOk = Number.isInteger(card.expirationMonth) && card.expirationMonth >= 1 && card.expirationMonth <= 12;
  v.check(yearOk, `${prefix}.expiration_year`, "must be 2000 to 2100");
  v.check(monthOk, `${prefix}.expiration_month`, "must be 1 to 12");
  if (yearOk && monthOk) {
    // A card is valid through the last day of its expiry month (UTC, the processor's clock).
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth() + 1;
    const expired = card.expirationYear < y || (card.expirationYear === y && card.expirationMonth < m);
    v.check(!expired, `${prefix}.expiration_month`, "the card has expired");
  }
}
