package keys_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mynacard/freespace/keys"
)

// Diversify a card's AP keys from the operator's master keys. In
// production the Store comes from keys.LoadFile (a 0600 JSON file) or the
// provider is keys.Env or an HSM.
func ExampleProvider() {
	ctx := context.Background()
	store := keys.NewStore()
	master, _ := keys.NewKey(keys.AES, bytes.Repeat([]byte{0x40}, 16))
	_ = store.Add(keys.KeyRef{Name: "typea-enc", Version: 1}, master)

	var p keys.Provider = store
	cuid := bytes.Repeat([]byte{0x01}, 16)
	aid := []byte{0xF0, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01}
	cardKey, err := p.Diversify(ctx, keys.KeyRef{Name: "typea-enc"}, cuid, aid)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cardKey.Zero()
	fmt.Println(cardKey) // never prints the bytes

	other, _ := p.Diversify(ctx, keys.KeyRef{Name: "typea-enc"}, bytes.Repeat([]byte{0x02}, 16), aid)
	fmt.Println("another card, another key:", !bytes.Equal(cardKey.Bytes(), other.Bytes()))
	// Output:
	// keys.Key{aes, 16 bytes, redacted}
	// another card, another key: true
}
