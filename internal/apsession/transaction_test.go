package apsession_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
)

// countingTx is a reader that counts the transactions begun and ended on
// it and how deep they nest.
type countingTx struct {
	begins, ends, depth, maxDepth int
}

func (c *countingTx) Transmit(context.Context, []byte) ([]byte, error) {
	return []byte{0x90, 0x00}, nil
}

func (c *countingTx) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	c.begins++
	c.depth++
	c.maxDepth = max(c.maxDepth, c.depth)
	defer func() { c.depth--; c.ends++ }()
	return fn(ctx)
}

// wrap is a decorator (like a Channel or secure messaging) around a reader.
type wrap struct{ next apdu.Transport }

func (w wrap) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	return w.next.Transmit(ctx, cmd)
}
func (w wrap) Unwrap() apdu.Transport { return w.next }

// TestWithTransactionPerTransport: an operation on a second reader
// started inside the first reader's transaction gets a transaction of its
// own; an operation on the first reader (directly or through a decorator)
// inside its transaction does not nest another one.
func TestWithTransactionPerTransport(t *testing.T) {
	ctx := context.Background()
	a, b := &countingTx{}, &countingTx{}
	err := apsession.WithTransaction(ctx, a, func(ctx context.Context) error {
		assert.Equal(t, 1, a.depth)
		require.NoError(t, apsession.WithTransaction(ctx, b, func(ctx context.Context) error {
			assert.Equal(t, 1, b.depth, "the second reader is inside its own transaction")
			// Back on the first reader, inside both transactions.
			return apsession.WithTransaction(ctx, wrap{a}, func(ctx context.Context) error {
				return apsession.WithTransaction(ctx, b, func(context.Context) error { return nil })
			})
		}))
		return apsession.WithTransaction(ctx, a, func(context.Context) error { return nil })
	})
	require.NoError(t, err)
	for name, c := range map[string]*countingTx{"first": a, "second": b} {
		assert.Equal(t, 1, c.begins, "%s reader: transactions begun", name)
		assert.Equal(t, 1, c.ends, "%s reader: transactions ended", name)
		assert.Equal(t, 1, c.maxDepth, "%s reader: nesting", name)
	}
	// A later operation takes a new transaction.
	require.NoError(t, apsession.WithTransaction(ctx, b, func(context.Context) error { return nil }))
	assert.Equal(t, 2, b.begins)
}

// TestWithTransactionKeptContext: a context kept from fn after the
// transaction ended does not pass for being inside it.
func TestWithTransactionKeptContext(t *testing.T) {
	a := &countingTx{}
	var kept context.Context
	require.NoError(t, apsession.WithTransaction(context.Background(), a, func(ctx context.Context) error {
		kept = ctx
		return nil
	}))
	ran := false
	require.NoError(t, apsession.WithTransaction(kept, a, func(context.Context) error {
		ran = true
		assert.Equal(t, 1, a.depth, "inside a transaction of its own")
		return nil
	}))
	assert.True(t, ran)
	assert.Equal(t, 2, a.begins)
	assert.Equal(t, 2, a.ends)
}

// sliceTx is a reader of a type that == cannot compare (a slice field):
// comparing interfaces holding it would panic.
type sliceTx struct {
	c   *countingTx
	pad []byte
}

func (s sliceTx) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	return s.c.Transmit(ctx, cmd)
}
func (s sliceTx) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.c.WithTransaction(ctx, fn)
}

// funcTx is a reader of a func type, not comparable either.
type funcTx func(ctx context.Context, fn func(ctx context.Context) error) error

func (f funcTx) Transmit(context.Context, []byte) ([]byte, error) { return []byte{0x90, 0x00}, nil }
func (f funcTx) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	return f(ctx, fn)
}

// TestWithTransactionNonComparableTransports: readers of types == cannot
// compare never panic; each operation on them gets its own transaction
// (their identity cannot be told, so nothing is assumed held), and they
// do not hide a comparable reader's need for one.
func TestWithTransactionNonComparableTransports(t *testing.T) {
	ctx := context.Background()
	a, b, c := &countingTx{}, &countingTx{}, &countingTx{}
	s1, s2 := sliceTx{a, []byte{1}}, sliceTx{a, []byte{2}}
	f := funcTx(b.WithTransaction)
	err := apsession.WithTransaction(ctx, s1, func(ctx context.Context) error {
		return apsession.WithTransaction(ctx, f, func(ctx context.Context) error {
			return apsession.WithTransaction(ctx, s2, func(ctx context.Context) error {
				return apsession.WithTransaction(ctx, wrap{f}, func(ctx context.Context) error {
					return apsession.WithTransaction(ctx, c, func(context.Context) error { return nil })
				})
			})
		})
	})
	require.NoError(t, err)
	assert.Equal(t, 2, a.begins)
	assert.Equal(t, 2, a.ends)
	assert.Equal(t, 2, b.begins)
	assert.Equal(t, 2, b.ends)
	assert.Equal(t, 1, c.begins)
	assert.Equal(t, 1, c.ends)
}

// TestWithTransactionWithoutTransactor: a transport that cannot take
// transactions simply runs fn, and does not hide a reader's need for one.
func TestWithTransactionWithoutTransactor(t *testing.T) {
	ctx := context.Background()
	a := &countingTx{}
	plain := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return []byte{0x90, 0x00}, nil })
	ran := false
	err := apsession.WithTransaction(ctx, plain, func(ctx context.Context) error {
		return apsession.WithTransaction(ctx, a, func(context.Context) error { ran = true; return nil })
	})
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, 1, a.begins)
}
