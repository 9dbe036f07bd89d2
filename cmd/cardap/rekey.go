package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// outcomeAlreadyDone is the audit outcome of a rekey that found the card
// at the requested key set already.
const outcomeAlreadyDone = "already-done"

// rekeyJSON is the --json result of cardap rekey.
type rekeyJSON struct {
	Reader      string       `json:"reader"`
	Type        string       `json:"type"`
	CUID        profile.CUID `json:"cuid"`
	From        int          `json:"from"`
	To          int          `json:"to"`
	AlreadyDone bool         `json:"already_done"`
	APDUs       int          `json:"apdus"`
}

// cmdRekey is `cardap rekey`: load a new card-key set into a Type A or D
// AP in place (docs/PROTOCOL.md §5.4), under the administrative key of
// the card's current set.
func cmdRekey(ctx context.Context, c *cli, args []string) (code int) {
	const usage = "rekey --type a|d --to N --keys SPEC " + auditUsage + " [--aid AID] [--reader NAME] [--json] [--trace]"
	var f common
	var aud auditFlags
	var sec secretFlags
	defer sec.Zero()
	typ := ""
	to := 0
	aid := &aidFlag{}
	fs := newFlagSet(c, "rekey", usage)
	f.register(fs)
	aud.register(fs)
	sec.registerKeys(fs)
	fs.StringVar(&typ, "type", "", "AP type: a or d")
	fs.IntVar(&to, "to", 0, "key-set `VERSION` the AP holds afterwards, 1 to 255 (its master keys in --keys)")
	fs.Var(aid, "aid", "`AID` of the AP (default: the placeholder of its type)")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	typ = strings.ToLower(typ)
	if typ != "a" && typ != "d" {
		return fail(c, f.json, usageError("--type must be a or d (Type C has no keys)"))
	}
	if to < 1 || to > profile.MaxKeySet {
		return fail(c, f.json, usageErrorf("--to N is required: the key-set version to load, 1 to %d", profile.MaxKeySet))
	}
	st, err := sec.loadKeys(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer st.Close()
	// The audit log is opened before the card is touched: an operation
	// that cannot be logged is not started.
	audit, err := aud.open(ctx, "rekey")
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "audit log", audit)
	ev := auditEvent{operation: "rekey", ap: strings.ToUpper(typ), reader: f.reader}
	cnt, err := connectCounted(ctx, c, f)
	if err != nil {
		return failAudited(c, f.json, audit, ev, err)
	}
	defer c.closeAfter(&code, "card", cnt)
	ev.reader = cnt.Reader()
	var res personalize.RekeyResult
	opts := personalize.RekeyOptions{To: to}
	if typ == "a" {
		res, err = personalize.RekeyTypeA(ctx, cnt, typea.Config{AID: aid.aid, Keys: st}, opts)
	} else {
		res, err = personalize.RekeyTypeD(ctx, cnt, typed.Config{AID: aid.aid, Keys: st}, opts)
	}
	ev.cuid = res.CUID
	if err != nil {
		return failAudited(c, f.json, audit, ev, err)
	}
	outcome := outcomeSuccess
	if res.AlreadyDone {
		outcome = outcomeAlreadyDone
	}
	if code, ok := succeedAudited(c, f.json, audit, ev, outcome); !ok {
		return code
	}
	if f.json {
		return done(c, writeJSON(c.stdout, rekeyJSON{Reader: cnt.Reader(), Type: strings.ToUpper(typ), CUID: res.CUID,
			From: res.From, To: res.To, AlreadyDone: res.AlreadyDone, APDUs: cnt.APDUs}))
	}
	state := fmt.Sprintf("key set %d -> %d", res.From, res.To)
	if res.AlreadyDone {
		state = fmt.Sprintf("already at key set %d: nothing changed", res.To)
	}
	_, err = fmt.Fprintf(c.stdout, "Type %s AP, CUID %s: %s (%d APDUs)\n", strings.ToUpper(typ), res.CUID, state, cnt.APDUs)
	return done(c, err)
}

// keySetRemedy is the remedy of a refused card-key set: what the
// operator does about it.
func keySetRemedy(err error) string {
	var ke *profile.KeySetError
	if errors.As(err, &ke) {
		switch ke.Reason {
		case profile.KeySetRetired, profile.KeySetNotAccepted:
			return fmt.Sprintf("rekey the card to an accepted key set at a terminal that holds key set %d: cardap rekey --type a|d --keys SPEC --to N", ke.Version)
		case profile.KeySetUnknown:
			return fmt.Sprintf("add the master keys of key set %d to the key source (--keys), or rekey the card to a set this terminal holds", ke.Version)
		case profile.KeySetIncomplete:
			return fmt.Sprintf("add %s to the key source (--keys): a key set is used whole or not at all", strings.Join(ke.Missing, ", "))
		}
	}
	if errors.Is(err, profile.ErrKeySetNotNewer) {
		return "give --to a version newer than the card's key set (a card's keys never go back)"
	}
	return ""
}

// keySetFlags are the card-key set policy flags of the read commands
// (docs/PROTOCOL.md §5.3): --min-key-set retires older sets,
// --default-key-set is the set of a card that announces none.
type keySetFlags struct{ min, dflt int }

// keySetUsage is the part of a usage line for keySetFlags.
const keySetUsage = "[--min-key-set N] [--default-key-set N]"

func (k *keySetFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&k.min, "min-key-set", 0, "refuse cards whose card-key set is older than `VERSION` (retired), before any key is tried")
	fs.IntVar(&k.dflt, "default-key-set", 0, "card-key set `VERSION` of a card that announces none (default 1)")
}

// policy returns the flags' policy, or a usage error.
func (k keySetFlags) policy() (profile.KeySetPolicy, error) {
	p := profile.KeySetPolicy{Min: k.min, Default: k.dflt}
	if err := p.Validate(); err != nil {
		return p, usageErrorf("key set: %v", err)
	}
	return p, nil
}
