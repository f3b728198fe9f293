package seed

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                  "",
		ErrShort:                             "short",
		ErrTooLarge:                          "too_large",
		ErrBadBencode:                        "bad_bencode",
		ErrLimit:                             "limit",
		ErrBadMessage:                        "bad_message",
		ErrBadAddress:                        "bad_address",
		ErrUnknownType:                       "unknown_type",
		fmt.Errorf("core: %w", ErrLimit):     "limit",
		errors.New("something else"):         "bad_message",
		fmt.Errorf("x: %w", ErrUnknownType):  "unknown_type",
		errors.Join(ErrWouldDrop, ErrShort):  "short",
		ErrWouldKill:                         "bad_message",
		fmt.Errorf("x: %w", ErrOutOfProfile): "bad_message",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestReasonsComplete(t *testing.T) {
	got := Reasons()
	for _, err := range []error{ErrShort, ErrTooLarge, ErrBadBencode, ErrLimit, ErrBadMessage, ErrBadAddress, ErrUnknownType} {
		if !slices.Contains(got, Reason(err)) {
			t.Errorf("Reason(%v) = %q, not in Reasons()", err, Reason(err))
		}
	}
	if len(got) != 7 {
		t.Errorf("Reasons() = %v", got)
	}
	got[0] = "changed"
	if Reasons()[0] != "short" {
		t.Error("Reasons shares its slice")
	}
}
