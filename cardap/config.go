package cardap

import (
	"errors"
	"fmt"
)

// ErrConfig is wrapped by every configuration error of the package: New,
// the configs' Validate methods, OpenGenerationMemory and the serve loops
// (a nil handler or slot, a Client not created by New). The error's text
// names the field.
var ErrConfig = errors.New("cardap: invalid configuration")

// configError is a configuration error: which field (a path from the
// Config, as New knows it) and what is wrong with it. It matches ErrConfig.
type configError struct {
	field string // "APs[0] (Type A): PasswordFunc"; empty for the whole
	msg   string // what is wrong, a fact (no remedy)
	err   error  // the cause from another package, or nil
}

// configErr returns a configuration error about field.
func configErr(field, format string, args ...any) error {
	return &configError{field: field, msg: fmt.Sprintf(format, args...)}
}

func (e *configError) Error() string {
	s := ErrConfig.Error()
	if e.field != "" {
		s += ": " + e.field
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Is matches ErrConfig.
func (e *configError) Is(target error) bool { return target == ErrConfig }

// Unwrap returns the cause from another package (a typea.Config error).
func (e *configError) Unwrap() error { return e.err }

// within places err, an error about a part of the configuration, under
// field: a configError gets field as the front of its path; any other
// error becomes the cause of a configError about field.
func within(field string, err error) error {
	var ce *configError
	if errors.As(err, &ce) {
		cp := *ce
		if cp.field == "" {
			cp.field = field
		} else {
			cp.field = field + ": " + cp.field
		}
		return &cp
	}
	return &configError{field: field, err: err}
}
