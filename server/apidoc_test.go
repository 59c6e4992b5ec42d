package server

import (
	"os"
	"strings"
	"testing"
)

// routeTable renders apiRoutes as docs/API.md's table.
func routeTable() string {
	var b strings.Builder
	b.WriteString("| Method | Path | Operation | Who may call it |\n|---|---|---|---|\n")
	for _, rt := range apiRoutes {
		op := "`" + rt.op + "`"
		if rt.extension {
			op += " (extension)"
		}
		b.WriteString("| " + rt.method + " | `/v1" + rt.path + "` | " + op + " | " + rt.allow.who + " |\n")
	}
	return b.String()
}

const (
	tableStart = "<!-- routes: generated from server/routes.go by TestAPIDoc -->\n"
	tableEnd   = "<!-- /routes -->"
)

// docs/API.md's route table is the route table: a route and its
// documented policy cannot drift apart. FLAMETRENCH_UPDATE_DOCS=1
// rewrites the table in place.
func TestAPIDoc(t *testing.T) {
	const path = "../docs/API.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableStart), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q block", path, tableStart, tableEnd)
	}
	want := routeTable()
	if got := doc[i+len(tableStart) : j]; got != want {
		if os.Getenv("FLAMETRENCH_UPDATE_DOCS") == "1" {
			if err := os.WriteFile(path, []byte(doc[:i+len(tableStart)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s's route table is out of date (FLAMETRENCH_UPDATE_DOCS=1 go test -run TestAPIDoc ./server rewrites it); want:\n%s", path, want)
	}
}
