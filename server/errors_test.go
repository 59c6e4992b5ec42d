package server

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/oidc"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
	tpg "github.com/flametrench/server/tuples/postgres"
)

// sentinels is every exported error of the domain packages. A new one
// must be added here (TestEveryErrorIsListed), which puts it through the
// table below.
var sentinels = map[string]error{
	"tuples.ErrInvalidToken":                  tuples.ErrInvalidToken,
	"tuples.ErrForeignToken":                  tuples.ErrForeignToken,
	"tuples.ErrStale":                         tuples.ErrStale,
	"tpg.ErrUnavailable":                      tpg.ErrUnavailable,
	"tpg.ErrCommitUnknown":                    tpg.ErrCommitUnknown,
	"tpg.ErrSchema":                           tpg.ErrSchema,
	"tuples.ErrInvalidID":                     tuples.ErrInvalidID,
	"tuples.ErrInvalidType":                   tuples.ErrInvalidType,
	"tuples.ErrInvalidRelation":               tuples.ErrInvalidRelation,
	"tuples.ErrInvalidObjType":                tuples.ErrInvalidObjType,
	"tuples.ErrInvalidSubjType":               tuples.ErrInvalidSubjType,
	"tuples.ErrInvalidSubjectID":              tuples.ErrInvalidSubjectID,
	"tuples.ErrInvalidObjectID":               tuples.ErrInvalidObjectID,
	"tuples.ErrEmptyRelations":                tuples.ErrEmptyRelations,
	"tuples.ErrInvalidCursor":                 tuples.ErrInvalidCursor,
	"tuples.ErrInvalidLimit":                  tuples.ErrInvalidLimit,
	"tuples.ErrInvalidBatch":                  tuples.ErrInvalidBatch,
	"tuples.ErrDuplicateTuple":                tuples.ErrDuplicateTuple,
	"tuples.ErrTupleNotFound":                 tuples.ErrTupleNotFound,
	"tuples.ErrGraphFull":                     tuples.ErrGraphFull,
	"tuples.ErrPreconditionFailed":            tuples.ErrPreconditionFailed,
	"tuples.ErrRevisionGone":                  tuples.ErrRevisionGone,
	"tuples.ErrFutureRevision":                tuples.ErrFutureRevision,
	"check.ErrEvaluationLimit":                check.ErrEvaluationLimit,
	"check.ErrRelationForm":                   check.ErrRelationForm,
	"check.ErrTooManyChecks":                  check.ErrTooManyChecks,
	"check.ErrTooManyRelations":               check.ErrTooManyRelations,
	"oidc.ErrInvalidToken":                    oidc.ErrInvalidToken,
	"oidc.ErrUnavailable":                     oidc.ErrUnavailable,
	"identity.ErrMFACodeInvalid":              identity.ErrMFACodeInvalid,
	"identity.ErrMFACodeReplayed":             identity.ErrMFACodeReplayed,
	"identity.ErrConfirmCodeInvalid":          identity.ErrConfirmCodeInvalid,
	"identity.ErrFactorNotPending":            identity.ErrFactorNotPending,
	"identity.ErrPendingFactorExpired":        identity.ErrPendingFactorExpired,
	"identity.ErrTooManyPendingFactors":       identity.ErrTooManyPendingFactors,
	"identity.ErrDuplicateWebAuthnCredential": identity.ErrDuplicateWebAuthnCredential,
	"identity.ErrFactorSingleton":             identity.ErrFactorSingleton,
	"identity.ErrPATRevoked":                  identity.ErrPATRevoked,
	"identity.ErrPATExpired":                  identity.ErrPATExpired,
	"identity.ErrPATExpiresPast":              identity.ErrPATExpiresPast,
	"identity.ErrPATLifetime":                 identity.ErrPATLifetime,
	"identity.ErrPATName":                     identity.ErrPATName,
	"identity.ErrPATScope":                    identity.ErrPATScope,
	"identity.ErrInvalidShareToken":           identity.ErrInvalidShareToken,
	"identity.ErrShareRevoked":                identity.ErrShareRevoked,
	"identity.ErrShareConsumed":               identity.ErrShareConsumed,
	"identity.ErrShareExpired":                identity.ErrShareExpired,
	"identity.ErrShareLifetime":               identity.ErrShareLifetime,
	"identity.ErrUserNotFound":                identity.ErrUserNotFound,
	"identity.ErrCredentialNotFound":          identity.ErrCredentialNotFound,
	"identity.ErrSessionNotFound":             identity.ErrSessionNotFound,
	"identity.ErrFactorNotFound":              identity.ErrFactorNotFound,
	"identity.ErrPATNotFound":                 identity.ErrPATNotFound,
	"identity.ErrShareNotFound":               identity.ErrShareNotFound,
	"identity.ErrChallengeNotFound":           identity.ErrChallengeNotFound,
	"identity.ErrInvalidInput":                identity.ErrInvalidInput,
	"identity.ErrInvalidTTL":                  identity.ErrInvalidTTL,
	"identity.ErrInvalidCredential":           identity.ErrInvalidCredential,
	"identity.ErrInvalidToken":                identity.ErrInvalidToken,
	"identity.ErrSessionExpired":              identity.ErrSessionExpired,
	"identity.ErrInvalidTicket":               identity.ErrInvalidTicket,
	"identity.ErrMFARequired":                 identity.ErrMFARequired,
	"identity.ErrTokenFormat":                 identity.ErrTokenFormat,
	"identity.ErrAlreadyTerminal":             identity.ErrAlreadyTerminal,
	"identity.ErrDuplicateCredential":         identity.ErrDuplicateCredential,
	"identity.ErrCredentialNotActive":         identity.ErrCredentialNotActive,
	"identity.ErrAdminIdentifierTaken":        identity.ErrAdminIdentifierTaken,
	"identity.ErrOIDCNotConfigured":           identity.ErrOIDCNotConfigured,
	"identity.ErrInvalidTransition":           identity.ErrInvalidTransition,
	"identity.ErrUserNotActive":               identity.ErrUserNotActive,
	"identity.ErrCredentialUser":              identity.ErrCredentialUser,
	"identity.ErrSignupClosed":                identity.ErrSignupClosed,
	"identity.ErrForbidden":                   identity.ErrForbidden,
	"identity.ErrRateLimited":                 identity.ErrRateLimited,
	"identity.ErrPasswordUnacceptable":        identity.ErrPasswordUnacceptable,
	"password.ErrMalformedHash":               password.ErrMalformedHash,
	"password.ErrParams":                      password.ErrParams,
	"password.ErrBusy":                        password.ErrBusy,
	"tenancy.ErrOrgNotFound":                  tenancy.ErrOrgNotFound,
	"tenancy.ErrMembershipNotFound":           tenancy.ErrMembershipNotFound,
	"tenancy.ErrInvitationNotFound":           tenancy.ErrInvitationNotFound,
	"tenancy.ErrInvalidInput":                 tenancy.ErrInvalidInput,
	"tenancy.ErrAlreadyTerminal":              tenancy.ErrAlreadyTerminal,
	"tenancy.ErrSlugTaken":                    tenancy.ErrSlugTaken,
	"tenancy.ErrDuplicateMembership":          tenancy.ErrDuplicateMembership,
	"tenancy.ErrSoleOwner":                    tenancy.ErrSoleOwner,
	"tenancy.ErrInvitationNotPending":         tenancy.ErrInvitationNotPending,
	"tenancy.ErrInvitationExpired":            tenancy.ErrInvitationExpired,
	"tenancy.ErrSlugFormat":                   tenancy.ErrSlugFormat,
	"tenancy.ErrOrgNotActive":                 tenancy.ErrOrgNotActive,
	"tenancy.ErrMembershipNotActive":          tenancy.ErrMembershipNotActive,
	"tenancy.ErrNoOwner":                      tenancy.ErrNoOwner,
	"tenancy.ErrSelfTransfer":                 tenancy.ErrSelfTransfer,
	"tenancy.ErrNotOwner":                     tenancy.ErrNotOwner,
	"tenancy.ErrOrgMismatch":                  tenancy.ErrOrgMismatch,
	"tenancy.ErrTooManyInvitations":           tenancy.ErrTooManyInvitations,
	"tenancy.ErrPastExpiration":               tenancy.ErrPastExpiration,
	"tenancy.ErrBindingRequired":              tenancy.ErrBindingRequired,
	"tenancy.ErrIdentifierMismatch":           tenancy.ErrIdentifierMismatch,
	"tenancy.ErrIdentifierUnowned":            tenancy.ErrIdentifierUnowned,
	"tenancy.ErrForbidden":                    tenancy.ErrForbidden,
	"tenancy.ErrRoleHierarchy":                tenancy.ErrRoleHierarchy,
}

// errorPackages are the directories whose exported Err* variables
// sentinels must list, with the name the map uses for each.
var errorPackages = map[string]string{
	"../tuples": "tuples", "../tuples/postgres": "tpg", "../check": "check", "../identity": "identity",
	"../identity/oidc": "oidc", "../identity/password": "password", "../tenancy": "tenancy",
}

func TestEveryErrorIsListed(t *testing.T) {
	var missing []string
	for dir, alias := range errorPackages {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.VAR {
					continue
				}
				for _, spec := range g.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
							if _, ok := sentinels[alias+"."+n.Name]; !ok {
								missing = append(missing, alias+"."+n.Name)
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("exported errors missing from sentinels: %v", missing)
	}
}

// Every exported error is answered with its kind's status and its own
// code; none is a 500 but the internal ones, whose text is never shown.
func TestErrorTable(t *testing.T) {
	for name, err := range sentinels {
		var te *tuples.Error
		if !errors.As(err, &te) {
			t.Errorf("%s is not a *tuples.Error", name)
			continue
		}
		status, body := statusOf(err)
		switch {
		case te.Kind == tuples.Internal:
			if status != http.StatusInternalServerError || body.Code != "internal_error" || body.Message != "internal error" {
				t.Errorf("%s (internal) = %d %+v, want 500 internal_error with no detail", name, status, body)
			}
		case status != errorKinds[te.Kind].status || status == http.StatusInternalServerError || body.Code != te.Code:
			t.Errorf("%s = %d %q, want %d %q", name, status, body.Code, errorKinds[te.Kind].status, te.Code)
		}
	}
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{context.Canceled, statusClientClosed, "canceled"},
		{context.DeadlineExceeded, http.StatusGatewayTimeout, "deadline_exceeded"},
		{errors.New("pq: secret detail"), http.StatusInternalServerError, "internal_error"},
		{&identity.RateLimitError{}, http.StatusTooManyRequests, "rate_limited"},
		{errTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	} {
		if status, body := statusOf(c.err); status != c.status || body.Code != c.code || strings.Contains(body.Message, "secret") {
			t.Errorf("statusOf(%v) = %d %+v, want %d %s", c.err, status, body, c.status, c.code)
		}
	}
	for k := tuples.Internal; k <= tuples.TooLarge; k++ {
		if _, ok := errorKinds[k]; !ok {
			t.Errorf("kind %v has no status", k)
		}
	}
}
