package main

import (
	"regexp"
	"testing"
)

func TestSumMultipliesAndAdds(t *testing.T) {
	got, err := sum([]line{{money{"USD", 1250}, 2}, {money{"USD", 99}, 3}})
	if err != nil || got != (money{"USD", 2797}) {
		t.Fatalf("sum = %v, %v; want USD 2797", got, err)
	}
}

func TestSumRefusesMixedCurrencies(t *testing.T) {
	if _, err := sum([]line{{money{"USD", 1}, 1}, {money{"EUR", 1}, 1}}); err == nil {
		t.Fatal("mixed currencies were summed")
	}
}

func TestOrderLineIsParseable(t *testing.T) {
	s := orderLine("ord_1", "ORDER_STATUS_CONFIRMED", money{"USD", 2500}, money{"USD", 2500})
	re := regexp.MustCompile(`^order (\S+) status (\S+) total ([A-Z]{3}) (\d+) cart_total ([A-Z]{3}) (\d+)$`)
	m := re.FindStringSubmatch(s)
	if m == nil || m[1] != "ord_1" || m[4] != "2500" || m[6] != "2500" {
		t.Fatalf("unparseable order line %q", s)
	}
}

func TestRequestIDIsUUIDShaped(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := newRequestID(), newRequestID()
	if !re.MatchString(a) || a == b {
		t.Fatalf("request ids %q %q", a, b)
	}
}
