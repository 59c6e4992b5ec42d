package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/flametrench/server/cache"
	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
	"github.com/flametrench/server/tuples/tuplestest"
)

// replica is one serve process's storage: a database handle, a follower and
// the engine over its graph.
type replica struct {
	f   *postgres.Follower
	g   *memory.Graph
	eng *check.Engine
}

func newReplica(t *testing.T, url string, dbCfg postgres.Config, cfg postgres.FollowerConfig) *replica {
	t.Helper()
	db := open(t, url, dbCfg)
	f, g := follow(t, db, cfg)
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{
		Cache:              cache.Config{Disabled: true},
		Waiter:             f,
		ConsistencyTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return &replica{f: f, g: g, eng: eng}
}

func (r *replica) allowed(t *testing.T, k tuples.Key, atLeast uint64) bool {
	t.Helper()
	res, err := r.eng.Check(ctx, check.Request{Subject: k.Subject, Relation: k.Relation, Object: k.Object, AtLeast: atLeast})
	if err != nil {
		t.Fatalf("Check(%v, at least %d): %v", k, atLeast, err)
	}
	return res.Allowed
}

// TestTwoReplicas: two graph replicas over one database. A write through one
// is visible through the other at once when the check carries the write's
// token, even though the other has neither NOTIFY nor a poll due (the token
// wakes its tail loop); without a token it converges on its own.
func TestTwoReplicas(t *testing.T) {
	_, url := pgtest.DB(t, postgres.Config{})
	a := newReplica(t, url, postgres.Config{}, postgres.FollowerConfig{Logger: quiet})
	b := newReplica(t, url, postgres.Config{NoNotify: true}, postgres.FollowerConfig{Logger: quiet, PollInterval: time.Hour})

	k := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	res, err := a.f.Write(ctx, create(k))
	if err != nil {
		t.Fatal(err)
	}
	if !a.allowed(t, k, 0) {
		t.Fatal("the writing replica does not see its own write")
	}
	if b.allowed(t, k, 0) {
		t.Fatal("replica b saw the write without polling, NOTIFY or a token: the test cannot show what the token does")
	}
	tok := tuples.Token{Epoch: a.f.Epoch(), Revision: res.Revision}
	parsed, err := tuples.ParseToken(tok.String(), b.f.Epoch())
	if err != nil {
		t.Fatalf("replica b refuses replica a's token: %v", err)
	}
	start := time.Now()
	if !b.allowed(t, k, parsed.Revision) {
		t.Fatal("replica b, given the write's token, does not see the write")
	}
	t.Logf("token wait on b: %v", time.Since(start))

	// Without a token: a replica with a short poll and no NOTIFY converges.
	c := newReplica(t, url, postgres.Config{NoNotify: true}, postgres.FollowerConfig{Logger: quiet, PollInterval: 20 * time.Millisecond})
	k2 := tuplestest.Key(tuplestest.Ref("usr"), "editor", tuplestest.Ref("doc"))
	if _, err := a.f.Write(ctx, create(k2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "replica c converges by polling", func() bool { return c.allowed(t, k2, 0) })
	// And with NOTIFY, a replica converges without a poll due.
	d := newReplica(t, url, postgres.Config{}, postgres.FollowerConfig{Logger: quiet, PollInterval: time.Hour})
	k3 := tuplestest.Key(tuplestest.Ref("usr"), "owner", tuplestest.Ref("doc"))
	if _, err := a.f.Write(ctx, create(k3)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "replica d converges by NOTIFY", func() bool { return d.allowed(t, k3, 0) })
}

// TestTokenTimeout: a token the replica cannot reach in time fails with the
// 503-class ErrStale instead of an answer from older state.
func TestTokenTimeout(t *testing.T) {
	db, _ := pgtest.DB(t, postgres.Config{})
	f, g := follow(t, db, postgres.FollowerConfig{Logger: quiet})
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{Waiter: f, ConsistencyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	k := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	_, err = eng.Check(ctx, check.Request{Subject: k.Subject, Relation: k.Relation, Object: k.Object, AtLeast: g.Revision() + 100})
	if !errors.Is(err, tuples.ErrStale) || tuples.KindOf(err) != tuples.Unavailable {
		t.Fatalf("Check with an unreachable token: %v, want ErrStale", err)
	}
}

// proxy forwards TCP connections to a target until cut; then it refuses new
// connections and drops the ones it holds, as a database that went away.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) listen(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
}

func (p *proxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// cut closes the listener and every connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore listens again on the same address.
func (p *proxy) restore() { p.listen(p.addr) }

// via returns url with its host and port replaced by the proxy's.
func (p *proxy) via(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr
	return u.String()
}

// TestDatabaseOutage: the database goes away and comes back. Meanwhile the
// replica keeps answering checks from its graph, reports not ready, refuses
// writes with a 503-class error; afterwards it catches up on what others
// wrote, without losing or duplicating a change.
func TestDatabaseOutage(t *testing.T) {
	db, rawURL := pgtest.DB(t, postgres.Config{})
	u, _ := url.Parse(rawURL)
	p := newProxy(t, u.Host)
	r := newReplica(t, p.via(t, rawURL), postgres.Config{}, postgres.FollowerConfig{Logger: quiet, PollInterval: 10 * time.Millisecond})

	before := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	res, err := db.Write(ctx, create(before))
	if err != nil {
		t.Fatal(err)
	}
	if !r.allowed(t, before, res.Revision) {
		t.Fatal("replica does not see the first write")
	}

	p.cut()
	eventually(t, 10*time.Second, "replica reports not ready", func() bool { return !r.f.Ready() })
	// Others write while the replica is cut off.
	during := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	if _, err := db.Write(ctx, create(during)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: before}}); err != nil {
		t.Fatal(err)
	}
	if !r.allowed(t, before, 0) {
		t.Fatal("replica stopped serving checks from its graph during the outage")
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = r.f.Write(wctx, create(tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))))
	if tuples.KindOf(err) != tuples.Unavailable {
		t.Fatalf("write during the outage: %v, want a 503-class error", err)
	}

	p.restore()
	eventually(t, 15*time.Second, "replica ready again", r.f.Ready)
	head, _, err := db.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tuples.AwaitRevision(ctx, r.f, head, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.allowed(t, before, head) || !r.allowed(t, during, head) {
		t.Fatal("replica did not catch up on the writes made during the outage")
	}
	if r.g.Len() != 1 {
		t.Fatalf("replica holds %d tuples, the database 1", r.g.Len())
	}
	if _, err := r.f.Write(ctx, create(tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc")))); err != nil {
		t.Fatalf("write after the outage: %v", err)
	}
}
