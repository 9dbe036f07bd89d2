package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/vpcd"
)

// defaultDemoUserID is the user ID of the demo card of `cardap mock serve`.
const defaultDemoUserID = "DEMO-0001"

// cmdMock is `cardap mock <subcommand>`.
func cmdMock(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		w, code := c.helpOrUsage(args)
		fmt.Fprintln(w, "usage: cardap mock serve [--vpcd ADDR] [--state FILE] [--user-id ID] [--keys SPEC [--suite SUITE]] [--jpki=false] [--jpki-smartphone] [--short-reader] [--json]")
		return code
	}
	return cmdMockServe(ctx, c, args[1:])
}

// cmdMockServe is `cardap mock serve`: put the built-in mock card into a
// vpcd slot, so that every PC/SC program on the machine sees it, until
// Ctrl-C. It re-attaches when pcscd restarts (vpcd.Serve).
//
// With --state FILE the card is loaded from FILE, or, when FILE does not
// exist yet, a fresh demo card is made and saved there; on exit the card's
// state (changed by personalization through PC/SC, for example) is saved
// back. Without --state a fresh demo card is served and forgotten. The demo
// card carries a Type C AP holding --user-id with a random CUID, a JPKI AP
// with the test PKI of mockcard.LoadJPKITestPKI (unless --jpki=false; as a
// smartphone's with --jpki-smartphone), and the other pre-installed APs of
// docs/PROTOCOL.md §1.1 as empty DFs.
func cmdMockServe(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "mock serve", "mock serve [--vpcd ADDR] [--state FILE] [--user-id ID] [--keys SPEC [--suite SUITE]] [--jpki=false] [--jpki-smartphone] [--short-reader] [--json]")
	addr := fs.String("vpcd", vpcd.DefaultAddr, "vpcd slot `ADDR`ess (host:port) to connect the card to")
	state := fs.String("state", "", "mock card state `FILE`: loaded when it exists, else created; saved on exit")
	userID := fs.String("user-id", defaultDemoUserID, "user `ID` of the demo card's Type C identity")
	keysFile := fs.String("keys", "", "operator keys `SPEC` (a key file, env: or env:PREFIX): the demo card also carries Type A and Type D APs with keys diversified from them, personalized with --user-id and password "+demoPassword)
	var suite suiteFlag
	fs.Var(&suite, "suite", "cipher `SUITE` of the demo card's Type A and Type D keys: aes128 (default), aes192, aes256 or 3des (the master keys in --keys must have its key length)")
	withJPKI := fs.Bool("jpki", true, "the demo card carries a JPKI AP (test PKI, auth PIN "+mockcard.JPKITestAuthPIN+", signing PIN "+mockcard.JPKITestSignPIN+")")
	smartphone := fs.Bool("jpki-smartphone", false, "the JPKI AP answers as smartphone JPKI does (token "+mockcard.JPKITokenSmartphone+", auth certificate behind the PIN)")
	shortReader := fs.Bool("short-reader", false, "serve the card as behind a reader without extended length (extended APDUs get 6700, long answers come by GET RESPONSE)")
	asJSON := fs.Bool("json", false, "report an error as one JSON object on stdout (the serve log stays on stderr)")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	var jpki *mockcard.JPKI
	if *withJPKI {
		jpki = &mockcard.JPKI{Smartphone: *smartphone}
	}
	var extra []mockcard.Option
	if *shortReader {
		extra = append(extra, mockcard.WithShortReader(mockcard.ShortReaderWrongLength))
	}
	card, origin, err := mockCard(ctx, *state, *userID, *keysFile, suite.suite, jpki, extra...)
	if err != nil {
		if errors.Is(err, profile.ErrInvalidIdentity) {
			err = usageError(err.Error())
		}
		return fail(c, *asJSON, err)
	}
	desc := origin
	if cuid, err := card.CUID(profile.DefaultAID(profile.TypeC)); err == nil {
		desc += ", Type C CUID " + cuid.String()
	}
	fmt.Fprintf(c.stderr, "cardap: serving the mock card (%s) to vpcd at %s; Ctrl-C to stop\n", desc, *addr)
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	serveErr := vpcd.Serve(ctx, *addr, card, vpcd.Config{Logger: logger})
	if *state != "" {
		if err := card.Save(*state); err != nil {
			return fail(c, *asJSON, errors.Join(serveErr, err))
		}
	}
	if serveErr != nil {
		return fail(c, *asJSON, serveErr)
	}
	return exitOK
}

// mockCard loads the card from state, or makes the demo card (and saves it
// to state when state names a file that does not exist yet). origin says
// which.
func mockCard(ctx context.Context, state, userID, keysFile string, suite secure.Suite, jpki *mockcard.JPKI, extra ...mockcard.Option) (card *mockcard.Card, origin string, err error) {
	if state != "" {
		card, err := mockcard.Load(state, extra...)
		if err == nil {
			return card, "loaded from " + state, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	id := profile.Identity{UserID: userID}
	if err := id.Validate(); err != nil {
		return nil, "", fmt.Errorf("--user-id: %w", err)
	}
	opts := []mockcard.Option{mockcard.WithTypeC(id), mockcard.WithPreinstalledAPs()}
	if jpki != nil {
		opts = append(opts, mockcard.WithJPKI(*jpki))
	}
	card, err = mockcard.New(append(opts, extra...)...)
	if err != nil {
		return nil, "", err
	}
	origin = "demo card, user ID " + userID
	if jpki != nil {
		origin += ", JPKI AP"
	}
	if keysFile != "" {
		if err := addAuthenticatedAPs(ctx, card, keysFile, userID, suite); err != nil {
			return nil, "", err
		}
		origin += ", Type A, C and D"
	}
	if state != "" {
		if err := card.Save(state); err != nil {
			return nil, "", err
		}
		origin += ", saved to " + state
	}
	return card, origin, nil
}
