package apdubudget_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typec"
	"github.com/mynacard/freespace/typed"
)

// flow is one row of the table: a flow of the SDK, what the profile
// needs at least, and what the SDK sends (the documented figure).
type flow struct {
	// id names the subtest: TestAPDUsPerFlow/<id>.
	id, name string
	// apdus is the documented count: the test fails when the measured
	// count differs.
	apdus int
	// min is the fewest APDUs the profile (docs/PROTOCOL.md) allows for
	// the flow.
	min int
	// note explains apdus > min, or the minimum.
	note string
	// card builds the card, prepare brings it to the flow's starting
	// state (not counted), run is the flow (counted). A row without run
	// is a figure another test measures (note says which).
	card    func(t testing.TB, st *keys.Store) *mockcard.Card
	prepare func(ctx context.Context, card *mockcard.Card, st *keys.Store) error
	run     func(ctx context.Context, tr apdu.Transport, st *keys.Store) error
	// steps is the sequence of commands, as measured (filled by the test).
	steps string
}

var (
	identity = profile.Identity{UserID: "U-0001", Attributes: []profile.Attribute{{Name: "role", Value: "staff"}, {Name: "room", Value: "3F"}}}
	password = profile.Password("2468")
	kib      = typed.Content{Identity: profile.Identity{UserID: "U-0001"}, Data: bytes.Repeat([]byte{0x5A}, 1024)}
	request  = personalize.Request{Identity: identity, Password: password, Data: []byte("evacuee record")}
)

func typeACard(pw bool) func(testing.TB, *keys.Store) *mockcard.Card {
	return typeACardMode(pw, false)
}

// typeACardMode is a Type A card with or without a password; before: the
// AP takes its password in plain before mutual authentication (§6.4).
func typeACardMode(pw, before bool) func(testing.TB, *keys.Store) *mockcard.Card {
	return func(t testing.TB, st *keys.Store) *mockcard.Card {
		cfg := mockcard.TypeA{Identity: identity, Keys: mockcard.APKeys{Masters: st}}
		if pw {
			cfg.Password = &mockcard.APPassword{Value: password, BeforeAuth: before}
		}
		return mockcard.MustNew(mockcard.WithTypeA(cfg))
	}
}

func typeDCard(ext bool) func(testing.TB, *keys.Store) *mockcard.Card {
	return func(t testing.TB, st *keys.Store) *mockcard.Card {
		return mockcard.MustNew(mockcard.WithExtendedLength(ext), mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}}))
	}
}

// withKiB writes 1 KiB of data on the Type D AP (the current envelope the
// flows read or replace).
func withKiB(ext bool) func(context.Context, *mockcard.Card, *keys.Store) error {
	return func(ctx context.Context, card *mockcard.Card, st *keys.Store) error {
		ap, err := typed.Open(ctx, card, typed.Config{Keys: st, ExtendedLength: ext}, nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		return ap.Write(ctx, kib, typed.WriteOptions{})
	}
}

func readD(ext bool) func(context.Context, apdu.Transport, *keys.Store) error {
	return func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
		ap, err := typed.Open(ctx, tr, typed.Config{Keys: st, ExtendedLength: ext}, nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		got, err := ap.Read(ctx)
		if err == nil && !bytes.Equal(got.Data, kib.Data) {
			err = fmt.Errorf("read %d bytes, want %d", len(got.Data), len(kib.Data))
		}
		return err
	}
}

func writeD(ext bool) func(context.Context, apdu.Transport, *keys.Store) error {
	return func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
		ap, err := typed.Open(ctx, tr, typed.Config{Keys: st, ExtendedLength: ext}, nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		return ap.Update(ctx, typed.WriteOptions{}, func(cur typed.ReadResult, err error) (typed.Content, error) {
			cur.Data = bytes.Repeat([]byte{0xA5}, 1024)
			return cur.Content, err
		})
	}
}

func unsealedCard(t testing.TB, st *keys.Store) *mockcard.Card {
	pw := &mockcard.APPassword{Value: profile.Password("0000")}
	return mockcard.MustNew(
		mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
		mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "UNSET"}, Unsealed: true}),
		mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
	)
}

// flows is the table of docs/PERFORMANCE.md, "APDUs per flow".
var flows = []flow{
	{id: "typec-read", name: "Type C read (`typec.Read`)", apdus: 3, min: 3,
		note: "2 would do if Type C cards had to put the CUID in the FCI; §1.4 leaves tag `85` optional, so the host reads EF.CUID by SFI (§2.3)",
		card: func(testing.TB, *keys.Store) *mockcard.Card { return mockcard.MustNew(mockcard.WithTypeC(identity)) },
		run: func(ctx context.Context, tr apdu.Transport, _ *keys.Store) error {
			_, err := typec.Read(ctx, tr, typec.Config{})
			return err
		}},
	{id: "typea-read", name: "Type A read, no password (`typea.Read`)", apdus: 4, min: 4,
		note: "the CUID comes in the FCI (§6.1), EF.Records is read by SFI",
		card: typeACard(false),
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			_, err := typea.Read(ctx, tr, typea.Config{Keys: st}, nil)
			return err
		}},
	{id: "typea-read-password-after", name: "Type A read, password after authentication", apdus: 6, min: 5,
		note: "+1: VERIFY without data first (status, no try spent), so the last try is never spent unless allowed (§6.4)",
		card: typeACard(true),
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			_, err := typea.Read(ctx, tr, typea.Config{Keys: st, Password: profile.PasswordAfterAuth}, password)
			return err
		}},
	{id: "typea-read-password-before", name: "Type A read, password before authentication", apdus: 6, min: 5,
		note: "+1: the status query, as above; one SELECT, none between VERIFY and MUTUAL AUTHENTICATE (§6.4)",
		card: typeACardMode(true, true),
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			_, err := typea.Read(ctx, tr, typea.Config{Keys: st, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}, password)
			return err
		}},
	{id: "typed-read-short", name: "Type D read of 1 KiB, short APDUs (`typed.Open`, `Read`)", apdus: 10, min: 10,
		note: "SELECT EF with FCP (size, 15-bit offsets), the heads of both slots, the rest of the newer envelope in 223-byte chunks (§4.5, §7.4)",
		card: typeDCard(false), prepare: withKiB(false), run: readD(false)},
	{id: "typed-read-extended", name: "Type D read of 1 KiB, extended length", apdus: 6, min: 6,
		note: "one READ BINARY per slot",
		card: typeDCard(true), prepare: withKiB(true), run: readD(true)},
	{id: "typed-write-short", name: "Type D write of 1 KiB over 1 KiB, short APDUs (`typed.Open`, `Update`; `cardap typed write`)", apdus: 19, min: 17,
		note: "the slots are read under key `01`, written under key `02` (§7.1). +2: the key switch selects the AP again, then EF.Data. 2.1 lets a card take a plain GET CHALLENGE and MUTUAL AUTHENTICATE during a session (§1.4, the EF stays current); 2.0 left that open, so the host switches the way every card of either version takes, and compares the CUID",
		card: typeDCard(false), prepare: withKiB(false), run: writeD(false)},
	{id: "typed-write-extended", name: "Type D write of 1 KiB over 1 KiB, extended length", apdus: 11, min: 9,
		note: "one READ BINARY per slot, one UPDATE BINARY. +2: the key switch, as above",
		card: typeDCard(true), prepare: withKiB(true), run: writeD(true)},
	{id: "personalize-a", name: "Personalization, Type A (`personalize.TypeA`), 3 records", apdus: 10, min: 9,
		note: "+1: the write tries UPDATE RECORD 1 before it appends (6A83 on a fresh AP): the plain probe said so, but the write does not take an unauthenticated answer's word; then APPEND RECORD ×3 (§8.1)",
		card: unsealedCard,
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			_, err := personalize.TypeA(ctx, tr, typea.Config{Keys: st, Password: profile.PasswordAfterAuth}, request)
			return err
		}},
	{id: "personalize-c", name: "Personalization, Type C (`personalize.TypeC`)", apdus: 4, min: 4,
		note: "SELECT EF with FCP: the old size, to pad over longer earlier content (§8.1)",
		card: unsealedCard,
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			r := request
			r.Password = nil
			_, err := personalize.TypeC(ctx, tr, typec.Config{}, r)
			return err
		}},
	{id: "personalize-d", name: "Personalization, Type D (`personalize.TypeD`)", apdus: 10, min: 9,
		note: "+1: the slot heads are read again under secure messaging after the plain probe read EF.Data's first byte (the write trusts only what it read in the session)",
		card: unsealedCard,
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			_, err := personalize.TypeD(ctx, tr, typed.Config{Keys: st, Password: profile.PasswordAfterAuth}, request)
			return err
		}},
	{id: "rekey", name: "Rekey of a Type A AP from key set 1 to 2 (`personalize.RekeyTypeA`; `cardap rekey`)", apdus: 8, min: 5,
		note: "+3: after the commit (PUT DATA C1, §5.4) the card ends the session; the host selects the AP again (it announces set 2) and authenticates under the new administrative key, proving the card holds the set it reports",
		card: typeACard(false),
		prepare: func(_ context.Context, _ *mockcard.Card, st *keys.Store) error {
			keystest.AddCardKeySet(st, 2)
			return nil
		},
		run: func(ctx context.Context, tr apdu.Transport, st *keys.Store) error {
			_, err := personalize.RekeyTypeA(ctx, tr, typea.Config{Keys: st}, personalize.RekeyOptions{To: 2})
			return err
		}},
}

// TestAPDUsPerFlow measures every flow and checks the table of
// docs/PERFORMANCE.md between its markers.
func TestAPDUsPerFlow(t *testing.T) {
	ctx := context.Background()
	for i := range flows {
		f := &flows[i]
		if f.run == nil {
			continue
		}
		t.Run(f.id, func(t *testing.T) {
			st := keystest.Store(1)
			card := f.card(t, st)
			if f.prepare != nil {
				require.NoError(t, f.prepare(ctx, card, st))
			}
			rec := &recorder{next: card}
			cnt := &apdu.Counter{Next: rec}
			require.NoError(t, f.run(ctx, cnt, st))
			f.steps = rec.steps()
			t.Logf("%d APDUs (documented %d, minimum %d): %s", cnt.APDUs, f.apdus, f.min, f.steps)
			require.Equal(t, f.apdus, cnt.APDUs, "APDUs of %s: update docs/PERFORMANCE.md and this table when it went down; find the regression when it went up", f.name)
			require.GreaterOrEqual(t, f.apdus, f.min, "below the documented minimum: the minimum is wrong")
		})
	}
	if t.Failed() {
		return
	}
	for _, f := range flows {
		if f.run != nil && f.steps == "" {
			t.Log("a subset of the flows ran: the table in docs/PERFORMANCE.md is not checked")
			return
		}
	}
	const path = "../../docs/PERFORMANCE.md"
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	const begin, end = "<!-- BEGIN apdus-per-flow -->\n", "<!-- END apdus-per-flow -->"
	before, after, ok := strings.Cut(string(doc), begin)
	require.True(t, ok, "%s lacks %q", path, begin)
	have, rest, ok := strings.Cut(after, end)
	require.True(t, ok, "%s lacks %q", path, end)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(before+begin+table()+end+rest), 0o644))
		return
	}
	require.Equal(t, table(), have, "the table in %s differs from the measured one (go test ./internal/apdubudget -run TestAPDUsPerFlow -update rewrites it)", path)
}

// update rewrites the table in docs/PERFORMANCE.md from the measurement.
var update = flag.Bool("update", false, "rewrite the APDUs per flow table of docs/PERFORMANCE.md")

// table renders flows as the Markdown table of docs/PERFORMANCE.md.
func table() string {
	var b strings.Builder
	b.WriteString("| flow | APDUs | minimum | the APDUs | why | measured by |\n|---|---|---|---|---|---|\n")
	for _, f := range flows {
		if f.run == nil {
			fmt.Fprintf(&b, "| %s | — | — | — | %s | — |\n", f.name, f.note)
			continue
		}
		fmt.Fprintf(&b, "| %s | **%d** | %d | %s | %s | `TestAPDUsPerFlow/%s` |\n", f.name, f.apdus, f.min, f.steps, f.note, f.id)
	}
	return b.String()
}

// recorder passes commands to next and remembers their instructions.
type recorder struct {
	next apdu.Transport
	cmds [][]byte
}

func (r *recorder) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r.cmds = append(r.cmds, append([]byte(nil), cmd...))
	return r.next.Transmit(ctx, cmd)
}

// steps names the commands in order, runs of the same one counted:
// "SELECT AP · READ BINARY ×4".
func (r *recorder) steps() string {
	var out []string
	last, n := "", 0
	flush := func() {
		switch {
		case n == 1:
			out = append(out, last)
		case n > 1:
			out = append(out, fmt.Sprintf("%s ×%d", last, n))
		}
	}
	for _, c := range r.cmds {
		name := commandName(c)
		if name != last {
			flush()
			last, n = name, 0
		}
		n++
	}
	flush()
	return strings.Join(out, " · ")
}

// commandName names a command APDU by its instruction (ISO/IEC 7816-4
// §5.4), SELECT by what it selects.
func commandName(c []byte) string {
	if len(c) < 4 {
		return "?"
	}
	ins := apdu.Ins(c[1])
	if ins == apdu.InsSelect {
		if c[2] == 0x04 {
			return "SELECT AP"
		}
		return "SELECT EF"
	}
	return ins.String() // the ISO/IEC 7816-4 name, "INS xx" for one it lacks
}
