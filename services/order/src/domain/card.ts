// Card checks at checkout, so a malformed card fails before anything is reserved or charged.
// Payment checks again (it trusts no caller); the rules are the proto's, kept in step by tests.
import type { Violations } from "@shopmesh/mesh";

/** The card fields as they arrive in a request. */
export interface CardInput {
  number: string;
  cvv: string;
  expirationYear: number;
  expirationMonth: number;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1 && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 === 0;
}

/** Adds a violation per bad card field under `prefix` ("card"). */
export function checkCard(v: Violations, card: CardInput | undefined, prefix: string, now = new Date()): void {
  if (!v.check(card !== undefined, prefix, "required") || !card) return;
  if (v.check(/^[0-9]{12,19}$/.test(card.number), `${prefix}.number`, "must be 12 to 19 digits")) {
    v.check(luhn(card.number), `${prefix}.number`, "fails the Luhn check");
  }
  v.check(/^[0-9]{3,4}$/.test(card.cvv), `${prefix}.cvv`, "must be 3 or 4 digits");
  const yearOk = v.check(card.expirationYear >= 2000 && card.expirationYear <= 2100, `${prefix}.expiration_year`, "must be 2000 to 2100");
  const monthOk = v.check(card.expirationMonth >= 1 && card.expirationMonth <= 12, `${prefix}.expiration_month`, "must be 1 to 12");
  if (yearOk && monthOk) {
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth() + 1;
    v.check(card.expirationYear > y || (card.expirationYear === y && card.expirationMonth >= m), `${prefix}.expiration_month`, "the card has expired");
  }
}
