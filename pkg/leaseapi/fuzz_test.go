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

package leaseapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nebula-io/nebula-resource/internal/leaseapitest"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// serverCodes are the only reasons a 5xx may answer a request: the pool,
// not the request, is the problem.
var serverCodes = map[leaseapi.Code]bool{
	leaseapi.CodePoolExhausted: true, leaseapi.CodePoolUnavailable: true,
}

// FuzzRequest sends arbitrary methods, paths, Authorization headers and
// bodies through the router, authentication and decoding: nothing panics,
// no client mistake is answered with a 5xx, every error is the JSON
// envelope with a known code, and a token never comes back.
func FuzzRequest(f *testing.F) {
	env := leaseapitest.New(f, leaseapitest.Options{Capacity: 1000, AcquireTimeout: time.Millisecond})
	good := "Bearer " + env.Token
	base := "/v1/bindings/team/app/leases"
	for _, s := range []struct{ method, path, auth, body string }{
		{"POST", base, good, `{"duration":"1m","wait":"0s"}`},
		{"POST", base, good, `{"duration":"1m","requestId":"r-1","holder":"me"}`},
		{"POST", base, good, `{"duration":5}`},
		{"POST", base, good, `{` + strings.Repeat(`"a":1,`, 100) + `}`},
		{"POST", base, "Bearer wrong", `{}`},
		{"POST", base, "", ``},
		{"GET", base, good, ``},
		{"GET", base + "/0123456789abcdef0123456789abcdef", good, ``},
		{"DELETE", base + "/0123456789abcdef0123456789abcdef", good, ``},
		{"POST", base + "/0123456789abcdef0123456789abcdef/renew", good, `{"duration":"1h"}`},
		{"GET", "/v1/bindings/team/app/acquires/r-1", good, ``},
		{"GET", "/v1/bindings/team/app/pool", good, ``},
		{"GET", "/v1/healthz", "", ``},
		{"PATCH", "/v1/bindings/../../etc/leases", good, `null`},
		{"POST", "/v1/bindings/team/app/leases/%zz/renew", "bearer " + env.Token, "\x00\xff"},
	} {
		f.Add(s.method, s.path, s.auth, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, auth string, body []byte) {
		if !validMethod(method) {
			return // net/http refuses these before any handler runs
		}
		req := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(string(body)))
		req.Method = method
		req.URL.Path = path
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		env.Handler.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			var eb leaseapi.ErrorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &eb)
			if !serverCodes[eb.Error.Code] {
				t.Fatalf("%s %q answered %d: %s", method, path, rec.Code, rec.Body.String())
			}
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %q answered %d without JSON", method, path, rec.Code)
		}
		if rec.Code >= 400 {
			var eb leaseapi.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("%s %q answered %d with a malformed error: %s", method, path, rec.Code, rec.Body.String())
			}
		}
		if strings.Contains(rec.Body.String(), env.Token) {
			t.Fatalf("the token was echoed: %s", rec.Body.String())
		}
		// Leases the fuzzer took are released so that the pool does not fill up.
		if rec.Code == http.StatusCreated {
			var l leaseapi.Lease
			if json.Unmarshal(rec.Body.Bytes(), &l) == nil {
				r := httptest.NewRequest(http.MethodDelete, "/v1/bindings/team/app/leases/"+l.ID, nil)
				r.Header.Set("Authorization", good)
				env.Handler.Handler().ServeHTTP(httptest.NewRecorder(), r)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// FuzzAcquireBody decodes arbitrary acquire bodies, including huge ones:
// the answer is 201, or a 4xx naming the problem; never a 5xx.
func FuzzAcquireBody(f *testing.F) {
	env := leaseapitest.New(f, leaseapitest.Options{Capacity: 1000, AcquireTimeout: time.Millisecond})
	for _, s := range []string{`{}`, `{"duration":"1m"}`, `{"wait":"1s"}`, `{"duration":"1m","wait":"-1s"}`,
		`{"holder":"` + strings.Repeat("x", 300) + `"}`, `[1,2]`, `"x"`, `{"requestId":"` + strings.Repeat("a", 65) + `"}`,
		`{"duration":"1m"}{"duration":"2m"}`, `{"duration":"9999999h"}`, `{"duration":"1e400s"}`} {
		f.Add([]byte(s), 0)
	}
	f.Add([]byte(`{"holder":"`), leaseapi.MaxBodyBytes+10)
	f.Fuzz(func(t *testing.T, body []byte, pad int) {
		if pad > 0 {
			pad = min(pad, 4*leaseapi.MaxBodyBytes)
			body = append(body, strings.Repeat(" ", pad)...)
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/bindings/team/app/leases", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+env.Token)
		rec := httptest.NewRecorder()
		env.Handler.Handler().ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
			var l leaseapi.Lease
			if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || l.ID == "" {
				t.Fatalf("201 without a lease: %s", rec.Body.String())
			}
			r := httptest.NewRequest(http.MethodDelete, "/v1/bindings/team/app/leases/"+l.ID, nil)
			r.Header.Set("Authorization", "Bearer "+env.Token)
			env.Handler.Handler().ServeHTTP(httptest.NewRecorder(), r)
		case rec.Code == http.StatusBadRequest || rec.Code == http.StatusRequestEntityTooLarge:
		case rec.Code == http.StatusServiceUnavailable && strings.Contains(rec.Body.String(), "PoolExhausted"):
		default:
			t.Fatalf("body %.100q answered %d: %s", body, rec.Code, rec.Body.String())
		}
		if len(body) > leaseapi.MaxBodyBytes+64 && rec.Code == http.StatusCreated {
			t.Fatalf("a %d byte body was accepted", len(body))
		}
	})
}
