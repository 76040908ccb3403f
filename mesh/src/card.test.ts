import { checkCard, luhnValid, type CardInput } from "./card.js";
import { Violations } from "./violations.js";

const card: CardInput = { number: "4242424242424242", cvv: "123", expirationYear: 2030, expirationMonth: 6 };
const fields = (c: CardInput | undefined, now = new Date("2030-06-30T23:59:59Z")) => {
  const v = new Violations();
  checkCard(v, c, "card", now);
  return v.list.map((x) => x.field);
};

test("Luhn: a valid number passes, one changed digit fails", () => {
  expect(luhnValid("4242424242424242")).toBe(true);
  expect(luhnValid("4242424242424241")).toBe(false);
  expect(luhnValid("79927398713")).toBe(true);
});

test("a card is valid through the last day of its expiry month (UTC)", () => {
  expect(fields(card)).toEqual([]);
  expect(fields(card, new Date("2030-07-01T00:00:00Z"))).toEqual(["card.expiration_month"]);
});

test("every bad field is named", () => {
  expect(fields(undefined)).toEqual(["card"]);
  expect(fields({ number: "4242 4242", cvv: "12", expirationYear: 1999, expirationMonth: 13 }))
    .toEqual(["card.number", "card.cvv", "card.expiration_year", "card.expiration_month"]);
  expect(fields({ ...card, number: "4242424242424241" })).toEqual(["card.number"]);
});
