package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/oidc"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tuples"
)

// The first platform admin comes from the environment only (DESIGN §4): a
// password given as a flag would show in the process list.
const (
	envAdminIdentifier = "FLAMETRENCH_ADMIN_IDENTIFIER"
	envAdminPassword   = "FLAMETRENCH_ADMIN_PASSWORD"
)

// envServiceKey names the static bearer token that is a platform admin
// (DESIGN §7); environment only, like the admin password.
const envServiceKey = "FLAMETRENCH_SERVICE_KEY"

// errAdminEnv is a half-configured admin bootstrap: a usage error.
var errAdminEnv = errors.New(envAdminIdentifier + " and " + envAdminPassword + " must be set together")

// newIdentity returns the identity service over store, its Argon2id pool's
// metrics on reg; oidcVerifier may be nil (OIDC sign-in off); onRevokeUser
// is tenancy's membership cascade.
func newIdentity(store identity.Store, reg prometheus.Registerer, oidcVerifier *oidc.Verifier,
	onRevokeUser func(context.Context, identity.Tx, identity.UUID) error) *identity.Service {
	return identity.NewService(store, identity.Config{
		Hasher:       password.NewPool(password.PoolConfig{Registerer: reg}),
		OIDC:         oidcVerifier,
		OnRevokeUser: onRevokeUser,
	})
}

// providersFile is the --oidc-providers document (YAML or JSON):
//
//	providers:
//	  - issuer: https://accounts.example.com
//	    audiences: [my-client-id]
//	    jwks_url: https://accounts.example.com/keys   # optional: discovery otherwise
type providersFile struct {
	Providers []struct {
		Issuer    string   `yaml:"issuer"`
		JWKSURL   string   `yaml:"jwks_url"`
		Audiences []string `yaml:"audiences"`
	} `yaml:"providers"`
}

// loadOIDC reads the identity providers OIDC sign-in trusts; path "" means
// none. It makes no network request: keys are fetched on first use.
func loadOIDC(path string) (*oidc.Verifier, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc providersFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	cfg := oidc.Config{}
	for _, p := range doc.Providers {
		cfg.Providers = append(cfg.Providers, oidc.Provider{Issuer: p.Issuer, JWKSURL: p.JWKSURL, Audiences: p.Audiences})
	}
	v, err := oidc.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return v, nil
}

// bootstrapAdmin makes sure the platform admin the environment names exists
// (idempotent: a restart finds it and leaves its password alone). With
// neither variable set it does nothing. Errors of kind Invalid,
// errAdminEnv and an identifier another user holds are the operator's to
// fix (exit 2).
func bootstrapAdmin(ctx context.Context, log *slog.Logger, svc *identity.Service) error {
	ident, pw := os.Getenv(envAdminIdentifier), os.Getenv(envAdminPassword)
	switch {
	case ident == "" && pw == "":
		return nil
	case ident == "" || pw == "":
		return errAdminEnv
	}
	u, created, err := svc.BootstrapAdmin(ctx, ident, pw)
	if err != nil {
		return err
	}
	log.Info("platform admin ready", "usr_id", tuples.FormatID("usr", u.ID), "identifier", ident, "created", created)
	return nil
}

// adminStatus is the exit status for a bootstrapAdmin error.
func adminStatus(err error) int {
	if errors.Is(err, errAdminEnv) || errors.Is(err, identity.ErrAdminIdentifierTaken) || tuples.KindOf(err) == tuples.Invalid {
		return exitUsage
	}
	return exitFailed
}
