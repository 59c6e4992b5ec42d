package check

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/cache"
	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// Request is one check: does Subject hold Relation (single form) or any of
// Relations (set form) on Object? Exactly one of the two forms must be used.
type Request struct {
	Subject   tuples.Ref
	Relation  string
	Relations []string
	Object    tuples.Ref
	// AtLeast, when not 0, is the revision of a consistency token: the check
	// is answered from a graph at that revision or later, waiting for it up to
	// Config.ConsistencyTimeout, else it fails with tuples.ErrStale.
	AtLeast uint64
}

// Result is the answer to a check. MatchedTupleID is the direct tuple that
// satisfied it, when one did (it may be zero even when allowed, e.g. when the
// answer came from the cache). Revision is the graph revision it was read at.
type Result struct {
	Allowed        bool
	MatchedTupleID tuples.UUID
	Revision       uint64
}

// Config configures an Engine. Its zero value is a valid, rule-less engine.
type Config struct {
	Rules  *rewrite.Rules
	Limits Limits
	Cache  cache.Config
	// CacheMinSteps is the work, in graph lookups, below which an evaluation
	// is not cached: a short evaluation costs less than storing its answer.
	// 0 means DefaultCacheMinSteps; 1 caches every evaluation.
	CacheMinSteps int
	Registerer    prometheus.Registerer // nil: no metrics
	// Waiter is what a request with AtLeast waits on: the graph, or the
	// replica that keeps it current. Nil: such a request never waits.
	Waiter tuples.Waiter
	// ConsistencyTimeout bounds that wait. 0 means DefaultConsistencyTimeout.
	ConsistencyTimeout time.Duration
}

// DefaultConsistencyTimeout is the default Config.ConsistencyTimeout.
const DefaultConsistencyTimeout = 5 * time.Second

// DefaultCacheMinSteps is the default Config.CacheMinSteps. Measured on the
// SaaS benchmark (docs/BENCHMARKS.md): storing an answer in the cache costs
// about as much as an evaluation of a few dozen lookups, so only longer ones
// are worth keeping.
const DefaultCacheMinSteps = 64

// Engine evaluates checks and expansions. It is safe for concurrent use.
type Engine struct {
	snapshot func() Graph
	prog     *program
	limits   Limits
	cache    *cache.Cache[cacheKey, cacheValue]
	minSteps int
	worth    *worthFilter // nil when every evaluation is cached
	m        *metrics
	waiter   tuples.Waiter
	waitFor  time.Duration
}

// New builds an engine over a graph. snapshot returns the graph's current
// snapshot; intern adds a name to the graph's symbol table (the engine interns
// every name its rules mention, once, here).
func New(snapshot func() Graph, intern func(string) (tuples.Sym, error), cfg Config) (*Engine, error) {
	limits, err := cfg.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	p, err := compile(cfg.Rules, intern)
	if err != nil {
		return nil, err
	}
	c, err := cache.New[cacheKey, cacheValue](cfg.Cache, cfg.Registerer, "check")
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	minSteps := cfg.CacheMinSteps
	if minSteps <= 0 {
		minSteps = DefaultCacheMinSteps
	}
	waitFor := cfg.ConsistencyTimeout
	if waitFor <= 0 {
		waitFor = DefaultConsistencyTimeout
	}
	eng := &Engine{snapshot: snapshot, prog: p, limits: limits, cache: c, minSteps: minSteps, m: m, waiter: cfg.Waiter, waitFor: waitFor}
	if minSteps > 1 && c != nil {
		eng.worth = new(worthFilter)
	}
	return eng, nil
}

// Rules returns the rule set the engine evaluates (never nil).
func (e *Engine) Rules() *rewrite.Rules {
	if e.prog.rules == nil {
		return &rewrite.Rules{}
	}
	return e.prog.rules
}

// Limits returns the limits in force.
func (e *Engine) Limits() Limits { return e.limits }

// Close releases the cache.
func (e *Engine) Close() { e.cache.Close() }

// validate checks the request's shape; Refs are checked again because callers
// may build them in code.
func (r *Request) validate() error {
	if (r.Relation == "") == (r.Relations == nil) {
		return ErrRelationForm
	}
	if r.Relations != nil && len(r.Relations) == 0 {
		return tuples.ErrEmptyRelations
	}
	if len(r.Relations) > MaxRelations {
		return ErrTooManyRelations
	}
	k := tuples.Key{Subject: r.Subject, Relation: r.Relation, Object: r.Object}
	if r.Relation == "" {
		k.Relation = "xx" // relations are validated one by one below
	}
	if err := k.Validate(); err != nil {
		return err
	}
	for _, rel := range r.Relations {
		if err := tuples.CheckRelation(rel); err != nil {
			return err
		}
	}
	return nil
}

// Check answers a request against the current snapshot.
func (e *Engine) Check(ctx context.Context, req Request) (Result, error) {
	if err := req.validate(); err != nil {
		e.m.outcome(outcomeError)
		return Result{}, err
	}
	g, err := e.snapshotAt(ctx, req.AtLeast)
	if err != nil {
		e.m.outcome(outcomeError)
		return Result{}, err
	}
	res, err := e.check(ctx, g, &req)
	res.Revision = g.Revision()
	if err != nil {
		e.m.outcome(outcomeError)
		return Result{Revision: res.Revision}, err
	}
	if res.Allowed {
		e.m.outcome(outcomeAllowed)
	} else {
		e.m.outcome(outcomeDenied)
	}
	return res, nil
}

// Await returns once the graph is at revision rev or later, waiting for it
// as a check with a consistency token does (ErrStale when it does not get
// there in time). Listings that honour tokens call it before they read.
func (e *Engine) Await(ctx context.Context, rev uint64) error {
	_, err := e.snapshotAt(ctx, rev)
	return err
}

// snapshotAt returns a snapshot at revision rev or later, waiting for one if
// it must (consistency tokens).
func (e *Engine) snapshotAt(ctx context.Context, rev uint64) (Graph, error) {
	g := e.snapshot()
	if g.Revision() >= rev {
		return g, nil
	}
	if e.waiter == nil {
		return nil, tuples.ErrStale.With("the graph is at revision %d, the request asks for %d", g.Revision(), rev)
	}
	if err := tuples.AwaitRevision(ctx, e.waiter, rev, e.waitFor); err != nil {
		return nil, err
	}
	return e.snapshot(), nil
}

func (e *Engine) check(ctx context.Context, g Graph, req *Request) (Result, error) {
	subj := g.Node(g.Sym(req.Subject.Type), req.Subject.ID)
	objType := g.Sym(req.Object.Type)
	obj := g.Node(objType, req.Object.ID)
	if req.Relation != "" {
		rel := g.Sym(req.Relation)
		if id, ok := g.Has(subj, rel, obj); ok {
			return Result{Allowed: true, MatchedTupleID: id}, nil
		}
		if e.prog.rule(objType, rel) == nil {
			return Result{}, nil
		}
		return e.evaluate(ctx, g, subj, rel, obj, objType)
	}
	// Set form (ADR 0017): every relation's direct lookup first, then each
	// relation's rules in turn.
	for _, name := range req.Relations {
		if id, ok := g.Has(subj, g.Sym(name), obj); ok {
			return Result{Allowed: true, MatchedTupleID: id}, nil
		}
	}
	for _, name := range req.Relations {
		rel := g.Sym(name)
		if e.prog.rule(objType, rel) == nil {
			continue
		}
		res, err := e.evaluate(ctx, g, subj, rel, obj, objType)
		if err != nil || res.Allowed {
			return res, err
		}
	}
	return Result{}, nil
}

// evaluate runs the rules for one relation, through the cache.
func (e *Engine) evaluate(ctx context.Context, g Graph, subj tuples.NodeID, rel tuples.Sym, obj tuples.NodeID, objType tuples.Sym) (Result, error) {
	key := cacheKey{rev: g.Revision(), subj: subj, obj: obj, rel: rel}
	// Unknown objects of different types would share node 0: never cached.
	storable := obj != 0 && e.cache != nil
	lookup := storable
	var h uint64
	if storable && e.worth != nil {
		h = filterHash(subj, rel, obj)
		lookup = e.worth.has(h)
	}
	if lookup {
		if v, ok := e.cache.Get(key); ok {
			return Result{Allowed: v.allowed, MatchedTupleID: v.matched}, nil
		}
	}
	ev := evaluator{ctx: ctx, g: g, p: e.prog, limits: e.limits, subj: subj}
	ok, id, err := ev.eval(rel, obj, objType, 0)
	e.m.evaluated(ev.depth)
	if err != nil {
		if tuples.KindOf(err) == tuples.LimitExceeded {
			e.m.limited()
		}
		return Result{}, err
	}
	if storable && !ev.cycled && ev.steps >= e.minSteps {
		e.cache.Set(key, cacheValue{allowed: ok, matched: id})
		if e.worth != nil {
			e.worth.add(h)
		}
	}
	return Result{Allowed: ok, MatchedTupleID: id}, nil
}
