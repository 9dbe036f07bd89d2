package main

import (
	"flag"

	"github.com/mynacard/freespace/secure"
)

// suiteUsage is the help text of --suite.
const suiteUsage = "cipher `SUITE` of mutual authentication and secure messaging, as the AP was loaded: " +
	"aes128 (default), aes192, aes256 or 3des (docs/PROTOCOL.md chapter 3); the master keys in --keys must have its key length"

// suiteFlag is --suite: a cipher suite of the profile by name (secure.
// SuiteByName: "3des", "aes128", "AES-192", ...). Unset, the AP packages'
// default (AES-128) applies.
type suiteFlag struct{ suite secure.Suite }

// String returns the suite's name, "" when unset.
func (s *suiteFlag) String() string {
	if s == nil || s.suite == nil {
		return ""
	}
	return s.suite.Name()
}

// Set parses a suite name; an unknown one is a usage error (flag parsing
// reports it with the usage).
func (s *suiteFlag) Set(v string) error {
	suite, err := secure.SuiteByName(v)
	if err != nil {
		return err
	}
	s.suite = suite
	return nil
}

// registerSuite adds --suite to a command that authenticates with the
// card's keys (next to --keys).
func (s *secretFlags) registerSuite(fs *flag.FlagSet) {
	fs.Var(&s.suite, "suite", suiteUsage)
}
