package proto

import "errors"

// Decode errors. Each maps to one drop reason (see [Reason]). They are plain
// sentinels, never wrapped here, so rejecting a hostile datagram allocates
// nothing.
var (
	ErrShort      = errors.New("proto: truncated datagram")
	ErrBadMagic   = errors.New("proto: bad magic")
	ErrBadVersion = errors.New("proto: unsupported version")
	ErrBadAddress = errors.New("proto: bad address")
	ErrTooLarge   = errors.New("proto: datagram larger than MaxDatagram")
	ErrBadBody    = errors.New("proto: malformed body")
	ErrLimit      = errors.New("proto: length or count over its maximum")
)

// Reason maps an error from this package to a short snake_case drop reason,
// usable as a metrics label: one of [Reasons]. Errors of other origins map to
// "bad_body", so the label set stays bounded; nil maps to "".
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrShort):
		return "short"
	case errors.Is(err, ErrBadMagic):
		return "bad_magic"
	case errors.Is(err, ErrBadVersion):
		return "bad_version"
	case errors.Is(err, ErrBadAddress):
		return "bad_address"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrLimit):
		return "limit"
	}
	return "bad_body"
}

// Reasons lists every value [Reason] returns for a non-nil error, so metrics
// can create their labels up front. The slice is new on each call.
func Reasons() []string {
	return []string{"short", "bad_magic", "bad_version", "bad_address", "too_large", "bad_body", "limit"}
}
