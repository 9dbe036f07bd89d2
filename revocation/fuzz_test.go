package revocation

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzTextParser(f *testing.F) {
	f.Add([]byte(sampleList))
	f.Add([]byte(sampleDelta))
	f.Add([]byte("#freespace-revocation/1 list\n#seq 1\n#as-of 2026-01-01T00:00:00Z\nkind\tid\trevoked_at\treason\n#end 0\n"))
	f.Add([]byte("#freespace-revocation/1 delta\r\n#seq 2\r\n#prev 1\r\n#as-of 2026-01-01T00:00:00+09:00\r\nop,kind,id,revoked_at,reason\r\n-,serial,00,,\r\n#end 1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := TextParser{}.Parse(bytes.NewReader(data))
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			require.Nil(t, u)
			return
		}
		var buf bytes.Buffer
		require.NoError(t, WriteText(&buf, u, '\t'))
		back, err := TextParser{}.Parse(&buf)
		require.NoError(t, err)
		require.Equal(t, u.Add, back.Add)
		require.Equal(t, u.Remove, back.Remove)
		require.Equal(t, u.Seq, back.Seq)
	})
}

// storeFileSeeds writes a list and a delta file and returns their bytes.
func storeFileSeeds(f testing.TB) [][]byte {
	dir := f.TempDir()
	s, err := Open(dir, Options{CompactAfter: -1})
	require.NoError(f, err)
	defer s.Close()
	r := rand.New(rand.NewPCG(3, 3))
	ups := randomUpdates(r, 40, 1)
	for _, u := range ups {
		require.NoError(f, s.Apply(context.Background(), u))
	}
	var out [][]byte
	for _, n := range []string{listName(1), deltaName(2)} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(f, err)
		out = append(out, b)
	}
	return out
}

func FuzzReadStoreFile(f *testing.F) {
	for _, b := range storeFileSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := readBase(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		// A file that verifies answers consistently with its own records.
		var rerr error
		n := 0
		for rec := range b.records(&rerr) {
			got, ok, err := b.lookup(rec.Key)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, rec, got)
			n++
		}
		require.NoError(t, rerr)
		require.Equal(t, b.len(), n)
	})
}

func FuzzJournalLine(f *testing.F) {
	k, _ := ParseKey("cuid:00112233445566778899aabbccddeeff")
	f.Add(bytes.TrimSuffix(marshalJournal(AuditRecord{Op: "stop", Key: k, At: testAsOf, By: "desk", Why: "lost"}), []byte("\n")))
	f.Add([]byte("00000000 {}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := parseJournalLine(line)
		if err != nil {
			return
		}
		back, err := parseJournalLine(bytes.TrimSuffix(marshalJournal(r), []byte("\n")))
		require.NoError(t, err)
		require.Equal(t, r.Key, back.Key)
		require.Equal(t, r.Op, back.Op)
	})
}
