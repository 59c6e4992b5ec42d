// Package bench holds the load generator and the benchmarks of the engine.
//
// The generator builds a seeded, realistic SaaS graph: users belong to
// organisations as owner, admin or member; organisations hold projects, projects
// hold folders and folders hold documents; documents have owners and some
// direct grants, a few of them to users of other organisations. Its rules
// (Rules) express role implication (owner ⊂ admin ⊂ member, owner ⊂ editor ⊂
// viewer) and parent inheritance (document → folder → project → organisation).
// The same seed always yields the same graph.
//
// The benchmarks run with
//
//	go test -run '^$' -bench . -benchmem ./bench
//
// at 10k and 1M tuples; set FLAMETRENCH_BENCH_10M=1 to add 10M. The numbers and
// the machine they were measured on are in docs/BENCHMARKS.md.
package bench
