package main

import (
	"errors"
	"fmt"
)

// The output format, shared with examples/python-client and documented in docs/polyglot.md:
// one line per step, space-separated "key value" words, money as "<ISO 4217 code> <minor units>".
//
//	user <user_id> <email>
//	product <product_id> <currency> <amount_minor>
//	cart items <n> cart_total <currency> <amount_minor>
//	order <order_id> status <ORDER_STATUS_...> total <currency> <amount_minor> cart_total <currency> <amount_minor>

// money is an exact amount in a currency's minor unit.
type money struct {
	currency string
	minor    int64
}

// line is a unit price times a quantity.
type line struct {
	unit     money
	quantity int64
}

// sum adds up lines; all must share one currency, since an order is charged in one.
func sum(lines []line) (money, error) {
	var total money
	for _, l := range lines {
		if total.currency == "" {
			total.currency = l.unit.currency
		} else if l.unit.currency != total.currency {
			return money{}, errors.New("cart mixes currencies " + total.currency + " and " + l.unit.currency)
		}
		total.minor += l.unit.minor * l.quantity
	}
	return total, nil
}

func (m money) String() string { return fmt.Sprintf("%s %d", m.currency, m.minor) }

func userLine(id, email string) string { return fmt.Sprintf("user %s %s", id, email) }

func productLine(id, currency string, minor int64) string {
	return fmt.Sprintf("product %s %s", id, money{currency, minor})
}

func cartLine(items int, total money) string {
	return fmt.Sprintf("cart items %d cart_total %s", items, total)
}

func orderLine(id, status string, total, cartTotal money) string {
	return fmt.Sprintf("order %s status %s total %s cart_total %s", id, status, total, cartTotal)
}
