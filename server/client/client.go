package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"

	authzv1 "github.com/flametrench/server/proto/flametrench/authz/v1"
	"github.com/flametrench/server/proto/flametrench/authz/v1/authzv1connect"
)

// Client calls a Flametrench server. Its methods are the service's
// (Check, CheckBulk, Expand, LookupResources, LookupSubjects, WriteTuples,
// ReadTuples, Watch) with the generated request and response types, plus
// Allowed. It is safe for concurrent use.
type Client struct {
	authzv1connect.AuthzServiceClient
	http *http.Client
}

type config struct {
	token   string
	socket  string
	grpc    bool
	http    *http.Client
	retries int
	backoff time.Duration
}

// An Option configures New.
type Option func(*config)

// WithToken sends token as the bearer of every call: a PAT with the
// scopes the calls need, an admin's session, or the service key.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithSocket dials the unix socket at path instead of the URL's host.
func WithSocket(path string) Option { return func(c *config) { c.socket = path } }

// WithGRPC speaks gRPC over h2c (HTTP/2 without TLS, on one multiplexed
// connection) instead of Connect over HTTP/1.1.
func WithGRPC() Option { return func(c *config) { c.grpc = true } }

// WithHTTPClient uses hc (its transport, timeouts and TLS) as is; the
// socket and gRPC options then only choose the protocol.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.http = hc } }

// WithRetries retries a call without side effects that failed with
// Unavailable up to n more times, waiting backoff, then twice that, and so
// on (default: 3 times from 20ms; 0 turns retries off).
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *config) { c.retries, c.backoff = n, backoff }
}

// New returns a client of the server at baseURL (http://host:port).
func New(baseURL string, opts ...Option) *Client {
	cfg := config{retries: 3, backoff: 20 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	hc := cfg.http
	if hc == nil {
		tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
		if cfg.socket != "" {
			tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", cfg.socket)
			}
		}
		if cfg.grpc {
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetUnencryptedHTTP2(true)
		}
		hc = &http.Client{Transport: tr}
	}
	copts := []connect.ClientOption{connect.WithInterceptors(&guard{cfg: cfg})}
	if cfg.grpc {
		copts = append(copts, connect.WithGRPC())
	}
	return &Client{AuthzServiceClient: authzv1connect.NewAuthzServiceClient(hc, baseURL, copts...), http: hc}
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Allowed reports whether the subject has the relation on the object.
func (c *Client) Allowed(ctx context.Context, subjectType, subjectID, relation, objectType, objectID string) (bool, error) {
	res, err := c.Check(ctx, connect.NewRequest(&authzv1.CheckRequest{SubjectType: subjectType, SubjectId: subjectID,
		Relation: relation, ObjectType: objectType, ObjectId: objectID}))
	if err != nil {
		return false, err
	}
	return res.Msg.Allowed, nil
}

// Code is the Flametrench error code ("invalid_format.relation",
// "forbidden", …) of an error a call returned, or "" if it has none.
func Code(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		if m, derr := d.Value(); derr == nil {
			if ed, ok := m.(*authzv1.ErrorDetail); ok {
				return ed.Code
			}
		}
	}
	return ""
}

// guard puts the bearer on every call and retries safe unary calls that
// failed with Unavailable.
type guard struct{ cfg config }

func (g *guard) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		g.authorize(req.Header())
		retries := g.cfg.retries
		if req.Spec().IdempotencyLevel != connect.IdempotencyNoSideEffects {
			retries = 0
		}
		wait := g.cfg.backoff
		for attempt := 0; ; attempt++ {
			res, err := next(ctx, req)
			if err == nil || connect.CodeOf(err) != connect.CodeUnavailable || attempt >= retries {
				return res, err
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, err
			case <-t.C:
			}
			wait *= 2
		}
	}
}

func (g *guard) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		g.authorize(conn.RequestHeader())
		return conn
	}
}

func (g *guard) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func (g *guard) authorize(h http.Header) {
	if g.cfg.token != "" && h.Get("Authorization") == "" {
		h.Set("Authorization", "Bearer "+g.cfg.token)
	}
}
