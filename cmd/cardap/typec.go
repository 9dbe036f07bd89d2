package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

// typecReadUsage is the synopsis of `cardap typec read`.
const typecReadUsage = "typec read [--reader NAME] [--json] [--trace] [--aid AID] [--cuid-fid FID] [--identity-fid FID] [--cuid-sfi N] [--identity-sfi N] [--select-by-fid]"

// cmdTypeC is `cardap typec <subcommand>`.
func cmdTypeC(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 || args[0] != "read" {
		w, code := c.helpOrUsage(args)
		fmt.Fprintln(w, "usage: cardap "+typecReadUsage)
		return code
	}
	return cmdTypeCRead(ctx, c, args[1:])
}

// fidFlag is a file identifier flag in hex.
type fidFlag struct{ fid *uint16 }

func (f fidFlag) String() string {
	if f.fid == nil {
		return ""
	}
	return fmt.Sprintf("%04X", *f.fid)
}

func (f fidFlag) Set(v string) error {
	n, err := strconv.ParseUint(v, 16, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("file identifier %q is not 1 to 4 hex digits", v)
	}
	*f.fid = uint16(n)
	return nil
}

// sfiFlag is a short EF identifier flag, 1 to 30 (ISO/IEC 7816-4 §7.2.2).
type sfiFlag struct{ sfi *byte }

func (f sfiFlag) String() string {
	if f.sfi == nil || *f.sfi == 0 {
		return ""
	}
	return strconv.Itoa(int(*f.sfi))
}

func (f sfiFlag) Set(v string) error {
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil || n < 1 || n > 30 {
		return fmt.Errorf("short EF identifier %q is not 1 to 30", v)
	}
	*f.sfi = byte(n)
	return nil
}

// typecJSON is the JSON output of `cardap typec read`.
type typecJSON struct {
	Reader     string              `json:"reader"`
	AID        string              `json:"aid"`
	CUID       profile.CUID        `json:"cuid"`
	UserID     string              `json:"user_id"`
	Expires    string              `json:"expires,omitempty"`
	Attributes []profile.Attribute `json:"attributes,omitempty"`
	APDUs      int                 `json:"apdus"`
}

// cmdTypeCRead is `cardap typec read`: one typec.Read, printed.
func cmdTypeCRead(ctx context.Context, c *cli, args []string) (code int) {
	var f common
	cfg := typec.Config{CUIDFID: profile.FIDCUID, IdentityFID: profile.FIDIdentity}
	aid := &aidFlag{profile.DefaultAID(profile.TypeC)}
	fs := newFlagSet(c, "typec read", typecReadUsage)
	f.register(fs)
	fs.Var(aid, "aid", "`AID` of the Type C AP (default: the placeholder)")
	fs.Var(fidFlag{&cfg.CUIDFID}, "cuid-fid", "file identifier of EF.CUID, hex")
	fs.Var(fidFlag{&cfg.IdentityFID}, "identity-fid", "file identifier of EF.Identity, hex")
	fs.Var(sfiFlag{&cfg.CUIDSFI}, "cuid-sfi", "short EF identifier of EF.CUID, 1 to 30 (default 1)")
	fs.Var(sfiFlag{&cfg.IdentitySFI}, "identity-sfi", "short EF identifier of EF.Identity, 1 to 30 (default 2)")
	fs.BoolVar(&cfg.SelectByFID, "select-by-fid", false, "select the EFs by file identifier instead of reading them by short EF identifier (5 APDUs instead of 3)")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	cfg.AID = aid.aid
	src, cd, err := connect(ctx, f.reader)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "PC/SC context", src)
	defer c.closeAfter(&code, "card", cd)
	res, err := typec.Read(ctx, f.transport(c, cd), cfg)
	if err != nil {
		switch {
		case errors.Is(err, profile.ErrNotPresent):
			err = fmt.Errorf("%w (AID %v; set --aid to the AID of your AP)", err, cfg.AID)
		case errors.Is(err, profile.ErrNotPersonalized):
			err = fmt.Errorf("%w: the card carries the AP but no identity has been written", err)
		}
		return fail(c, f.json, err)
	}
	id := res.Identity
	if f.json {
		out := typecJSON{Reader: cd.Reader(), AID: cfg.AID.String(), CUID: res.CUID, UserID: id.UserID, Attributes: id.Attributes, APDUs: res.APDUs}
		if !id.Expires.IsZero() {
			out.Expires = id.Expires.Format("2006-01-02")
		}
		return done(c, writeJSON(c.stdout, out))
	}
	fmt.Fprintf(c.stdout, "reader   %s\nAP       Type C, AID %v\nCUID     %v\nuser ID  %s\n", cd.Reader(), cfg.AID, res.CUID, id.UserID)
	if !id.Expires.IsZero() {
		fmt.Fprintf(c.stdout, "expires  %s\n", id.Expires.Format("2006-01-02"))
	}
	for _, a := range id.Attributes {
		fmt.Fprintf(c.stdout, "%-8s %q\n", a.Name, a.Value)
	}
	return exitOK
}
