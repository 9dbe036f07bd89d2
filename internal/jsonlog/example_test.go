package jsonlog_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mynacard/freespace/internal/jsonlog"
)

// Example appends entries, then reopens the log and replays them to
// rebuild a total.
func Example() {
	dir, err := os.MkdirTemp("", "jsonlog-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "points.jsonl")

	type entry struct {
		Points int `json:"points"`
	}
	l, _, err := jsonlog.Open(path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range []int{10, 5} {
		if err := l.Append(entry{Points: p}); err != nil {
			fmt.Println(err)
		}
	}
	if err := l.Close(); err != nil {
		fmt.Println(err)
	}

	total := 0
	l, dropped, err := jsonlog.Open(path, func(line []byte) error {
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		total += e.Points
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	fmt.Println("total:", total, "dropped:", dropped)
	// Output: total: 15 dropped: 0
}
