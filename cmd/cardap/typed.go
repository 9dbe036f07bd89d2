package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/securefile"
	"github.com/mynacard/freespace/typed"
)

// maxDataFile bounds a --data-file (the largest EF is 32767 bytes).
const maxDataFile = 1 << 15

// cmdTypeD is `cardap typed read|write`.
func cmdTypeD(ctx context.Context, c *cli, args []string) (code int) {
	const usage = "typed read|write --keys FILE [--reader NAME] [--aid AID] [--capacity N] [--extended] [--password-env VAR | --stdin] [--allow-last-try] [--min-data-key-version N] [--require-newest] [--generations DIR] [--json] [--trace]\n" +
		"       write: " + auditUsage + " --data-file FILE (the application data; the identity is kept) [--user-id ID [--expires YYYYMMDD] [--attr NAME=VALUE ...] to replace it] [--overwrite-unreadable]\n" +
		"       read:  [--out FILE] writes the application data (decrypted) to FILE, a new file of mode 0600"
	sub, code := subcommand(c, usage, args, "read", "write")
	if code >= 0 {
		return code
	}
	var f common
	var aud auditFlags
	var sec secretFlags
	defer sec.Zero() // what --stdin read, taken or not
	var idf identityFlags
	aid := &aidFlag{profile.DefaultAID(profile.TypeD)}
	var capacity, minVersion int
	var extended, withPassword, allowLast, requireNewest bool
	var genDir string
	var dataFile, outFile string
	var overwrite bool
	fs := newFlagSet(c, "typed "+sub, usage)
	f.register(fs)
	sec.registerKeys(fs)
	sec.registerSecret(fs, "password", "password (for an AP with a password)")
	sec.registerStdin(fs, "the password")
	fs.Var(aid, "aid", "`AID` of the Type D AP (default: the placeholder)")
	fs.IntVar(&capacity, "capacity", 0, "size of EF.Data in bytes (default: from the card's FCP)")
	fs.BoolVar(&extended, "extended", false, "the reader and card accept extended-length APDUs")
	fs.BoolVar(&allowLast, "allow-last-try", false, "send the password even when one try is left")
	fs.IntVar(&minVersion, "min-data-key-version", 0, "refuse data sealed under an older data key `VERSION` (retired)")
	fs.BoolVar(&requireNewest, "require-newest", false, "refuse older data when the newest slot does not open (instead of reporting the fallback)")
	fs.StringVar(&genDir, "generations", "", "state `DIR` remembering the highest generation read per card; an older one is refused")
	if sub == "write" {
		aud.register(fs)
		fs.StringVar(&dataFile, "data-file", "", "application data `FILE` to store (encrypted)")
		fs.BoolVar(&overwrite, "overwrite-unreadable", false, "replace envelopes no key opens (after a torn first write); destroys data copied from elsewhere")
		idf.register(fs)
	} else {
		fs.StringVar(&outFile, "out", "", "write the application data to `FILE`, created with mode 0600 (an existing file or a symlink is refused)")
	}
	if code := parseFlags(fs, args[1:]); code >= 0 {
		return code
	}
	st, pw, code := sec.keysAndSecret(ctx, c, f.json, "password")
	if code >= 0 {
		return code
	}
	defer st.Zero()
	defer pw.Zero()
	withPassword = pw != nil
	var data []byte
	var newID profile.Identity
	if sub == "write" {
		if dataFile == "" && idf.userID == "" {
			return fail(c, f.json, usageError("typed write needs --data-file FILE and/or --user-id ID"))
		}
		if dataFile != "" {
			var err error
			if data, err = readBounded(dataFile, maxDataFile); err != nil {
				return fail(c, f.json, usageError(err.Error()))
			}
		}
		if idf.userID != "" {
			// Checked before the card is touched: a bad --user-id,
			// --expires or --attr costs no authentication and no password.
			var err error
			if newID, err = idf.identity(); err != nil {
				return fail(c, f.json, usageError(err.Error()))
			}
		}
	}
	var mem *cardap.GenerationMemory
	if genDir != "" {
		var err error
		if mem, err = cardap.OpenGenerationMemory(genDir, cardap.GenerationMemoryOptions{}); err != nil {
			return fail(c, f.json, withRemedy(err))
		}
		defer c.closeAfter(&code, "generation memory", mem)
	}
	// typed write is an operation of the loading terminal: it is logged,
	// and the log is opened before the card is touched (a read keeps no
	// log: audit records nothing).
	audit := &auditLog{}
	if sub == "write" {
		var err error
		if audit, err = aud.open(ctx, "typed write"); err != nil {
			return failWithRemedy(c, f.json, err)
		}
		defer c.closeAfter(&code, "audit log", audit)
	}
	ev := auditEvent{operation: "typed-write", ap: "D", reader: f.reader}
	failOp := func(err error) int { return failAudited(c, f.json, audit, ev, err) }
	cnt, err := connectCounted(ctx, c, f)
	if err != nil {
		return failOp(err)
	}
	defer c.closeAfter(&code, "card", cnt)
	ev.reader = cnt.Reader()
	cfg := typed.Config{AID: aid.aid, Keys: st, Capacity: capacity, ExtendedLength: extended, Password: passwordMode(withPassword), AllowLastTry: allowLast,
		MinDataKeyVersion: minVersion, RequireNewest: requireNewest}
	ap, err := typed.Open(ctx, cnt, cfg, pw)
	if err != nil {
		return failOp(err)
	}
	defer c.closeAfter(&code, "Type D AP session", ap)
	ev.cuid = ap.CUID()
	res, err := ap.Read(ctx)
	if err == nil && res.Fallback != nil {
		fmt.Fprintf(c.stderr, "cardap: warning: read generation %d from slot %d: %s\n", res.Header.Generation, res.Slot, res.Fallback)
	}
	if err == nil && mem != nil {
		err = mem.Observe(ap.CUID(), res.Header.Generation)
	}
	cur := res.Content
	if sub == "read" || idf.userID == "" {
		if err != nil {
			return failOp(err)
		}
	}
	if sub == "write" {
		next := cur
		if idf.userID != "" {
			next.Identity = newID
		}
		if dataFile != "" {
			next.Data = data
		}
		if err := ap.Write(ctx, next, typed.WriteOptions{OverwriteUnreadable: overwrite}); err != nil {
			return failOp(err)
		}
		cur = next
		if code, ok := succeedAudited(c, f.json, audit, ev, outcomeSuccess); !ok {
			return code
		}
	}
	if outFile != "" {
		// Decrypted card data: a new file, 0600, created exclusively and
		// without following a symlink, so neither a file planted in a
		// shared folder (with looser permissions or another owner) nor a
		// symlink to another file receives it.
		if err := securefile.WriteSecret(outFile, cur.Data); err != nil {
			return failWithRemedy(c, f.json, fmt.Errorf("--out: %w", err))
		}
	}
	out := newIdentityJSON(cnt.Reader(), "D", aid.aid, ap.CUID(), cur.Identity)
	if f.json && outFile == "" {
		out.Data = cur.Data
	}
	if sub == "write" {
		out.Data = nil
	}
	out.APDUs = cnt.APDUs
	if !f.json && len(out.Data) == 0 {
		out.Data = cur.Data // for the byte count line
	}
	return done(c, printIdentity(c, f.json, out))
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// passwordMode is the Type D password mode for --password given or not.
func passwordMode(withPassword bool) profile.PasswordMode {
	if withPassword {
		return profile.PasswordAfterAuth
	}
	return profile.PasswordNone
}
