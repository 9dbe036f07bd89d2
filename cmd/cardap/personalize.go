package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typec"
	"github.com/mynacard/freespace/typed"
)

// cmdPersonalize is `cardap personalize`: the operator's service-setup
// terminal (docs/PROTOCOL.md chapter 8).
func cmdPersonalize(ctx context.Context, c *cli, args []string) (code int) {
	const usage = "personalize --type a|c|d --user-id ID " + auditUsage + " [--attr NAME=VALUE ...] [--expires YYYYMMDD] [--keys SPEC] [--suite SUITE] [--password-env VAR | --stdin] [--data-file FILE] [--data-key-version N] [--aid AID] [--capacity N] [--key-set N] [--reader NAME] [--json] [--trace]"
	var f common
	var aud auditFlags
	var sec secretFlags
	defer sec.Zero() // what --stdin read, taken or not
	var idf identityFlags
	typ := ""
	aid := &aidFlag{}
	var dataFile string
	var capacity, dataVersion, keySet int
	fs := newFlagSet(c, "personalize", usage)
	f.register(fs)
	aud.register(fs)
	sec.registerKeys(fs)
	sec.registerSuite(fs)
	sec.registerSecret(fs, "password", "initial password (Type A and D)")
	sec.registerStdin(fs, "the initial password")
	idf.register(fs)
	fs.StringVar(&typ, "type", "", "AP type: a, c or d")
	fs.Var(aid, "aid", "`AID` of the AP (default: the placeholder of its type)")
	fs.StringVar(&dataFile, "data-file", "", "Type D application data `FILE`")
	fs.IntVar(&capacity, "capacity", 0, "Type D: size of EF.Data in bytes (default: from the card's FCP)")
	fs.IntVar(&dataVersion, "data-key-version", 0, "Type D: seal under this `VERSION` of the data key (default: the latest --keys holds)")
	fs.IntVar(&keySet, "key-set", 0, "Type A and D: card-key set `VERSION` the AP ends with, rekeyed in place when loaded with an older one (default: the newest set --keys holds whole)")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	typ = strings.ToLower(typ)
	if typ != "a" && typ != "c" && typ != "d" {
		return fail(c, f.json, usageError("--type must be a, c or d"))
	}
	id, err := idf.identity()
	if err != nil {
		return fail(c, f.json, usageError(err.Error()))
	}
	if keySet < 0 || keySet > profile.MaxKeySet || (keySet != 0 && typ == "c") {
		return fail(c, f.json, usageErrorf("--key-set: 1 to %d, for Type A and D", profile.MaxKeySet))
	}
	req := personalize.Request{Identity: id, KeySet: keySet}
	if req.Password, err = sec.secret(ctx, "password"); err != nil {
		return fail(c, f.json, usageError(err.Error()))
	}
	if typ == "c" && req.Password != nil {
		req.Password.Zero()
		return fail(c, f.json, usageError("the Type C AP has no password: drop --password-env / --stdin"))
	}
	defer req.Password.Zero()
	if dataFile != "" {
		if typ != "d" {
			return fail(c, f.json, usageError("--data-file is for Type D"))
		}
		if req.Data, err = readBounded(dataFile, maxDataFile); err != nil {
			return fail(c, f.json, usageError(err.Error()))
		}
	}
	var st openedKeys
	if typ != "c" {
		if st, err = sec.loadKeys(ctx); err != nil {
			return fail(c, f.json, err)
		}
		defer st.Close()
	}
	// The audit log is opened before the card is touched: an operation
	// that cannot be logged is not started.
	audit, err := aud.open(ctx, "personalize")
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "audit log", audit)
	ev := auditEvent{operation: "personalize", ap: strings.ToUpper(typ), reader: f.reader}
	cnt, err := connectCounted(ctx, c, f)
	if err != nil {
		return failAudited(c, f.json, audit, ev, err)
	}
	defer c.closeAfter(&code, "card", cnt)
	ev.reader = cnt.Reader()
	res, err := runPersonalize(ctx, cnt, typ, aid.aid, st, apOptions{suite: sec.suite.suite, capacity: capacity, dataVersion: dataVersion}, req)
	ev.cuid = res.CUID
	if err != nil {
		return failAudited(c, f.json, audit, ev, err)
	}
	state, outcome := "personalized and sealed", outcomeSuccess
	if res.AlreadySealed {
		state, outcome = "already sealed: nothing changed", outcomeAlreadySealed
	}
	if code, ok := succeedAudited(c, f.json, audit, ev, outcome); !ok {
		return code
	}
	if f.json {
		out := map[string]any{"reader": cnt.Reader(), "type": strings.ToUpper(typ), "cuid": res.CUID,
			"user_id": id.UserID, "already_sealed": res.AlreadySealed, "apdus": cnt.APDUs}
		if typ != "c" {
			out["key_set"], out["rekeyed"] = res.KeySet, res.Rekeyed
		}
		return done(c, writeJSON(c.stdout, out))
	}
	if res.Rekeyed {
		state = fmt.Sprintf("rekeyed to key set %d, %s", res.KeySet, state)
	}
	_, err = fmt.Fprintf(c.stdout, "Type %s AP, CUID %s: %s (%d APDUs)\n", strings.ToUpper(typ), res.CUID, state, cnt.APDUs)
	return done(c, err)
}

// apOptions are the flags of personalize that configure the AP beyond
// its AID and keys.
type apOptions struct {
	suite       secure.Suite
	capacity    int
	dataVersion int
}

func runPersonalize(ctx context.Context, t *countingTransport, typ string, aid profile.AID, st keys.Provider, o apOptions, req personalize.Request) (personalize.Result, error) {
	switch typ {
	case "a":
		mode := profile.PasswordAfterAuth
		if len(req.Password) == 0 {
			mode = profile.PasswordNone
		}
		return personalize.TypeA(ctx, t, typea.Config{AID: aid, Keys: st, Suite: o.suite, Password: mode}, req)
	case "c":
		return personalize.TypeC(ctx, t, typec.Config{AID: aid}, req)
	default:
		return personalize.TypeD(ctx, t, typed.Config{AID: aid, Keys: st, Suite: o.suite, Capacity: o.capacity, DataKeyVersion: o.dataVersion, Password: passwordMode(len(req.Password) > 0)}, req)
	}
}

// demoPassword is the initial password of the demo card's Type A and D
// APs made by `cardap mock serve --keys`.
const demoPassword = "1234"

// addAuthenticatedAPs adds Type A and Type D APs to a demo mock card, with
// card keys diversified from the key file's master keys, and personalizes
// them (and the card's Type C AP, when unsealed) in-process with userID
// and the demo password, so `cardap mock serve --keys SPEC` presents a
// card carrying Type A, C and D at once. suite is the APs' cipher suite
// (nil: AES-128).
func addAuthenticatedAPs(ctx context.Context, card *mockcard.Card, keysFile, userID string, suite secure.Suite) error {
	st, err := openKeys(ctx, keysFile)
	if err != nil {
		return err
	}
	defer st.Close()
	pw := &mockcard.APPassword{Value: profile.Password("0000")}
	suiteName := ""
	if suite != nil {
		suiteName = suite.Name()
	}
	apKeys := mockcard.APKeys{Masters: st, Suite: suiteName}
	specA, err := mockcard.TypeASpec(mockcard.TypeA{Keys: apKeys, Password: pw, Unsealed: true}, rand.Reader)
	if err != nil {
		return err
	}
	specD, err := mockcard.TypeDSpec(mockcard.TypeD{Keys: apKeys, Password: pw, Unsealed: true}, rand.Reader)
	if err != nil {
		return err
	}
	for _, s := range []mockcard.APSpec{specA, specD} {
		if err := card.AddAP(s); err != nil {
			return err
		}
	}
	req := personalize.Request{Identity: profile.Identity{UserID: userID}, Password: profile.Password(demoPassword)}
	if _, err := personalize.TypeA(ctx, card, typea.Config{Keys: st, Suite: suite, Password: profile.PasswordAfterAuth}, req); err != nil {
		return err
	}
	_, err = personalize.TypeD(ctx, card, typed.Config{Keys: st, Suite: suite, Password: profile.PasswordAfterAuth}, req)
	return err
}
