package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

const versionDescription = `
Prints the module version, the VCS revision the binary was built from (when
the build recorded one) and the Go version.
`

func runVersion(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("version", "", versionDescription, sio.err)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(cl.args) > 0 {
		return usageError(sio.err, "version", "takes no arguments")
	}
	info, _ := debug.ReadBuildInfo()
	if _, err := io.WriteString(sio.out, versionText(info)); err != nil {
		return exitFailed
	}
	return exitOK
}

// versionText renders build information; info may be nil (a binary built
// without module support).
func versionText(info *debug.BuildInfo) string {
	version, module, goVersion := "(unknown)", "github.com/flametrench/server", runtime.Version()
	var revision, when string
	modified := false
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.Main.Path != "" {
			module = info.Main.Path
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "flametrench %s\n", version)
	fmt.Fprintf(&b, "module:   %s\n", module)
	if revision != "" {
		if modified {
			revision += " (modified)"
		}
		fmt.Fprintf(&b, "revision: %s\n", revision)
	}
	if when != "" {
		fmt.Fprintf(&b, "time:     %s\n", when)
	}
	fmt.Fprintf(&b, "go:       %s\n", goVersion)
	return b.String()
}
