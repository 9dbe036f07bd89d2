package main

import (
	"bytes"
	"debug/elf"
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// winscardSymbols are functions and variables that only a binary linking
// github.com/ebfe/scard's Windows binding carries: modwinscard is its lazy
// handle on winscard.dll, and reader.establish and reader.mapErr exist only
// in reader/pcsc_cgo.go (the no-cgo stub defines neither; its symbols are a
// subset of the real reader's, so the stub is told apart by what it lacks).
var winscardSymbols = []string{
	"github.com/ebfe/scard.modwinscard",
	"github.com/ebfe/scard.(*Context).Connect",
	"github.com/ebfe/scard.(*Card).Transmit",
	"github.com/mynacard/freespace/reader.establish",
	"github.com/mynacard/freespace/reader.mapErr",
}

// winscardStrings are the names ebfe/scard resolves at run time
// (syscall.NewLazyDLL and NewProc): winscard.dll is loaded lazily, so these
// strings, not the PE import table, show that the binding is linked.
var winscardStrings = []string{
	"winscard.dll",
	"SCardEstablishContext",
	"SCardTransmit",
	"SCardGetStatusChangeW",
	"SCardCancel",
	"SCardBeginTransaction",
}

// binaryContents is what bindingProblems looks at in an executable: its
// symbol names and the bytes of its sections.
type binaryContents struct {
	symbols map[string]bool
	data    []byte
}

// readPE reads the COFF symbol table and the section data of a Windows
// executable.
func readPE(path string) (binaryContents, error) {
	f, err := pe.Open(path)
	if err != nil {
		return binaryContents{}, err
	}
	defer f.Close()
	c := binaryContents{symbols: map[string]bool{}}
	for _, s := range f.Symbols {
		c.symbols[s.Name] = true
	}
	for _, s := range f.Sections {
		b, err := s.Data()
		if err != nil {
			return binaryContents{}, fmt.Errorf("section %s: %w", s.Name, err)
		}
		c.data = append(c.data, b...)
	}
	return c, nil
}

// readELF reads the symbol table and the section data of an ELF executable.
func readELF(path string) (binaryContents, error) {
	f, err := elf.Open(path)
	if err != nil {
		return binaryContents{}, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return binaryContents{}, err
	}
	c := binaryContents{symbols: map[string]bool{}}
	for _, s := range syms {
		c.symbols[s.Name] = true
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS {
			continue
		}
		b, err := s.Data()
		if err != nil {
			return binaryContents{}, fmt.Errorf("section %s: %w", s.Name, err)
		}
		c.data = append(c.data, b...)
	}
	return c, nil
}

// bindingProblems lists what a binary lacks to be one with the winscard
// binding; none means it carries it.
func bindingProblems(c binaryContents) []string {
	var missing []string
	for _, s := range winscardSymbols {
		if !c.symbols[s] {
			missing = append(missing, "symbol "+s)
		}
	}
	for _, s := range winscardStrings {
		if !bytes.Contains(c.data, []byte(s)) {
			missing = append(missing, "string "+s)
		}
	}
	return missing
}

// buildCardap cross-builds cmd/cardap into dir for the given environment
// additions and returns the executable's path.
func buildCardap(t *testing.T, dir, name string, env ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", strings.Join(env, " "), b)
	return out
}

// A default Windows build (no cgo, no C compiler) carries the winscard
// binding, and the same check refuses a build with the no-cgo stub reader,
// so a regression of reader's build constraints cannot pass.
func TestWindowsBinaryCarriesWinscard(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds cardap twice")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	dir := t.TempDir()

	exe := buildCardap(t, dir, "cardap.exe", "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	win, err := readPE(exe)
	require.NoError(t, err)
	assert.Empty(t, bindingProblems(win), "cardap.exe must carry the winscard binding")

	// The negative control: the stub reader (a build without cgo where no
	// cgo-free binding exists) must fail the same check on every item.
	stubExe := buildCardap(t, dir, "cardap-stub", "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	stub, err := readELF(stubExe)
	require.NoError(t, err)
	assert.Len(t, bindingProblems(stub), len(winscardSymbols)+len(winscardStrings),
		"the stub build must lack every winscard symbol and string")
	assert.True(t, bytes.Contains(stub.data, []byte("built without cgo")), "the stub's ErrNoCgo text")
}
