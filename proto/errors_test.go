package proto

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
)

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                "",
		ErrShort:                           "short",
		ErrBadMagic:                        "bad_magic",
		ErrBadVersion:                      "bad_version",
		ErrBadAddress:                      "bad_address",
		ErrTooLarge:                        "too_large",
		ErrBadBody:                         "bad_body",
		ErrLimit:                           "limit",
		fmt.Errorf("core: %w", ErrLimit):   "limit",
		io.ErrUnexpectedEOF:                "bad_body",
		errors.New("something else"):       "bad_body",
		fmt.Errorf("x: %w", ErrBadMagic):   "bad_magic",
		errors.Join(io.EOF, ErrBadAddress): "bad_address",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestReasonsComplete(t *testing.T) {
	got := Reasons()
	want := []string{"short", "bad_magic", "bad_version", "bad_address", "too_large", "bad_body", "limit"}
	if !slices.Equal(got, want) {
		t.Fatalf("Reasons() = %v, want %v", got, want)
	}
	for _, err := range []error{ErrShort, ErrBadMagic, ErrBadVersion, ErrBadAddress, ErrTooLarge, ErrBadBody, ErrLimit} {
		if !slices.Contains(got, Reason(err)) {
			t.Errorf("Reason(%v) = %q, not in Reasons()", err, Reason(err))
		}
	}
	got[0] = "changed"
	if Reasons()[0] != "short" {
		t.Error("Reasons shares its slice")
	}
}
