package seed

import "errors"

// Decode errors. Each maps to one drop reason (see [Reason]). They are plain
// sentinels, never wrapped here, so refusing a hostile datagram allocates
// nothing.
var (
	ErrShort       = errors.New("seed: truncated datagram")
	ErrTooLarge    = errors.New("seed: datagram larger than MaxDatagram")
	ErrBadBencode  = errors.New("seed: malformed bencode")
	ErrLimit       = errors.New("seed: length, count or depth over its maximum")
	ErrBadMessage  = errors.New("seed: malformed message")
	ErrBadAddress  = errors.New("seed: address not an IPv4 dotted quad with a port")
	ErrUnknownType = errors.New("seed: unknown message type")
)

// Reason maps an error from [Decode] or [Append] to a short snake_case drop
// reason, usable as a metrics label: one of [Reasons]. Errors of other
// origins map to "bad_message", so the label set stays bounded; nil maps
// to "".
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrShort):
		return "short"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrBadBencode):
		return "bad_bencode"
	case errors.Is(err, ErrLimit):
		return "limit"
	case errors.Is(err, ErrBadAddress):
		return "bad_address"
	case errors.Is(err, ErrUnknownType):
		return "unknown_type"
	}
	return "bad_message"
}

// Reasons lists every value [Reason] returns for a non-nil error, so metrics
// can create their labels up front. The slice is new on each call.
func Reasons() []string {
	return []string{"short", "too_large", "bad_bencode", "limit", "bad_message", "bad_address", "unknown_type"}
}
