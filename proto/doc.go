// Package proto holds the Connect/gRPC service definition of Flametrench,
// flametrench.authz.v1.AuthzService (flametrench/authz/v1/authz.proto),
// and the Go code generated from it: package authzv1 (the messages) and
// authzv1connect (the Connect client and handler), both committed.
//
// To regenerate after changing the .proto file, from this directory:
//
//	go run github.com/bufbuild/buf/cmd/buf@v1.75.0 lint
//	go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
//
// buf.gen.yaml runs protoc-gen-go and protoc-gen-connect-go through
// `go run`, at the versions go.mod pins, so the output is reproducible.
package proto
