package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/internal/demo"
	"github.com/mynacard/freespace/examples/pclogin/internal/config"
	"github.com/mynacard/freespace/examples/pclogin/internal/login"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// demoTap is one card presented at the login screen of the demo.
type demoTap struct {
	label   string // what the card is
	account string // the account the user logs in as
	card    func() (*mockcard.Card, error)
	want    login.Reason // the decision the demo expects
	wantErr error        // with want CardUnreadable: the cause expected
	note    string       // why, printed after the decision
}

// demoCUID returns the CUID of the demo's card number n.
func demoCUID(n byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = n ^ byte(0x50+i)
	}
	return c
}

// demoTypeA returns a mock card with a Type A AP holding userID, loaded
// with keys diversified from masters.
func demoTypeA(masters keys.Provider, userID string, c profile.CUID) func() (*mockcard.Card, error) {
	return func() (*mockcard.Card, error) {
		id := profile.Identity{UserID: userID}
		return mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: masters}}))
	}
}

// runDemo is pclogin without arguments: the PC-login decisions on the
// built-in mock card, with the demo operator's keys made in memory
// (nothing is read from or written to disk) and a mapping of alice (pinned
// to her card) and bob. Each tap is decided by login.Authorize exactly as
// `pclogin pam` decides a login; a decision other than the one the demo
// expects is an error.
func runDemo(ctx context.Context, stdout io.Writer) error {
	operator, err := demo.OperatorKeys()
	if err != nil {
		return err
	}
	defer operator.Zero()
	foreign, err := demo.OperatorKeys() // another operator's cards
	if err != nil {
		return err
	}
	defer foreign.Zero()
	cfg, err := config.Parse(fmt.Appendf(nil, `{"accounts":[
		{"user_id":"U-0001","account":"alice","cuid":"%s"},
		{"user_id":"U-0002","account":"bob"}]}`, demoCUID(1)))
	if err != nil {
		return err
	}
	// The client also reads Type C, so that a Type C card is identified
	// and then refused by the policy, which requires a proof.
	client, err := login.NewClient(login.ClientConfig{Keys: operator, AllowTypeC: true})
	if err != nil {
		return err
	}
	taps := []demoTap{
		{label: "alice's card (Type A)", account: "alice", card: demoTypeA(operator, "U-0001", demoCUID(1)), want: login.Allowed},
		{label: "bob's card (Type A)", account: "alice", card: demoTypeA(operator, "U-0002", demoCUID(2)), want: login.WrongAccount},
		{label: "bob's card (Type A)", account: "bob", card: demoTypeA(operator, "U-0002", demoCUID(2)), want: login.Allowed},
		{label: "a Type C copy of alice's card (her user ID and CUID, read without keys)", account: "alice", card: func() (*mockcard.Card, error) {
			return mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "U-0001"}, CUID: demoCUID(1)}))
		}, want: login.Unproven, note: "Type C identifies, it does not authenticate: anyone can copy it"},
		{label: "another operator's card carrying alice's user ID", account: "alice", card: demoTypeA(foreign, "U-0001", demoCUID(1)),
			want: login.CardUnreadable, wantErr: cardap.ErrAuthFailed, note: "mutual authentication failed: its keys are not this operator's"},
	}
	fmt.Fprintln(stdout, "pclogin demo: the built-in mock card, the demo operator's keys in memory; alice (pinned to her card) and bob mapped")
	for i, tap := range taps {
		mc, err := tap.card()
		if err != nil {
			return err
		}
		res := login.Authorize(ctx, login.Cardap{Client: client, Transport: mc}, cfg, login.Policy{}, tap.account, time.Now())
		decision := "allowed"
		if !res.Allowed() {
			decision = "denied: " + res.Reason.String()
		} else {
			decision += fmt.Sprintf(" (Type %s, %s)", res.Card.Proof.AP, res.Card.Proof.Method)
		}
		if tap.note != "" {
			decision += " (" + tap.note + ")"
		}
		if _, err := fmt.Fprintf(stdout, "tap %d: %s, login as %s: %s\n", i+1, tap.label, tap.account, decision); err != nil {
			return err
		}
		if res.Reason != tap.want || (tap.wantErr != nil && !errors.Is(res.Err, tap.wantErr)) {
			return fmt.Errorf("tap %d: decision %q, want %q (%v)", i+1, res.Reason, tap.want, res.Err)
		}
	}
	_, err = fmt.Fprintln(stdout, "Run 'pclogin pam|watch|identify -h' for the real commands (README.md).")
	return err
}
