package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionInfo is what `cardap version` reports, from the binary's build
// information.
type versionInfo struct {
	// Module is the main module's path.
	Module string `json:"module"`
	// Version is the module version ("(devel)" for a build from a work tree).
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from, if recorded.
	Revision string `json:"revision,omitempty"`
	// Modified reports uncommitted changes in the work tree at build time,
	// if recorded.
	Modified *bool `json:"modified,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Cgo reports whether the binary was built with cgo (CGO_ENABLED=1).
	Cgo bool `json:"cgo"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// ReaderBinding names how the binary talks to card readers.
	ReaderBinding string `json:"reader_binding"`
}

// buildVersion reads the version from bi (nil: no build information,
// as in a binary built without module support).
func buildVersion(bi *debug.BuildInfo) versionInfo {
	v := versionInfo{
		GoVersion:     runtime.Version(),
		Platform:      runtime.GOOS + "/" + runtime.GOARCH,
		ReaderBinding: readerBinding,
		Version:       "unknown",
	}
	if bi == nil {
		return v
	}
	v.Module, v.Version, v.GoVersion = bi.Main.Path, bi.Main.Version, bi.GoVersion
	if v.Version == "" {
		v.Version = "unknown"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			m := s.Value == "true"
			v.Modified = &m
		case "CGO_ENABLED":
			v.Cgo = s.Value == "1"
		}
	}
	return v
}

// String is the text `cardap version` prints.
func (v versionInfo) String() string {
	s := "cardap " + v.Version
	if v.Revision != "" {
		s += " (commit " + v.Revision
		if v.Modified != nil && *v.Modified {
			s += ", modified"
		}
		s += ")"
	}
	cgo := "off"
	if v.Cgo {
		cgo = "on"
	}
	return fmt.Sprintf("%s\n%s, %s, cgo %s\nreaders: %s", s, v.GoVersion, v.Platform, cgo, v.ReaderBinding)
}

// cmdVersion is `cardap version` (and `cardap --version`).
func cmdVersion(_ context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "version", "version [--json]")
	asJSON := fs.Bool("json", false, "print one line of JSON")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	bi, _ := debug.ReadBuildInfo()
	v := buildVersion(bi)
	if *asJSON {
		b, err := json.Marshal(v)
		if err != nil {
			fmt.Fprintf(c.stderr, "cardap version: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintln(c.stdout, v)
	return exitOK
}
