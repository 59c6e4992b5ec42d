//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// crashLine is line i (from 1) of the crash test's file. Every line has its
// own key and an id that encodes i, so the stored ids say exactly which
// lines are in the database.
func crashLine(i int) string {
	return fmt.Sprintf(`{"id":"tup_0190f2a81b3c7abc8000%012x","subject_type":"usr","subject_id":"usr_0190f2a81b3c7abc8001%012x","relation":"viewer","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8002-%012x","created_by":"usr_0190f2a81b3c7abc8003%012x"}`,
		i, i, i%1000, i%7+1)
}

// storedLines returns the line numbers of the tuples stored, in id (= line)
// order, read from a connection of its own at one snapshot.
func storedLines(t *testing.T, url string) []int {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines []int
	for _, tup := range pgtest.Tuples(t, db) {
		h := tup.ID.Hex()
		n, err := strconv.ParseUint(h[20:], 16, 64)
		if err != nil || h[:20] != "0190f2a81b3c7abc8000" {
			t.Fatalf("stored tuple %s is not one of the file's", tup.WireID())
		}
		lines = append(lines, int(n))
	}
	return lines
}

// TestImportKilledLeavesWholeBatches: a writer process killed with SIGKILL
// mid-import leaves only whole batches, and every acknowledged write is
// present after restart. flametrench runs as a process of its own (this
// test binary re-executed, see TestMain), is killed once it has
// acknowledged two batches, and the database then holds exactly the first k
// batches for some k at least two. Importing the file again completes it,
// each tuple once.
func TestImportKilledLeavesWholeBatches(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("imports 100k tuples")
	}
	const lines, size = 100_000, 2_500 // 40 batches
	_, url := pgtest.DB(t, postgres.Config{})
	var file bytes.Buffer
	for i := 1; i <= lines; i++ {
		file.WriteString(crashLine(i) + "\n")
	}
	path := filepath.Join(t.TempDir(), "tuples.jsonl")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "--database-url", url, "--batch-size", strconv.Itoa(size), path}

	cmd := processCmd(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0 // the last line acknowledged
	sc := bufio.NewScanner(stdout)
	for n := 0; n < 2 && sc.Scan(); n++ {
		var first, last, count int
		var rest string
		if _, err := fmt.Sscanf(sc.Text(), "committed lines %d-%d: %d tuples, %s", &first, &last, &count, &rest); err != nil ||
			first != acked+1 || last != acked+size || count != size {
			cmd.Process.Kill()
			t.Fatalf("acknowledgement %d = %q, want lines %d-%d, %d tuples", n+1, sc.Text(), acked+1, acked+size, size)
		}
		acked = last
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("import ended with %v before it was killed (acknowledged through line %d); stderr:\n%s", err, acked, stderr.String())
	}
	if acked != 2*size {
		t.Fatalf("import acknowledged through line %d before it was killed, want %d; stderr:\n%s", acked, 2*size, stderr.String())
	}
	t.Logf("killed after %v, with lines 1-%d acknowledged", time.Since(start).Round(time.Millisecond), acked)

	got := storedLines(t, url)
	if len(got)%size != 0 || len(got) < acked || len(got) == lines {
		t.Fatalf("after the kill %d tuples are stored, want whole batches of %d, at least the %d acknowledged, and not all %d", len(got), size, acked, lines)
	}
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("after the kill the stored tuples are not lines 1-%d: the %dth is line %d", len(got), i+1, n)
		}
	}
	t.Logf("stored after the kill: lines 1-%d (%d whole batches)", len(got), len(got)/size)

	// Restart and finish. The batches stored already are found so and
	// skipped; the others are written.
	cmd = processCmd(t, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("import again: %v\n%s", err, stderrOf(err))
	}
	want := fmt.Sprintf("imported %s: %d tuples from lines 1-%d in %d batches (%d batches stored already)",
		path, lines, lines, lines/size, len(got)/size)
	if last := bytes.TrimSpace(out[bytes.LastIndexByte(bytes.TrimSpace(out), '\n')+1:]); !bytes.HasPrefix(last, []byte(want)) {
		t.Errorf("import again ended with %q, want %q", last, want)
	}
	got = storedLines(t, url)
	if len(got) != lines {
		t.Fatalf("after importing again %d tuples are stored, want %d", len(got), lines)
	}
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("after importing again the %dth stored tuple is line %d", i+1, n)
		}
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}
