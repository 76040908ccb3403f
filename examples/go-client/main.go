// Command go-client walks a shopper's journey through the shopmesh edge with clients generated
// from proto/ by buf (gen/go): register or log in, list products, add to cart, place an order and
// read it back. It prints one parseable line per step (see output.go) and exits 1 on any error.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	suffix := randomHex(6)
	opts := journeyOptions{}
	flag.StringVar(&opts.addr, "addr", "127.0.0.1:8080", "the edge, plaintext h2c")
	flag.StringVar(&opts.email, "email", "go-client-"+suffix+"@example.com", "account to register or log in")
	flag.StringVar(&opts.password, "password", "go-client-password", "its password (8 to 128 characters)")
	flag.IntVar(&opts.quantity, "quantity", 2, "units of the first in-stock product to buy")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline for the whole journey")
	flag.Parse()

	if err := run(opts, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "go-client:", err)
		os.Exit(1)
	}
}

func run(opts journeyOptions, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The edge speaks plaintext h2c locally; in a cluster, point -addr at the ingress gateway.
	conn, err := grpc.NewClient(opts.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect %s: %w", opts.addr, err)
	}
	defer conn.Close()
	return journey(ctx, conn, opts, os.Stdout)
}

// randomHex returns n random bytes as hex, for unique emails and request ids.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// newRequestID returns a random UUID-shaped idempotency key (version 4 layout).
func newRequestID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
