package main

import (
	"fmt"
	"strings"
)

// pamEnvError refuses an environment in which a PAM_* variable appears
// more than once. pam_exec(8) builds its child's environment from the PAM
// environment (pam_getenvlist: whatever pam_env or another module put
// there) followed by its own PAM_RHOST, PAM_RUSER, PAM_SERVICE, PAM_TTY,
// PAM_USER and PAM_TYPE; a lookup that takes the first occurrence (Go's
// os.Getenv does) would then believe the planted value. Which occurrence is
// pam_exec's cannot be told for every variable, so none is trusted.
type pamEnvError struct {
	Name  string // the variable, e.g. PAM_TYPE
	Count int    // how many times it appears
}

func (e *pamEnvError) Error() string {
	return fmt.Sprintf("%s appears %d times in the environment", e.Name, e.Count)
}

// pamEnv reads the PAM_* variables of environ (KEY=VALUE entries, as
// os.Environ returns them). Every PAM_* name must appear at most once;
// otherwise a *pamEnvError names the first duplicated one.
func pamEnv(environ []string) (map[string]string, error) {
	vars := make(map[string]string)
	count := make(map[string]int)
	var dup string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "PAM_") {
			continue
		}
		count[k]++
		if count[k] == 1 {
			vars[k] = v
		} else if dup == "" {
			dup = k
		}
	}
	if dup != "" {
		return nil, &pamEnvError{Name: dup, Count: count[dup]}
	}
	return vars, nil
}
