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

package leaseapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// decodeBody decodes an optional JSON body strictly (unknown fields and
// trailing data are errors) within MaxBodyBytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return nil // no body: defaults
		case errors.As(err, &tooBig):
			return apiErr(413, CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
		case isTimeout(err):
			return bodyTimedOut()
		}
		return apiErr(400, CodeBadRequest, "the body is not a valid request: %s", truncate(err.Error(), 200))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiErr(413, CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
		}
		if isTimeout(err) {
			return bodyTimedOut()
		}
		return apiErr(400, CodeBadRequest, "the body has data after the JSON object")
	}
	return nil
}

func parseAcquire(req AcquireRequest) (acquireParams, error) {
	var p acquireParams
	var err error
	if p.duration, err = parseDuration("duration", req.Duration, time.Second); err != nil {
		return p, err
	}
	if p.wait, err = parseDuration("wait", req.Wait, 0); err != nil {
		return p, err
	}
	if req.RequestID != "" && !validRequestID(req.RequestID) {
		return p, apiErr(400, CodeBadRequest, "requestId %q must be 1-64 of A-Z a-z 0-9 . _ -", truncate(req.RequestID, 80))
	}
	if len(req.Holder) > 253 || strings.ContainsFunc(req.Holder, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return p, apiErr(400, CodeBadRequest, "holder must be at most 253 printable characters")
	}
	p.reqID, p.holder = req.RequestID, req.Holder
	return p, nil
}

// parseDuration parses an optional Go duration of at least minimum.
func parseDuration(field, v string, minimum time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d < minimum || d > 366*24*time.Hour {
		return 0, apiErr(400, CodeBadRequest, "%s %q must be a Go duration between %s and 8784h (\"30s\", \"5m\")", field, truncate(v, 40), minimum)
	}
	return d, nil
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func dnsLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

func dnsSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if !dnsLabel(part) {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
