package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/securefile"
)

// jpkiUsage is the synopsis of `cardap jpki`.
const jpkiUsage = "jpki cert|status|verify|sign [--reader NAME] [--json] [--trace] [--extended]\n" +
	"       cert:   [--ca] [--pem]\n" +
	"       verify: --roots FILES (--revocation DIR | --no-revocation) [--ocsp URL [--ocsp-soft-fail]] (--pin-env VAR | --stdin) [--allow-last-try] [--at RFC3339]\n" +
	"       sign:   (--digest HEX | --in FILE) (--pin-env VAR | --stdin) [--allow-last-try]"

// cmdJPKI is `cardap jpki cert|status|verify|sign`: the public JPKI AP of
// every My Number Card (package jpki; docs/PROTOCOL.md chapter 10).
func cmdJPKI(ctx context.Context, c *cli, args []string) int {
	sub, code := subcommand(c, jpkiUsage, args, "cert", "status", "verify", "sign")
	if code >= 0 {
		return code
	}
	f := jpkiFlags{}
	defer f.sec.Zero()
	fs := newFlagSet(c, "jpki "+sub, jpkiUsage)
	f.register(fs, sub)
	if code := parseFlags(c, fs, args[1:]); code >= 0 {
		return code
	}
	switch sub {
	case "cert":
		return f.cert(ctx, c)
	case "status":
		return f.status(ctx, c)
	case "verify":
		return f.verify(ctx, c)
	}
	return f.sign(ctx, c)
}

// jpkiFlags are the flags of the jpki subcommands.
type jpkiFlags struct {
	common
	sec          secretFlags
	extended     bool
	ca, pem      bool
	roots        string
	revDir       string
	noRevocation bool
	ocspURL      string
	ocspSoftFail bool
	allowLastTry bool
	at           string
	digest       string
	in           string
}

func (f *jpkiFlags) register(fs *flag.FlagSet, sub string) {
	f.common.register(fs)
	fs.BoolVar(&f.extended, "extended", false, "read the certificate with extended-length APDUs even when the connection has not shown that they get through (a refusal falls back to short ones); by default they are used once the reader's ATR or use has shown it")
	switch sub {
	case "cert":
		fs.BoolVar(&f.ca, "ca", false, "read the CA certificate (EF 000B) instead of the user-authentication certificate (EF 000A)")
		fs.BoolVar(&f.pem, "pem", false, "print the certificate as PEM (text output)")
	case "verify", "sign":
		f.sec.registerSecret(fs, "pin", "4-digit authentication PIN")
		f.sec.registerStdin(fs, "the 4-digit authentication PIN")
		fs.BoolVar(&f.allowLastTry, "allow-last-try", false, "send the PIN even when one try is left (a mistake blocks the card's authentication key)")
	}
	switch sub {
	case "verify":
		fs.StringVar(&f.roots, "roots", "", "J-LIS authentication CA certificate `FILES` (PEM or DER, comma-separated): the trust anchors")
		fs.StringVar(&f.revDir, "revocation", "", "revocation store `DIR` (the certificate is looked up by its revocation key, docs/PROTOCOL.md §10.4)")
		fs.BoolVar(&f.noRevocation, "no-revocation", false, "verify without a revocation list (a revoked certificate is NOT refused)")
		fs.StringVar(&f.ocspURL, "ocsp", "", "also ask the OCSP responder at `URL` (refused when it does not answer good)")
		fs.BoolVar(&f.ocspSoftFail, "ocsp-soft-fail", false, "accept the certificate when the OCSP responder cannot be reached (never when it says revoked)")
		fs.StringVar(&f.at, "at", "", "verify the certificate's validity at `TIME` (RFC 3339) instead of now")
	case "sign":
		fs.StringVar(&f.digest, "digest", "", "the SHA-256 digest to sign, 64 hex digits")
		fs.StringVar(&f.in, "in", "", "sign the SHA-256 of `FILE` (- for stdin is not accepted: stdin may carry the PIN)")
	}
}

// readOptions are the jpki.ReadOptions of --extended.
func (f *jpkiFlags) readOptions() jpki.ReadOptions {
	if f.extended {
		return jpki.ReadOptions{MaxChunk: jpki.DefaultMaxCertificateSize}
	}
	return jpki.ReadOptions{}
}

// withCard connects to the card and runs fn on its transport (traced with
// --trace), counting the APDUs.
func (f *jpkiFlags) withCard(ctx context.Context, c *cli, fn func(t apdu.Transport, reader string) error) (code int) {
	src, cd, err := connect(ctx, f.reader)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "PC/SC context", src)
	defer c.closeAfter(&code, "card", cd)
	if err := fn(f.transport(c, cd), cd.Reader()); err != nil {
		return fail(c, f.json, err)
	}
	return exitOK
}

// jpkiCertJSON is the output of `cardap jpki cert`.
type jpkiCertJSON struct {
	Reader        string `json:"reader"`
	EF            string `json:"ef"`
	Identity      string `json:"identity,omitempty"`
	RevocationKey string `json:"revocation_key,omitempty"`
	Issuer        string `json:"issuer"`
	Serial        string `json:"serial"`
	NotBefore     string `json:"not_before"`
	NotAfter      string `json:"not_after"`
	Bytes         int    `json:"bytes"`
	SHA256        string `json:"sha256"`
	APDUs         int    `json:"apdus"`
}

// certInfo describes a certificate; identity fields only for the
// authentication certificate (its subject, an opaque ID, is not printed).
func certInfo(cert *x509.Certificate, reader string, fid uint16, apdus int) jpkiCertJSON {
	sum := sha256.Sum256(cert.Raw)
	out := jpkiCertJSON{Reader: reader, EF: fmt.Sprintf("%04X", fid), Issuer: cert.Issuer.String(), Serial: cert.SerialNumber.Text(16),
		NotBefore: cert.NotBefore.UTC().Format(time.RFC3339), NotAfter: cert.NotAfter.UTC().Format(time.RFC3339),
		Bytes: len(cert.Raw), SHA256: hex.EncodeToString(sum[:]), APDUs: apdus}
	if fid == jpki.EFAuthCertificate {
		if id, err := jpki.IdentityOf(cert); err == nil {
			out.Identity, out.RevocationKey = id.String(), hex.EncodeToString(id.RevocationKey.Bytes())
		}
	}
	return out
}

func (f *jpkiFlags) cert(ctx context.Context, c *cli) int {
	fid := jpki.EFAuthCertificate
	if f.ca {
		fid = jpki.EFAuthCACertificate
	}
	return f.withCard(ctx, c, func(t apdu.Transport, reader string) error {
		cnt := &apdu.Counter{Next: t}
		cert, err := jpki.ReadCertificate(ctx, cnt, fid, f.readOptions())
		if err != nil {
			return err
		}
		info := certInfo(cert, reader, fid, cnt.APDUs)
		if f.json {
			return writeJSON(c.stdout, info)
		}
		if f.pem {
			return pem.Encode(c.stdout, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		}
		return writeCertText(c.stdout, info)
	})
}

func writeCertText(w io.Writer, i jpkiCertJSON) error {
	var b strings.Builder
	fmt.Fprintf(&b, "reader          %s\nEF              %s (%d bytes, %d APDUs)\n", i.Reader, i.EF, i.Bytes, i.APDUs)
	if i.Identity != "" {
		fmt.Fprintf(&b, "identity        %s\nrevocation key  %s\n", i.Identity, i.RevocationKey)
	}
	fmt.Fprintf(&b, "issuer          %s\nserial          %s\nvalid           %s .. %s\nsha256          %s\n", i.Issuer, i.Serial, i.NotBefore, i.NotAfter, i.SHA256)
	_, err := io.WriteString(w, b.String())
	return err
}

// jpkiStatusJSON is the output of `cardap jpki status`.
type jpkiStatusJSON struct {
	Reader    string `json:"reader"`
	TriesLeft int    `json:"tries_left"`
	Blocked   bool   `json:"blocked"`
	Verified  bool   `json:"verified"`
}

func (f *jpkiFlags) status(ctx context.Context, c *cli) int {
	return f.withCard(ctx, c, func(t apdu.Transport, reader string) error {
		st, err := jpki.PINStatus(ctx, t)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(c.stdout, jpkiStatusJSON{Reader: reader, TriesLeft: max(st.Remaining, 0), Blocked: st.Blocked, Verified: st.Verified})
		}
		_, err = fmt.Fprintf(c.stdout, "reader  %s\nPIN     %s (authentication PIN, %d tries in all)\n", reader, st, jpki.AuthPINTries)
		return err
	})
}

// jpkiVerifyJSON is the output of `cardap jpki verify`.
type jpkiVerifyJSON struct {
	Reader        string   `json:"reader"`
	Identity      string   `json:"identity"`
	RevocationKey string   `json:"revocation_key"`
	Issuer        string   `json:"issuer"`
	Serial        string   `json:"serial"`
	NotAfter      string   `json:"not_after"`
	Chain         []string `json:"chain"`
	Revocation    string   `json:"revocation"`
	APDUs         int      `json:"apdus"`
}

// pin reads the PIN of --pin-env or --stdin (a usage error without one).
func (f *jpkiFlags) pin(ctx context.Context) (profile.Password, error) {
	pin, err := f.sec.secret(ctx, "pin")
	if err != nil {
		return nil, usageError(err.Error())
	}
	if pin == nil {
		return nil, usageError("give the PIN with --pin-env VAR or --stdin")
	}
	return pin, nil
}

func (f *jpkiFlags) verify(ctx context.Context, c *cli) int {
	switch {
	case f.roots == "":
		return fail(c, f.json, usageError("--roots FILES is required: the J-LIS authentication CA certificates to trust"))
	case f.revDir == "" && !f.noRevocation:
		return fail(c, f.json, usageError("give --revocation DIR (the list the certificate is checked against), or --no-revocation"))
	case f.revDir != "" && f.noRevocation:
		return fail(c, f.json, usageError("--revocation and --no-revocation exclude each other"))
	case f.ocspSoftFail && f.ocspURL == "":
		return fail(c, f.json, usageError("--ocsp-soft-fail needs --ocsp URL"))
	}
	now := time.Now
	if f.at != "" {
		at, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return fail(c, f.json, usageErrorf("--at: %v", err))
		}
		now = func() time.Time { return at }
	}
	roots, err := jpki.LoadCertificates(strings.Split(f.roots, ",")...)
	if err != nil {
		return fail(c, f.json, err)
	}
	opts := jpki.AuthOptions{Roots: roots, Time: now, AllowLastTry: f.allowLastTry, Read: f.readOptions(), NoRevocation: f.noRevocation}
	var checkers []jpki.RevocationChecker
	if f.revDir != "" {
		st, err := revocation.Open(f.revDir, revocation.Options{ReadOnly: true, RefreshInterval: -1})
		if err != nil {
			return fail(c, f.json, err)
		}
		defer st.Close()
		checkers = append(checkers, jpki.StoreChecker(st))
	}
	if f.ocspURL != "" {
		checkers = append(checkers, &jpki.OCSPChecker{ResponderURL: f.ocspURL, Time: now, SoftFail: f.ocspSoftFail})
	}
	if len(checkers) > 0 {
		opts.NoRevocation, opts.Revocation = false, jpki.AllOf(checkers...)
	}
	auth, err := jpki.NewAuthenticator(opts)
	if err != nil {
		return fail(c, f.json, usageError(err.Error()))
	}
	pin, err := f.pin(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer pin.Zero()
	return f.withCard(ctx, c, func(t apdu.Transport, reader string) error {
		res, err := auth.AuthenticateWithPIN(ctx, t, pin)
		if err != nil {
			return err
		}
		out := jpkiVerifyJSON{Reader: reader, Identity: res.Identity.String(), RevocationKey: hex.EncodeToString(res.Identity.RevocationKey.Bytes()),
			Issuer: res.Identity.Issuer, Serial: res.Identity.Serial.Text(16), NotAfter: res.Identity.NotAfter.UTC().Format(time.RFC3339), APDUs: res.APDUs}
		for _, cc := range res.Chain[1:] {
			out.Chain = append(out.Chain, cc.Subject.String())
		}
		out.Revocation = "not checked (--no-revocation)"
		if len(checkers) > 0 {
			out.Revocation = "not revoked"
		}
		if f.json {
			return writeJSON(c.stdout, out)
		}
		_, err = fmt.Fprintf(c.stdout, "reader          %s\nverified        challenge signed by the card, certificate chains to %s\nidentity        %s\nrevocation key  %s\nissuer          %s\nserial          %s\nvalid until     %s\nrevocation      %s\nAPDUs           %d\n",
			reader, strings.Join(out.Chain, " / "), out.Identity, out.RevocationKey, out.Issuer, out.Serial, out.NotAfter, out.Revocation, out.APDUs)
		return err
	})
}

// jpkiSignJSON is the output of `cardap jpki sign`.
type jpkiSignJSON struct {
	Reader    string `json:"reader"`
	Identity  string `json:"identity"`
	Digest    string `json:"digest"`
	Signature string `json:"signature"`
}

// signDigest returns the digest of --digest or --in.
func (f *jpkiFlags) signDigest() ([]byte, error) {
	switch {
	case (f.digest == "") == (f.in == ""):
		return nil, usageError("give exactly one of --digest HEX and --in FILE")
	case f.digest != "":
		d, err := hex.DecodeString(f.digest)
		if err != nil || len(d) != sha256.Size {
			return nil, usageError("--digest: want 64 hex digits (a SHA-256 digest)")
		}
		return d, nil
	}
	fh, err := securefile.Open(f.in, securefile.Policy{})
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.in, err)
	}
	return h.Sum(nil), nil
}

func (f *jpkiFlags) sign(ctx context.Context, c *cli) int {
	digest, err := f.signDigest()
	if err != nil {
		return fail(c, f.json, err)
	}
	pin, err := f.pin(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer pin.Zero()
	return f.withCard(ctx, c, func(t apdu.Transport, reader string) error {
		var sig []byte
		var cert *x509.Certificate
		err := apdu.WithTransaction(ctx, t, func(ctx context.Context) error {
			card, err := jpki.Open(ctx, t, f.readOptions())
			if err != nil {
				return err
			}
			if cert, err = card.Certificate(ctx, jpki.EFAuthCertificate); err != nil {
				return err
			}
			if err := card.VerifyPIN(ctx, pin, jpki.VerifyOptions{AllowLastTry: f.allowLastTry}); err != nil {
				return err
			}
			sig, err = card.SignDigest(ctx, digest)
			return err
		})
		if err != nil {
			return err
		}
		// The card's word is checked before it is printed.
		if err := jpki.VerifySignature(cert, digest, sig); err != nil {
			return err
		}
		id, err := jpki.IdentityOf(cert)
		if err != nil {
			return err
		}
		out := jpkiSignJSON{Reader: reader, Identity: id.String(), Digest: hex.EncodeToString(digest), Signature: hex.EncodeToString(sig)}
		if f.json {
			return writeJSON(c.stdout, out)
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", out.Signature)
		return err
	})
}
