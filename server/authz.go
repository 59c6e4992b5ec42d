package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"connectrpc.com/connect"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	authzv1 "github.com/flametrench/server/proto/flametrench/authz/v1"
	"github.com/flametrench/server/proto/flametrench/authz/v1/authzv1connect"
	"github.com/flametrench/server/tuples"
)

// The Connect service (DESIGN §7): flametrench.authz.v1.AuthzService on
// the REST port (HTTP/1.1 and h2c, so Connect, gRPC and gRPC-Web clients
// all work) and on the unix socket. Every procedure takes a platform admin
// (the service key, an admin's session, a trusted socket peer) or a PAT
// with the procedure's scope; errors go through the one table (errorKinds)
// as Connect codes, with the Flametrench code in an ErrorDetail.

// rpcScopes is the PAT scope each procedure takes. A check answers yes or
// no about ids the caller already knows; lookups, expand, reads and the
// change stream list who holds what, as REST's listings do, so they take
// tuples:read.
var rpcScopes = map[string]string{
	authzv1connect.AuthzServiceCheckProcedure:           scopeCheck,
	authzv1connect.AuthzServiceCheckBulkProcedure:       scopeCheck,
	authzv1connect.AuthzServiceExpandProcedure:          scopeRead,
	authzv1connect.AuthzServiceLookupResourcesProcedure: scopeRead,
	authzv1connect.AuthzServiceLookupSubjectsProcedure:  scopeRead,
	authzv1connect.AuthzServiceReadTuplesProcedure:      scopeRead,
	authzv1connect.AuthzServiceWatchProcedure:           scopeRead,
	authzv1connect.AuthzServiceWriteTuplesProcedure:     scopeWrite,
}

// streamingProcedures run as long as their client listens: the server's
// write and read deadlines do not apply to them.
var streamingProcedures = []string{
	authzv1connect.AuthzServiceWatchProcedure,
	authzv1connect.AuthzServiceLookupResourcesProcedure,
	authzv1connect.AuthzServiceLookupSubjectsProcedure,
}

// connectRoutes registers each procedure at its own path, so that request
// metrics and logs name the procedure.
func (s *Server) connectRoutes(mux *http.ServeMux) {
	_, h := authzv1connect.NewAuthzServiceHandler(&authzService{s: s},
		connect.WithInterceptors(rpcGuard{s}),
		connect.WithReadMaxBytes(int(s.maxBody)),
		connect.WithCompressMinBytes(4096))
	for procedure := range rpcScopes {
		if slices.Contains(streamingProcedures, procedure) {
			mux.Handle(procedure, endless(h))
		} else {
			mux.Handle(procedure, h)
		}
	}
}

// endless lifts the connection's deadlines for one long-lived stream.
func endless(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		_ = rc.SetReadDeadline(time.Time{})
		h.ServeHTTP(w, r)
	})
}

// ----- authentication, authorization and errors, for every procedure

type trustedPeerKey struct{}

// rpcGuard authenticates each call and checks its procedure's scope, puts
// the caller in the context, and turns the errors handlers return into
// Connect errors.
type rpcGuard struct{ s *Server }

func (g rpcGuard) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		procedure := req.Spec().Procedure
		ctx, err := g.s.rpcAuthorize(ctx, procedure, req.Header().Get("Authorization"), req.Peer().Addr)
		var res connect.AnyResponse
		if err == nil {
			res, err = next(ctx, req)
		}
		return res, g.s.rpcDone(ctx, procedure, err)
	}
}

func (g rpcGuard) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (g rpcGuard) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		ctx, err := g.s.rpcAuthorize(ctx, procedure, conn.RequestHeader().Get("Authorization"), conn.Peer().Addr)
		if err == nil {
			err = next(ctx, conn)
		}
		return g.s.rpcDone(ctx, procedure, err)
	}
}

type callerKey struct{}

// rpcAuthorize authenticates a call's bearer (as REST does) and lets it
// through if it is a platform admin or a PAT with the procedure's scope.
// A trusted socket peer without a bearer is a platform admin.
func (s *Server) rpcAuthorize(ctx context.Context, procedure, authorization, peer string) (context.Context, error) {
	var c caller
	if authorization == "" && ctx.Value(trustedPeerKey{}) != nil {
		c = caller{admin: true, service: true}
	} else {
		var err error
		if c, err = s.authenticate(ctx, authorization, peerAddress(peer)); err != nil {
			return ctx, err
		}
	}
	scope, ok := rpcScopes[procedure]
	switch {
	case !ok:
		return ctx, errForbidden.With("unknown procedure")
	case c.admin || c.scoped(scope):
		return context.WithValue(ctx, callerKey{}, c), nil
	case c.Kind == identity.KindPAT:
		return ctx, errForbidden.With("this needs a PAT with scope %s", scope)
	}
	return ctx, errForbidden.With("the Connect API takes a platform admin or a PAT with scope %s", scope)
}

// callerOf is the caller rpcGuard let through.
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// rpcDone counts a finished call by its Connect code and returns its
// error as a Connect error (nil for success).
func (s *Server) rpcDone(ctx context.Context, procedure string, err error) error {
	code := "ok"
	if err != nil {
		err = s.rpcError(ctx, procedure, err)
		code = connect.CodeOf(err).String()
	}
	s.metrics.rpcs.WithLabelValues(procedure, code).Inc()
	return err
}

// rpcError turns an error into the Connect error the one table gives its
// kind, with the Flametrench code in an ErrorDetail. Internal errors are
// logged here and shown without detail, as on REST.
func (s *Server) rpcError(ctx context.Context, procedure string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err // Connect's own (a malformed message, an unknown codec)
	}
	var code connect.Code
	status, body := statusOf(err)
	switch {
	case errors.Is(err, context.Canceled):
		code = connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = connect.CodeDeadlineExceeded
	case status == http.StatusInternalServerError:
		s.log.ErrorContext(ctx, "internal error", "procedure", procedure, "err", err)
		code = connect.CodeInternal
	default:
		var te *tuples.Error
		errors.As(err, &te)
		code = errorKinds[te.Kind].code
	}
	out := connect.NewError(code, errors.New(body.Message))
	if d, derr := connect.NewErrorDetail(&authzv1.ErrorDetail{Code: body.Code}); derr == nil {
		out.AddDetail(d)
	}
	var rl *identity.RateLimitError
	if errors.As(err, &rl) {
		out.Meta().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
	}
	return out
}

// ----- the procedures

type authzService struct{ s *Server }

var _ authzv1connect.AuthzServiceHandler = (*authzService)(nil)

// token is the wire form of revision rev's consistency token.
func (a *authzService) token(rev uint64) string {
	return tuples.Token{Epoch: a.s.epoch(), Revision: rev}.String()
}

// atLeast is the revision a request's consistency token names, 0 for "".
func (a *authzService) atLeast(token string) (uint64, error) {
	if token == "" {
		return 0, nil
	}
	t, err := tuples.ParseToken(token, a.s.epoch())
	return t.Revision, err
}

// present is a proto3 string as check.Body has it: "" is absent.
func present(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// checkRequest validates a check message as REST validates its body.
func checkRequest(m *authzv1.CheckRequest) (check.Request, error) {
	b := check.Body{SubjectType: present(m.SubjectType), SubjectID: present(m.SubjectId), Relation: present(m.Relation),
		ObjectType: present(m.ObjectType), ObjectID: present(m.ObjectId)}
	if len(m.Relations) > 0 {
		b.Relations = m.Relations
	}
	return b.Request()
}

func (a *authzService) Check(ctx context.Context, req *connect.Request[authzv1.CheckRequest]) (*connect.Response[authzv1.CheckResponse], error) {
	r, err := checkRequest(req.Msg)
	if err != nil {
		return nil, err
	}
	if r.AtLeast, err = a.atLeast(req.Msg.ConsistencyToken); err != nil {
		return nil, err
	}
	res, err := a.s.engine.Check(ctx, r)
	if err != nil {
		return nil, err
	}
	out := &authzv1.CheckResponse{Allowed: res.Allowed, ConsistencyToken: a.token(res.Revision)}
	if !res.MatchedTupleID.IsZero() {
		out.MatchedTupleId = res.MatchedTupleID.String()
	}
	return connect.NewResponse(out), nil
}

func (a *authzService) CheckBulk(ctx context.Context, req *connect.Request[authzv1.CheckBulkRequest]) (*connect.Response[authzv1.CheckBulkResponse], error) {
	items := req.Msg.Items
	if len(items) > check.MaxBulk {
		return nil, check.ErrTooManyChecks
	}
	atLeast, err := a.atLeast(req.Msg.ConsistencyToken)
	if err != nil {
		return nil, err
	}
	reqs := make([]check.Request, len(items))
	bad := make([]error, len(items))
	for i, it := range items {
		reqs[i], bad[i] = checkRequest(it)
	}
	results, errs, rev, err := a.s.engine.CheckBulk(ctx, reqs, atLeast)
	if err != nil {
		return nil, err
	}
	out := &authzv1.CheckBulkResponse{Results: make([]*authzv1.CheckBulkResult, len(items)), ConsistencyToken: a.token(rev)}
	for i := range items {
		if err := firstErr(bad[i], errs[i]); err != nil {
			status, body := statusOf(err)
			if status == http.StatusInternalServerError {
				a.s.log.ErrorContext(ctx, "internal error", "procedure", authzv1connect.AuthzServiceCheckBulkProcedure, "item", i, "err", err)
			}
			out.Results[i] = &authzv1.CheckBulkResult{Result: &authzv1.CheckBulkResult_Error{Error: &authzv1.Error{Code: body.Code, Message: body.Message}}}
			continue
		}
		out.Results[i] = &authzv1.CheckBulkResult{Result: &authzv1.CheckBulkResult_Allowed{Allowed: results[i].Allowed}}
	}
	return connect.NewResponse(out), nil
}

// firstErr is the first of its arguments that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *authzService) Expand(ctx context.Context, req *connect.Request[authzv1.ExpandRequest]) (*connect.Response[authzv1.ExpandResponse], error) {
	m := req.Msg
	if m.Relation == "" {
		return nil, check.MissingField("relation")
	}
	obj, err := tuples.ParseObject(m.ObjectType, m.ObjectId)
	if err != nil {
		return nil, err
	}
	atLeast, err := a.atLeast(m.ConsistencyToken)
	if err != nil {
		return nil, err
	}
	tree, rev, err := a.s.engine.Expand(ctx, m.Relation, obj, atLeast)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&authzv1.ExpandResponse{Tree: treeMessage(tree), ConsistencyToken: a.token(rev)}), nil
}

func treeMessage(t *check.Tree) *authzv1.UsersetTree {
	m := &authzv1.UsersetTree{Relation: t.Relation, ObjectType: t.Object.Type, ObjectId: t.Object.ID.String(), Cycle: t.Cycle,
		Subjects: make([]*authzv1.Subject, len(t.Subjects)), Branches: make([]*authzv1.UsersetBranch, len(t.Branches))}
	for i, s := range t.Subjects {
		m.Subjects[i] = &authzv1.Subject{SubjectType: s.Type, SubjectId: s.ID.String()}
	}
	for i, b := range t.Branches {
		bm := &authzv1.UsersetBranch{Kind: b.Kind.String(), Relation: b.Relation, Tupleset: b.Tupleset,
			Children: make([]*authzv1.UsersetTree, len(b.Children))}
		for j, c := range b.Children {
			bm.Children[j] = treeMessage(c)
		}
		m.Branches[i] = bm
	}
	return m
}

func tupleMessage(t tuples.Tuple) *authzv1.Tuple {
	m := &authzv1.Tuple{Id: tuples.FormatID("tup", t.ID), SubjectType: t.Key.Subject.Type, SubjectId: t.Key.Subject.ID.String(),
		Relation: t.Key.Relation, ObjectType: t.Key.Object.Type, ObjectId: t.Key.Object.ID.String(),
		CreatedAt: t.CreatedAt().Format(time.RFC3339Nano)}
	if !t.CreatedBy.IsZero() {
		m.CreatedBy = tuples.FormatID("usr", t.CreatedBy)
	}
	return m
}

// tupleKey reads the key of a tuple message.
func tupleKey(m *authzv1.Tuple) (tuples.Key, error) {
	if m == nil {
		return tuples.Key{}, check.MissingField("tuple")
	}
	return tuples.ParseKey(m.SubjectType, m.SubjectId, m.Relation, m.ObjectType, m.ObjectId)
}

func (a *authzService) ReadTuples(ctx context.Context, req *connect.Request[authzv1.ReadTuplesRequest]) (*connect.Response[authzv1.ReadTuplesResponse], error) {
	m := req.Msg
	bySubject := m.SubjectType != "" || m.SubjectId != ""
	byObject := m.ObjectType != "" || m.ObjectId != "" || m.Relation != ""
	if bySubject == byObject {
		return nil, errReadFilter
	}
	atLeast, err := a.atLeast(m.ConsistencyToken)
	if err != nil {
		return nil, err
	}
	if err := a.s.engine.Await(ctx, atLeast); err != nil {
		return nil, err
	}
	rev := a.s.tuples.Revision()
	var p tuples.Page
	if bySubject {
		subj, err := tuples.ParseSubject(m.SubjectType, m.SubjectId)
		if err != nil {
			return nil, err
		}
		p, err = a.s.tuples.ListBySubject(ctx, subj, m.Cursor, int(m.Limit))
		if err != nil {
			return nil, err
		}
	} else {
		obj, err := tuples.ParseObject(m.ObjectType, m.ObjectId)
		if err != nil {
			return nil, err
		}
		if m.Relation != "" {
			if err := tuples.CheckRelation(m.Relation); err != nil {
				return nil, err
			}
		}
		p, err = a.s.tuples.ListByObject(ctx, obj, m.Relation, m.Cursor, int(m.Limit))
		if err != nil {
			return nil, err
		}
	}
	out := &authzv1.ReadTuplesResponse{Tuples: make([]*authzv1.Tuple, len(p.Tuples)), NextCursor: p.Next, ConsistencyToken: a.token(max(rev, atLeast))}
	for i, t := range p.Tuples {
		out.Tuples[i] = tupleMessage(t)
	}
	return connect.NewResponse(out), nil
}

// errReadFilter: ReadTuples names a subject or an object, not both.
var errReadFilter = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.filter",
	Msg: "name a subject (subject_type, subject_id) or an object (object_type, object_id, relation), not both"}

// maxWriteBatch bounds the writes and preconditions of one WriteTuples.
const maxWriteBatch = 1000

var errWriteBatch = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.batch",
	Msg: "a write batch takes 1 to 1000 writes and preconditions in all"}

func (a *authzService) WriteTuples(ctx context.Context, req *connect.Request[authzv1.WriteTuplesRequest]) (*connect.Response[authzv1.WriteTuplesResponse], error) {
	m := req.Msg
	if n := len(m.Writes) + len(m.Preconditions); len(m.Writes) == 0 || n > maxWriteBatch {
		return nil, errWriteBatch
	}
	by, _ := callerOf(ctx).user()
	changes := make([]tuples.Change, 0, len(m.Writes)+len(m.Preconditions))
	for i, w := range m.Writes {
		c, err := writeChange(w, by)
		if err == nil && c.Op == tuples.OpDelete && !c.ID.IsZero() {
			err = a.notMembership(ctx, c.ID)
		}
		if err != nil {
			return nil, &tuples.ChangeError{Index: i, Err: err}
		}
		changes = append(changes, c)
	}
	for i, p := range m.Preconditions {
		c, err := preconditionChange(p)
		if err != nil {
			return nil, &tuples.ChangeError{Index: len(m.Writes) + i, Err: err}
		}
		changes = append(changes, c)
	}
	res, err := a.s.tuples.Write(ctx, changes)
	if err != nil {
		return nil, err
	}
	out := &authzv1.WriteTuplesResponse{Tuples: make([]*authzv1.Tuple, len(m.Writes)), ConsistencyToken: a.token(res.Revision)}
	for i := range m.Writes {
		out.Tuples[i] = tupleMessage(res.Tuples[i])
	}
	return connect.NewResponse(out), nil
}

// notMembership refuses a delete by id of a membership tuple, as a
// delete by key is refused (a tuple's key never changes, so the check
// holds at commit).
func (a *authzService) notMembership(ctx context.Context, id tuples.UUID) error {
	t, err := a.s.tuples.Get(ctx, id)
	if err != nil {
		return err
	}
	if isMembership(t.Key) {
		return errMembershipTuple
	}
	return nil
}

var errWriteOperation = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.operation", Msg: "operation must be set"}

// writeChange reads one write of a batch. A delete names its tuple by key
// or by id alone. Membership tuples are tenancy's (DESIGN §4), here as on
// REST.
func writeChange(w *authzv1.TupleWrite, by tuples.UUID) (tuples.Change, error) {
	if w.GetTuple() == nil {
		return tuples.Change{}, check.MissingField("tuple")
	}
	var c tuples.Change
	switch w.Operation {
	case authzv1.TupleWrite_OPERATION_CREATE:
		c = tuples.Change{Op: tuples.OpCreate, CreatedBy: by}
	case authzv1.TupleWrite_OPERATION_TOUCH:
		c = tuples.Change{Op: tuples.OpTouch, CreatedBy: by}
	case authzv1.TupleWrite_OPERATION_DELETE:
		c = tuples.Change{Op: tuples.OpDelete}
		if t := w.Tuple; t.Id != "" && t.SubjectType == "" && t.SubjectId == "" && t.Relation == "" && t.ObjectType == "" && t.ObjectId == "" {
			id, err := tuples.DecodeIDOf("tup", t.Id)
			if err != nil {
				return c, err
			}
			c.ID = id
			return c, nil
		}
	default:
		return c, errWriteOperation
	}
	k, err := tupleKey(w.Tuple)
	if err != nil {
		return c, err
	}
	if isMembership(k) {
		return c, errMembershipTuple
	}
	c.Key = k
	return c, nil
}

// preconditionChange reads one precondition of a batch: a tuple key that
// must (or must not) exist before the batch, checked atomically with it.
func preconditionChange(p *authzv1.Precondition) (tuples.Change, error) {
	var op tuples.Op
	switch p.Operation {
	case authzv1.Precondition_OPERATION_MUST_EXIST:
		op = tuples.OpMustExist
	case authzv1.Precondition_OPERATION_MUST_NOT_EXIST:
		op = tuples.OpMustNotExist
	default:
		return tuples.Change{}, errWriteOperation
	}
	k, err := tupleKey(p.Tuple)
	if err != nil {
		return tuples.Change{}, err
	}
	return tuples.Change{Op: op, Key: k}, nil
}

// lookupBatch is how many ids one message of a lookup stream carries.
const lookupBatch = 100

// streamIDs sends a lookup page as messages of up to lookupBatch ids, each
// with the cursor after its last id; the last says whether the limit cut
// the answer (and then its cursor goes on from there).
func streamIDs(p check.Page, send func(ids []string, cursor string, last bool) error) error {
	if len(p.IDs) == 0 {
		return send(nil, "", true)
	}
	for i := 0; i < len(p.IDs); i += lookupBatch {
		batch := p.IDs[i:min(i+lookupBatch, len(p.IDs))]
		ids := make([]string, len(batch))
		for j, id := range batch {
			ids[j] = id.String()
		}
		if err := send(ids, batch[len(batch)-1].String(), i+lookupBatch >= len(p.IDs)); err != nil {
			return err
		}
	}
	return nil
}

// lookupCursor reads a lookup's cursor: the last id already received
// ("" for the start).
func lookupCursor(typ, c string) (tuples.UUID, error) {
	if c == "" {
		return tuples.UUID{}, nil
	}
	id, ok := tuples.ParseRefID(typ, c)
	if !ok {
		return tuples.UUID{}, tuples.ErrInvalidCursor.With("cursor %q is not one a lookup returned", tuples.Truncate(c))
	}
	return id, nil
}

func (a *authzService) LookupResources(ctx context.Context, req *connect.Request[authzv1.LookupResourcesRequest], stream *connect.ServerStream[authzv1.LookupResourcesResponse]) error {
	m := req.Msg
	subj, err := tuples.ParseSubject(m.SubjectType, m.SubjectId)
	if err != nil {
		return err
	}
	q := check.ResourcesQuery{Subject: subj, Relation: m.Relation, ObjectType: m.ObjectType, Limit: int(m.Limit)}
	if q.After, err = lookupCursor(m.ObjectType, m.Cursor); err != nil {
		return err
	}
	if q.AtLeast, err = a.atLeast(m.ConsistencyToken); err != nil {
		return err
	}
	p, err := a.s.engine.LookupResources(ctx, q)
	if err != nil {
		return err
	}
	token := a.token(p.Revision)
	return streamIDs(p, func(ids []string, cursor string, last bool) error {
		return stream.Send(&authzv1.LookupResourcesResponse{ObjectIds: ids, Cursor: cursor, LimitReached: last && p.More, ConsistencyToken: token})
	})
}

func (a *authzService) LookupSubjects(ctx context.Context, req *connect.Request[authzv1.LookupSubjectsRequest], stream *connect.ServerStream[authzv1.LookupSubjectsResponse]) error {
	m := req.Msg
	obj, err := tuples.ParseObject(m.ObjectType, m.ObjectId)
	if err != nil {
		return err
	}
	q := check.SubjectsQuery{Object: obj, Relation: m.Relation, SubjectType: m.SubjectType, Limit: int(m.Limit)}
	if q.After, err = lookupCursor(m.SubjectType, m.Cursor); err != nil {
		return err
	}
	if q.AtLeast, err = a.atLeast(m.ConsistencyToken); err != nil {
		return err
	}
	p, err := a.s.engine.LookupSubjects(ctx, q)
	if err != nil {
		return err
	}
	token := a.token(p.Revision)
	return streamIDs(p, func(ids []string, cursor string, last bool) error {
		return stream.Send(&authzv1.LookupSubjectsResponse{SubjectIds: ids, Cursor: cursor, LimitReached: last && p.More, ConsistencyToken: token})
	})
}

// errNoWatch: the tuple store keeps no change history.
var errNoWatch = &tuples.Error{Kind: tuples.Unavailable, Code: "unavailable.watch", Msg: "this server's tuple store keeps no change history"}

// Watch streams every revision committed after the request's token (or,
// without one, after the revision at the start), one message per
// revision, until the client goes away. A token older than the history
// kept is FailedPrecondition (precondition.revision_expired): reread the
// tuples, then watch from the token of that read.
func (a *authzService) Watch(ctx context.Context, req *connect.Request[authzv1.WatchRequest], stream *connect.ServerStream[authzv1.WatchResponse]) error {
	w, ok := a.s.tuples.(tuples.Watcher)
	if !ok {
		return errNoWatch
	}
	after := w.Revision()
	if req.Msg.ConsistencyToken != "" {
		rev, err := a.atLeast(req.Msg.ConsistencyToken)
		if err != nil {
			return err
		}
		after = rev
	}
	// A token beyond the head or past the history fails before the stream
	// opens; otherwise a first message, with no changes, carries the token
	// the stream starts after: a client that leaves before any change can
	// resume from it without a gap.
	revs, err := w.Changes(ctx, after, 0)
	if err != nil {
		return err
	}
	if err := stream.Send(&authzv1.WatchResponse{ConsistencyToken: a.token(after)}); err != nil {
		return err
	}
	for {
		for _, r := range revs {
			out := &authzv1.WatchResponse{Changes: make([]*authzv1.TupleChange, len(r.Changes)), ConsistencyToken: a.token(r.Rev)}
			for i, c := range r.Changes {
				op := authzv1.TupleChange_OPERATION_CREATE
				if c.Op == tuples.OpDelete {
					op = authzv1.TupleChange_OPERATION_DELETE
				}
				out.Changes[i] = &authzv1.TupleChange{Operation: op,
					Tuple: tupleMessage(tuples.Tuple{ID: c.ID, Key: c.Key, CreatedBy: c.CreatedBy})}
			}
			if err := stream.Send(out); err != nil {
				return err
			}
			after = r.Rev
		}
		if len(revs) == 0 {
			if err := w.Wait(ctx, after+1); err != nil {
				return err
			}
		}
		if revs, err = w.Changes(ctx, after, 0); err != nil {
			return err
		}
	}
}
