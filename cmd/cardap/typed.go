package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/securefile"
	"github.com/mynacard/freespace/typed"
)

// maxDataFile bounds a --data-file (the largest EF is 32767 bytes).
const maxDataFile = 1 << 15

// cmdTypeD is `cardap typed read|write`.
func cmdTypeD(ctx context.Context, c *cli, args []string) (code int) {
	const usage = "typed read|write --keys SPEC [--suite SUITE] [--reader NAME] [--aid AID] [--capacity N] [--extended] [--password-env VAR | --stdin] [--allow-last-try] [--min-data-key-version N] [--require-newest] [--generations DIR] " + keySetUsage + " [--json] [--trace]\n" +
		"       write: " + auditUsage + " --data-file FILE (the application data; the identity is kept) [--data-key-version N] [--user-id ID [--expires YYYYMMDD] [--attr NAME=VALUE ...] to replace it] [--overwrite-unreadable]\n" +
		"       read:  [--out FILE] writes the application data (decrypted) to FILE, a new file of mode 0600"
	sub, code := subcommand(c, usage, args, "read", "write")
	if code >= 0 {
		return code
	}
	tf := typedFlags{aid: &aidFlag{profile.DefaultAID(profile.TypeD)}}
	defer tf.sec.Zero() // what --stdin read, taken or not
	if code := tf.parse(c, sub, usage, args[1:]); code >= 0 {
		return code
	}
	f := tf.common
	st, pw, code := tf.sec.keysAndSecret(ctx, c, f.json, "password")
	if code >= 0 {
		return code
	}
	defer st.Close()
	defer pw.Zero()
	var in typedWrite
	if sub == "write" {
		var err error
		if in, err = tf.writeInput(); err != nil {
			return fail(c, f.json, err)
		}
		if err := in.checkCapacity(tf.capacity); err != nil {
			return fail(c, f.json, err)
		}
	}
	var mem *cardap.GenerationMemory
	if tf.genDir != "" {
		var err error
		if mem, err = cardap.OpenGenerationMemory(tf.genDir, cardap.GenerationMemoryOptions{}); err != nil {
			return fail(c, f.json, err)
		}
		defer c.closeAfter(&code, "generation memory", mem)
	}
	// typed write is an operation of the loading terminal: it is logged,
	// and the log is opened before the card is touched (a read keeps no
	// log: audit records nothing).
	audit := &auditLog{}
	if sub == "write" {
		var err error
		if audit, err = tf.aud.open(ctx, "typed write"); err != nil {
			return fail(c, f.json, err)
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
	ap, err := typed.Open(ctx, cnt, tf.config(st, pw != nil), pw)
	if err != nil {
		return failOp(err)
	}
	defer c.closeAfter(&code, "Type D AP session", ap)
	ev.cuid = ap.CUID()
	cur, err := typedReadWrite(ctx, c, sub, ap, mem, in)
	if err != nil {
		return failOp(err)
	}
	if sub == "write" {
		if code, ok := succeedAudited(c, f.json, audit, ev, outcomeSuccess); !ok {
			return code
		}
	}
	return printTypeD(c, &tf, sub, cnt, ap.CUID(), ap.KeySet(), cur)
}

// typedFlags are the flags of `cardap typed`.
type typedFlags struct {
	common
	aud                                auditFlags
	sec                                secretFlags
	idf                                identityFlags
	aid                                *aidFlag
	capacity, minVersion, dataVersion  int
	extended, allowLast, requireNewest bool
	genDir                             string
	dataFile, outFile                  string
	overwrite                          bool
	keySets                            keySetFlags
}

// parse registers the flags of subcommand sub and parses args. It returns
// the exit code to stop with, or -1.
func (tf *typedFlags) parse(c *cli, sub, usage string, args []string) int {
	fs := newFlagSet(c, "typed "+sub, usage)
	tf.common.register(fs)
	tf.sec.registerKeys(fs)
	tf.sec.registerSuite(fs)
	tf.sec.registerSecret(fs, "password", "password (for an AP with a password)")
	tf.sec.registerStdin(fs, "the password")
	fs.Var(tf.aid, "aid", "`AID` of the Type D AP (default: the placeholder)")
	fs.IntVar(&tf.capacity, "capacity", 0, "size of EF.Data in bytes (default: from the card's FCP)")
	fs.BoolVar(&tf.extended, "extended", false, "the reader and card accept extended-length APDUs")
	fs.BoolVar(&tf.allowLast, "allow-last-try", false, "send the password even when one try is left")
	fs.IntVar(&tf.minVersion, "min-data-key-version", 0, "refuse data sealed under an older data key `VERSION` (retired)")
	fs.BoolVar(&tf.requireNewest, "require-newest", false, "refuse older data when the newest slot does not open (instead of reporting the fallback)")
	fs.StringVar(&tf.genDir, "generations", "", "state `DIR` remembering the highest generation read per card; an older one is refused")
	tf.keySets.register(fs)
	if sub == "write" {
		tf.aud.register(fs)
		fs.StringVar(&tf.dataFile, "data-file", "", "application data `FILE` to store (encrypted)")
		fs.IntVar(&tf.dataVersion, "data-key-version", 0, "seal under this `VERSION` of the data key (default: the latest --keys holds)")
		fs.BoolVar(&tf.overwrite, "overwrite-unreadable", false, "replace envelopes no key opens (after a torn first write); destroys data copied from elsewhere")
		tf.idf.register(fs)
	} else {
		fs.StringVar(&tf.outFile, "out", "", "write the application data to `FILE`, created with mode 0600 (an existing file or a symlink is refused)")
	}
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	if _, err := tf.keySets.policy(); err != nil {
		return fail(c, tf.json, err)
	}
	return -1
}

// typedWrite is what typed write puts on the card: the new data and/or
// the new identity (kept from the card when unset), and how.
type typedWrite struct {
	content     typed.Content
	newData     bool // --data-file given
	newIdentity bool // --user-id given
	overwrite   bool
}

// writeInput reads --data-file and checks the identity flags of typed
// write: before the card is touched, so a bad --user-id, --expires or
// --attr costs no authentication and no password. Its errors are usage
// errors.
func (tf *typedFlags) writeInput() (typedWrite, error) {
	in := typedWrite{overwrite: tf.overwrite}
	if tf.dataFile == "" && tf.idf.userID == "" {
		return in, usageError("typed write needs --data-file FILE and/or --user-id ID")
	}
	if tf.dataFile != "" {
		data, err := readBounded(tf.dataFile, maxDataFile)
		if err != nil {
			return in, usageError(err.Error())
		}
		in.newData, in.content.Data = true, data
	}
	if tf.idf.userID != "" {
		id, err := tf.idf.identity()
		if err != nil {
			return in, usageError(err.Error())
		}
		in.newIdentity, in.content.Identity = true, id
	}
	return in, nil
}

// checkCapacity refuses, before any APDU, a write that cannot fit one slot
// of an EF.Data of the given capacity (--capacity; 0: unknown until the
// card's FCP is read, and the write checks it before writing):
// docs/PROTOCOL.md §7.4 step 2. When the identity is kept from the card
// its size is not known yet, so the smallest identity (a one-character
// user ID) stands in for it: what fails here fails with any identity.
func (in typedWrite) checkCapacity(capacity int) error {
	if capacity == 0 {
		return nil
	}
	c := in.content
	if !in.newIdentity {
		c.Identity = profile.Identity{UserID: "x"}
	}
	pt, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	defer clear(pt)
	return typed.CheckCapacity(capacity, len(pt))
}

// config is the typed.Config of the flags, with the password verified
// after authentication when one was given.
func (tf *typedFlags) config(st keys.Provider, withPassword bool) typed.Config {
	return typed.Config{AID: tf.aid.aid, Keys: st, Suite: tf.sec.suite.suite, Capacity: tf.capacity, ExtendedLength: tf.extended, Password: passwordMode(withPassword), AllowLastTry: tf.allowLast,
		DataKeyVersion: tf.dataVersion, MinDataKeyVersion: tf.minVersion, RequireNewest: tf.requireNewest, KeySets: tf.keySetPolicy()}
}

// keySetPolicy is the checked (parse) --min-key-set / --default-key-set.
func (tf *typedFlags) keySetPolicy() profile.KeySetPolicy {
	p, _ := tf.keySets.policy()
	return p
}

// typedReadWrite reads the AP's content (a fallback is a warning on
// stderr; mem, when set, refuses an older generation) and, for write,
// replaces the data and/or identity in (a write that replaces the identity
// needs no readable content). A write reads the slots once (typed.AP.
// Update), not once to read and again to write. It returns the content
// now on the card.
func typedReadWrite(ctx context.Context, c *cli, sub string, ap *typed.AP, mem *cardap.GenerationMemory, in typedWrite) (typed.Content, error) {
	if sub != "write" {
		res, err := ap.Read(ctx)
		if err == nil {
			err = observeRead(c, ap, mem, res)
		}
		if err != nil {
			return typed.Content{}, err
		}
		return res.Content, nil
	}
	var next typed.Content
	err := ap.Update(ctx, typed.WriteOptions{OverwriteUnreadable: in.overwrite}, func(res typed.ReadResult, err error) (typed.Content, error) {
		if err == nil {
			err = observeRead(c, ap, mem, res)
		}
		if err != nil && !in.newIdentity {
			return typed.Content{}, err
		}
		next = res.Content
		if in.newIdentity {
			next.Identity = in.content.Identity
		}
		if in.newData {
			next.Data = in.content.Data
		}
		return next, nil
	})
	if err != nil {
		return typed.Content{}, err
	}
	return next, nil
}

// observeRead reports a read's fallback to the older slot as a warning on
// stderr and, with mem, refuses a generation older than one seen before.
func observeRead(c *cli, ap *typed.AP, mem *cardap.GenerationMemory, res typed.ReadResult) error {
	if res.Fallback != nil {
		fmt.Fprintf(c.stderr, "cardap: warning: read generation %d from slot %d: %s\n", res.Header.Generation, res.Slot, res.Fallback)
	}
	if mem != nil {
		return mem.Observe(ap.CUID(), res.Header.Generation)
	}
	return nil
}

// printTypeD writes the application data to --out when given and prints
// the identity (and for read with --json and no --out, the data).
func printTypeD(c *cli, tf *typedFlags, sub string, cnt *countingTransport, cuid profile.CUID, keySet int, cur typed.Content) int {
	if tf.outFile != "" {
		// Decrypted card data: a new file, 0600, created exclusively and
		// without following a symlink, so neither a file planted in a
		// shared folder (with looser permissions or another owner) nor a
		// symlink to another file receives it.
		if err := securefile.WriteSecret(tf.outFile, cur.Data); err != nil {
			return fail(c, tf.json, fmt.Errorf("--out: %w", err))
		}
	}
	out := newIdentityJSON(cnt.Reader(), "D", tf.aid.aid, cuid, cur.Identity)
	if tf.json && tf.outFile == "" {
		out.Data = cur.Data
	}
	if sub == "write" {
		out.Data = nil
	}
	out.APDUs, out.KeySet = cnt.APDUs, keySet
	if !tf.json && len(out.Data) == 0 {
		out.Data = cur.Data // for the byte count line
	}
	return done(c, printIdentity(c, tf.json, out))
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
