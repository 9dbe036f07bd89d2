package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
)

// isHelp reports whether arg asks for help in place of a command or
// subcommand name.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// helpOrUsage returns where a usage text goes and the exit code to stop
// with: stdout and exitOK when args asks for help, stderr and exitUsage
// otherwise (a missing or unknown subcommand).
func (c *cli) helpOrUsage(args []string) (io.Writer, int) {
	if len(args) > 0 && isHelp(args[0]) {
		return c.stdout, exitOK
	}
	return c.stderr, exitUsage
}

// parseInterspersed parses args into fs as fs.Parse does, except that
// flags may also follow positional arguments ("check --store st ID
// --json"); "--" ends the flags and everything after it is positional.
// Afterwards fs.Args() holds the positional arguments in order. (A flag
// whose value is the word "--", as in "--store --", is read as the end of
// the flags: write "--store=--".)
//
// The flag set's output is captured while parsing: help asked for (-h,
// --help) is written to c.stdout, a parse error and its usage to c.stderr.
// The output is c.stderr again when it returns, for usage errors found
// later. It returns flag.ErrHelp or the parse error. With c.flagProbe set
// it parses nothing: it hands fs to the probe and returns flag.ErrHelp.
func parseInterspersed(c *cli, fs *flag.FlagSet, args []string) error {
	if c.flagProbe != nil {
		c.flagProbe(fs)
		return flag.ErrHelp
	}
	var out bytes.Buffer
	fs.SetOutput(&out)
	defer fs.SetOutput(c.stderr)
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(c.stdout, out.String())
			} else {
				fmt.Fprint(c.stderr, out.String())
				c.usageJSON(args, err)
			}
			return err
		}
		left := fs.Args()
		consumed := len(rest) - len(left)
		if consumed > 0 && rest[consumed-1] == "--" {
			// "--" ended the flags: the rest is positional as it stands.
			positional = append(positional, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		positional = append(positional, left[0])
		rest = left[1:]
	}
	// Leave the positional arguments in fs.Args(); the flags parsed above
	// keep their values.
	return fs.Parse(append([]string{"--"}, positional...))
}

// usageJSON writes a usage error as the one JSON error shape on stdout when
// args ask for --json, so that a script reading stdout sees every error;
// the usage text stays on stderr.
func (c *cli) usageJSON(args []string, err error) {
	if wantsJSON(args) {
		_ = writeJSON(c.stdout, newJSONError(usageError(err.Error())))
	}
}
