package pkcs11

import (
	"os"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
)

func TestMain(m *testing.M) { os.Exit(pkcs11test.Main(m)) }
