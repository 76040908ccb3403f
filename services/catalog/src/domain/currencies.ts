// The ISO 4217 codes catalog accepts in Money. A closed list, so "XYZ" is rejected as unknown
// rather than silently matching nothing.
const CODES = new Set([
  "AED", "ARS", "AUD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP", "EUR", "GBP", "HKD", "HUF",
  "IDR", "ILS", "INR", "ISK", "JPY", "KRW", "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "RON",
  "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR",
]);

/** True for a currency code catalog knows. */
export function isKnownCurrency(code: string): boolean {
  return CODES.has(code);
}
