package demo

import (
	"bytes"
	"os"
	"testing"

	"github.com/mynacard/freespace/keys"
)

func TestOperatorKeysAreFreshAndComplete(t *testing.T) {
	a, err := OperatorKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Zero()
	b, err := OperatorKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Zero()
	for _, name := range TypeAMasters {
		ka, err := a.Key(t.Context(), keys.KeyRef{Name: name, Version: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kb, err := b.Key(t.Context(), keys.KeyRef{Name: name, Version: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Equal(ka.Bytes(), kb.Bytes()) {
			t.Fatalf("%s: two runs made the same key", name)
		}
	}
}

func TestPasswordFromEnvUnsets(t *testing.T) {
	t.Setenv("DEMO_TEST_PW", "1234")
	pw, err := PasswordFromEnv("DEMO_TEST_PW")
	if err != nil || string(pw) != "1234" {
		t.Fatalf("got %v, %v", pw, err)
	}
	if _, ok := os.LookupEnv("DEMO_TEST_PW"); ok {
		t.Fatal("the variable is still in the environment")
	}
	if _, err := PasswordFromEnv("DEMO_TEST_PW"); err == nil {
		t.Fatal("an unset variable gave a password")
	}
}
