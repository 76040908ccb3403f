// The Go baseline of make bench (issue 17): a grpc-go server, built on our own gen/go, that
// answers shop.catalog.v2.CatalogService/GetProduct with one fixed response, the bytes the real
// catalog serves for a product. No mesh, no auth, no database: what a Go service like Online
// Boutique's would cost at least, so catalog_vs_go_echo_ratio compares catalog with that floor.
//
//	go-echo -addr 127.0.0.1:0 -response product.bin [-ca ca.pem -cert catalog.pem -key catalog-key.pem]
//
// With -ca it requires a client certificate from that CA, as every mesh service does. It prints
// "listening <port>" once it serves, and stops on SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	catalogv2 "github.com/shopmesh/shopmesh/gen/go/shop/catalog/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
)

type echo struct {
	catalogv2.UnimplementedCatalogServiceServer
	response *catalogv2.GetProductResponse
}

func (e *echo) GetProduct(context.Context, *catalogv2.GetProductRequest) (*catalogv2.GetProductResponse, error) {
	return e.response, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	responseFile := flag.String("response", "", "file holding a serialized GetProductResponse")
	caFile := flag.String("ca", "", "CA of client certificates; mTLS when set")
	certFile := flag.String("cert", "", "server certificate (PEM), with -ca")
	keyFile := flag.String("key", "", "server key (PEM), with -ca")
	flag.Parse()

	raw, err := os.ReadFile(*responseFile)
	if err != nil {
		log.Fatalf("go-echo: -response: %v", err)
	}
	response := &catalogv2.GetProductResponse{}
	if err := proto.Unmarshal(raw, response); err != nil {
		log.Fatalf("go-echo: -response is not a GetProductResponse: %v", err)
	}

	var opts []grpc.ServerOption
	if *caFile != "" {
		creds, err := mtls(*caFile, *certFile, *keyFile)
		if err != nil {
			log.Fatalf("go-echo: %v", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("go-echo: %v", err)
	}
	server := grpc.NewServer(opts...)
	catalogv2.RegisterCatalogServiceServer(server, &echo{response: response})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Stop()
	}()
	fmt.Printf("listening %d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(lis); err != nil {
		log.Fatalf("go-echo: %v", err)
	}
}

// mtls is TLS 1.3-capable server credentials that require a client certificate signed by caFile.
func mtls(caFile, certFile, keyFile string) (credentials.TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("-cert/-key: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("-ca: no certificate in %s", caFile)
	}
	return credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}), nil
}
