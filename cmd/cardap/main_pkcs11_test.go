package main

import (
	"os"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
)

// TestMain gives this test binary a SoftHSM2 token of its own when
// scripts/test.sh enabled PKCS#11 (pkcs11test.Main).
func TestMain(m *testing.M) { os.Exit(pkcs11test.Main(m)) }
