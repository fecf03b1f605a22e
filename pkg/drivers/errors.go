/*
Copyright 2026 The nebula-resource Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package drivers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// Reason is a stable, CamelCase classification of a failed check. It is meant
// to be copied verbatim into Kubernetes condition reasons and member status.
type Reason string

const (
	// ReasonAuthenticationFailed: the backend rejected the credentials
	// (wrong password, unknown user, HTTP 401/403, Redis WRONGPASS/NOAUTH/NOPERM).
	ReasonAuthenticationFailed Reason = "AuthenticationFailed"
	// ReasonConnectionRefused: nothing accepts connections at the address.
	ReasonConnectionRefused Reason = "ConnectionRefused"
	// ReasonTimeout: the deadline passed before the backend answered.
	ReasonTimeout Reason = "Timeout"
	// ReasonDNSFailure: the member's host name could not be resolved.
	ReasonDNSFailure Reason = "DNSFailure"
	// ReasonTLSError: the TLS handshake or certificate verification failed.
	ReasonTLSError Reason = "TLSError"
	// ReasonUnexpectedStatus: an HTTP member answered with a status other than 2xx/3xx (and not 401/403).
	ReasonUnexpectedStatus Reason = "UnexpectedStatus"
	// ReasonProtocolError: the peer answered but not in the expected protocol,
	// or closed the connection mid-conversation.
	ReasonProtocolError Reason = "ProtocolError"
	// ReasonServerUnavailable: the backend answered but refuses work for now
	// (too many connections, starting up or shutting down, loading its dataset).
	ReasonServerUnavailable Reason = "ServerUnavailable"
	// ReasonInvalidConfiguration: the member's address or attributes are
	// invalid, or name something the backend does not have (e.g. a database).
	ReasonInvalidConfiguration Reason = "InvalidConfiguration"
	// ReasonUnknown: anything else; the message carries the detail.
	ReasonUnknown Reason = "Unknown"
)

// Reasons lists every reason a check can report, in a stable order.
func Reasons() []Reason {
	return []Reason{
		ReasonAuthenticationFailed, ReasonConnectionRefused, ReasonTimeout,
		ReasonDNSFailure, ReasonTLSError, ReasonUnexpectedStatus, ReasonProtocolError,
		ReasonServerUnavailable, ReasonInvalidConfiguration, ReasonUnknown,
	}
}

// Retryable reports whether retrying the same check with the same
// credentials and configuration may succeed without anyone changing anything.
func (r Reason) Retryable() bool {
	switch r {
	case ReasonAuthenticationFailed, ReasonInvalidConfiguration, ReasonTLSError:
		return false
	default:
		return true
	}
}

// ErrInvalidMember is wrapped by every error about a member's address or
// attributes (from Check, as the cause of a CheckError, and from Describe).
var ErrInvalidMember = errors.New("invalid member")

// maxMessageLen bounds CheckError.Message so it fits comfortably in a
// Kubernetes condition message and a status field.
const maxMessageLen = 1024

// CheckError is returned by Driver.Check. Reason is stable and machine
// readable; Message is human readable and sanitized: it never contains the
// password the check was made with. Error() is built only from sanitized
// fields. The original cause is kept for errors.Is / errors.As (for example
// errors.Is(err, syscall.ECONNREFUSED) or errors.As(err, **pgconn.PgError));
// do not print the cause itself where secrets must not appear.
type CheckError struct {
	Driver  string // driver name, e.g. "postgres"
	Member  string // member name
	Address string // member address (never carries a password: see ErrInvalidMember)
	Reason  Reason
	Message string
	Err     error // the cause, unsanitized
}

func (e *CheckError) Error() string {
	var b strings.Builder
	b.WriteString(e.Driver)
	b.WriteString(" check")
	if e.Member != "" {
		fmt.Fprintf(&b, " of member %q", e.Member)
	}
	if e.Address != "" {
		fmt.Fprintf(&b, " at %s", e.Address)
	}
	fmt.Fprintf(&b, " failed (%s): %s", e.Reason, e.Message)
	return b.String()
}

// Unwrap returns the cause.
func (e *CheckError) Unwrap() error { return e.Err }

// Retryable reports whether the same check may succeed later unchanged.
func (e *CheckError) Retryable() bool { return e.Reason.Retryable() }

// ReasonOf returns the Reason of a *CheckError anywhere in err's chain,
// ReasonUnknown for other non-nil errors and "" for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ReasonUnknown
}

// statusError is the cause of an UnexpectedStatus / AuthenticationFailed
// result of the http driver.
type statusError struct {
	Code   int
	Status string
}

func (e *statusError) Error() string { return "HTTP " + e.Status }

// protocolError marks a peer that answered something we did not expect.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func errProtocol(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// newCheckError classifies cause and builds a sanitized CheckError.
// secrets are values that must never appear in the message.
func newCheckError(driver string, m Member, address string, cause error, elapsed time.Duration, secrets ...string) *CheckError {
	reason := classify(cause)
	detail := sanitize(cause.Error(), secrets...)
	// "invalid member: tcp: ..." -> "...": the lead and Error() say both.
	detail = strings.TrimPrefix(detail, ErrInvalidMember.Error()+": ")
	detail = strings.TrimPrefix(detail, driver+": ")
	var lead string
	switch reason {
	case ReasonAuthenticationFailed:
		lead = "the server rejected the credentials"
	case ReasonConnectionRefused:
		lead = "connection refused (is the server running and listening on " + address + "?)"
	case ReasonTimeout:
		lead = fmt.Sprintf("no answer from %s within %s", address, elapsed.Round(time.Millisecond))
	case ReasonDNSFailure:
		lead = "cannot resolve the host name"
	case ReasonTLSError:
		lead = "TLS handshake or certificate verification failed"
	case ReasonUnexpectedStatus:
		lead = "unexpected HTTP status (want 2xx or 3xx)"
	case ReasonProtocolError:
		lead = "the server did not answer as expected"
	case ReasonServerUnavailable:
		lead = "the server is not accepting work right now"
	case ReasonInvalidConfiguration:
		lead = "invalid member configuration"
	default:
		lead = "check failed"
		if errors.Is(cause, context.Canceled) {
			lead = "the check was canceled before it finished"
		}
	}
	msg := lead
	if detail != "" {
		msg += ": " + detail
	}
	if len(msg) > maxMessageLen {
		msg = truncateUTF8(msg, maxMessageLen-3) + "..."
	}
	return &CheckError{
		Driver:  driver,
		Member:  m.Name,
		Address: sanitize(address, secrets...),
		Reason:  reason,
		Message: msg,
		Err:     cause,
	}
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // don't cut a rune in half
		n--
	}
	return s[:n]
}

var (
	urlUserinfoRE = regexp.MustCompile(`(://[^:/@\s]*):[^@\s]*@`)
	kvPasswordRE  = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	spaceRE       = regexp.MustCompile(`\s+`)
)

// sanitize removes secrets from s: every occurrence of each secret (raw and
// URL-escaped), passwords in URL userinfo and password=... pairs of key/value
// connection strings. Whitespace runs are collapsed.
func sanitize(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), url.UserPassword("", sec).String()[1:]} {
			if form != "" && form != ":" {
				s = strings.ReplaceAll(s, form, Redacted)
			}
		}
	}
	s = urlUserinfoRE.ReplaceAllString(s, "${1}:xxxxx@")
	s = kvPasswordRE.ReplaceAllString(s, "${1}"+Redacted)
	s = strings.ReplaceAll(s, ": %!w(<nil>)", "") // net/http quirk
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

// classify maps an error from a driver library or the network to a Reason.
func classify(err error) Reason {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrInvalidMember) {
		return ReasonInvalidConfiguration
	}

	// Answers from the server come first: they are the most specific.
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "28P01", pgErr.Code == "28000": // invalid_password, invalid_authorization_specification
			return ReasonAuthenticationFailed
		case pgErr.Code == "3D000": // invalid_catalog_name: the database does not exist
			return ReasonInvalidConfiguration
		case pgErr.Code == "57P03", strings.HasPrefix(pgErr.Code, "53"), pgErr.Code == "57P01":
			// cannot_connect_now, insufficient resources (too_many_connections), admin_shutdown
			return ReasonServerUnavailable
		default:
			return ReasonUnknown
		}
	}
	var rErr redis.Error
	if errors.As(err, &rErr) {
		s := strings.TrimPrefix(rErr.Error(), "ERR ")
		switch {
		case redis.IsAuthError(err), redis.IsPermissionError(err),
			strings.HasPrefix(s, "WRONGPASS"), strings.HasPrefix(s, "NOAUTH"), strings.HasPrefix(s, "NOPERM"),
			strings.Contains(s, "invalid password"), strings.Contains(s, "called without any password configured"),
			strings.Contains(s, "invalid username-password"):
			return ReasonAuthenticationFailed
		case redis.IsLoadingError(err), redis.IsMaxClientsError(err), redis.IsTryAgainError(err),
			redis.IsMasterDownError(err), strings.HasPrefix(s, "BUSY"):
			return ReasonServerUnavailable
		}
		// Another server error: fall through to the generic rules.
	}
	var se *statusError
	if errors.As(err, &se) {
		if se.Code == 401 || se.Code == 403 {
			return ReasonAuthenticationFailed
		}
		return ReasonUnexpectedStatus
	}

	if isTLSError(err) {
		return ReasonTLSError
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ReasonDNSFailure
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ReasonConnectionRefused
	}
	if isTimeout(err) {
		return ReasonTimeout
	}
	var pe *protocolError
	if errors.As(err, &pe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return ReasonProtocolError
	}
	msg := err.Error()
	for _, s := range []string{"malformed HTTP", "unexpected message", "can't parse", "invalid response", "unexpected EOF", "unexpected response",
		"readLoopPeekFailLocked", "unsolicited response", "server closed"} {
		if strings.Contains(msg, s) {
			return ReasonProtocolError
		}
	}
	return ReasonUnknown
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLSError(err error) bool {
	var (
		cve  *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
		ae   tls.AlertError
		ech  *tls.ECHRejectionError
		uae2 *x509.UnknownAuthorityError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &uae2), errors.As(err, &he),
		errors.As(err, &cie), errors.As(err, &rhe), errors.As(err, &ae), errors.As(err, &ech):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "tls: ") || strings.Contains(msg, "x509: ") || strings.Contains(msg, "server refused TLS")
}
