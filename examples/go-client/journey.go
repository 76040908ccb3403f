package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	authv1 "github.com/shopmesh/shopmesh/gen/go/shop/auth/v1"
	cartv1 "github.com/shopmesh/shopmesh/gen/go/shop/cart/v1"
	catalogv2 "github.com/shopmesh/shopmesh/gen/go/shop/catalog/v2"
	orderv1 "github.com/shopmesh/shopmesh/gen/go/shop/order/v1"
	paymentv1 "github.com/shopmesh/shopmesh/gen/go/shop/payment/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// journeyOptions are the shopper's inputs.
type journeyOptions struct {
	addr     string
	email    string
	password string
	quantity int
}

// journey runs register-or-login, list, add to cart, place order and read back on one connection.
func journey(ctx context.Context, conn grpc.ClientConnInterface, opts journeyOptions, out io.Writer) error {
	auth := authv1.NewAuthServiceClient(conn)
	catalog := catalogv2.NewCatalogServiceClient(conn)
	cart := cartv1.NewCartServiceClient(conn)
	orders := orderv1.NewOrderServiceClient(conn)

	// Register is not idempotent: an existing account is fine, we just log in to it.
	_, err := auth.Register(ctx, &authv1.RegisterRequest{Email: opts.email, Password: opts.password, DisplayName: "Go client"})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("register: %w", err)
	}
	login, err := auth.Login(ctx, &authv1.LoginRequest{Email: opts.email, Password: opts.password})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	fmt.Fprintln(out, userLine(login.GetUser().GetId(), login.GetUser().GetEmail()))
	// Every call after login carries the access JWT; the edge and the services check it.
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetAccessToken())

	list, err := catalog.ListProducts(ctx, &catalogv2.ListProductsRequest{PageSize: 20})
	if err != nil {
		return fmt.Errorf("list products: %w", err)
	}
	var product *catalogv2.Product
	for _, p := range list.GetProducts() {
		if p.GetStock() >= int32(opts.quantity) {
			product = p
			break
		}
	}
	if product == nil {
		return errors.New("list products: no product has enough stock")
	}
	fmt.Fprintln(out, productLine(product.GetId(), product.GetPrice().GetCurrencyCode(), product.GetPrice().GetAmountMinor()))

	if _, err := cart.AddItem(authed, &cartv1.AddItemRequest{ProductId: product.GetId(), Quantity: int32(opts.quantity)}); err != nil {
		return fmt.Errorf("add to cart: %w", err)
	}
	// The cart holds ids and quantities; price it from the catalog to check the order's total.
	got, err := cart.GetCart(authed, &cartv1.GetCartRequest{})
	if err != nil {
		return fmt.Errorf("get cart: %w", err)
	}
	cartTotal, err := priceCart(authed, catalog, got.GetCart().GetItems())
	if err != nil {
		return err
	}
	fmt.Fprintln(out, cartLine(len(got.GetCart().GetItems()), cartTotal))

	placed, err := orders.PlaceOrder(authed, &orderv1.PlaceOrderRequest{
		RequestId: newRequestID(),
		Card:      &paymentv1.CreditCard{Number: "4242424242424242", Cvv: "123", ExpirationYear: 2030, ExpirationMonth: 12},
	})
	if err != nil {
		return fmt.Errorf("place order: %w", err)
	}
	read, err := orders.GetOrder(authed, &orderv1.GetOrderRequest{OrderId: placed.GetOrder().GetId()})
	if err != nil {
		return fmt.Errorf("get order: %w", err)
	}
	o := read.GetOrder()
	fmt.Fprintln(out, orderLine(o.GetId(), o.GetStatus().String(), money{o.GetTotal().GetCurrencyCode(), o.GetTotal().GetAmountMinor()}, cartTotal))
	if o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_CONFIRMED {
		return fmt.Errorf("order %s is %s: %s", o.GetId(), o.GetStatus(), o.GetFailureReason())
	}
	return nil
}

// priceCart sums unit price times quantity over the cart, with prices from catalog v2.
func priceCart(ctx context.Context, catalog catalogv2.CatalogServiceClient, items []*cartv1.CartItem) (money, error) {
	if len(items) == 0 {
		return money{}, errors.New("get cart: the cart is empty")
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.GetProductId()
	}
	res, err := catalog.BatchGetProducts(ctx, &catalogv2.BatchGetProductsRequest{Ids: ids})
	if err != nil {
		return money{}, fmt.Errorf("price cart: %w", err)
	}
	lines := make([]line, len(items))
	for i, p := range res.GetProducts() {
		lines[i] = line{money{p.GetPrice().GetCurrencyCode(), p.GetPrice().GetAmountMinor()}, int64(items[i].GetQuantity())}
	}
	return sum(lines)
}
