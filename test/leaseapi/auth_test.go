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
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

var _ = Describe("Lease API authentication", func() {
	// The binding lookup reads the manager's cache (binding, pool, Secret);
	// an unknown binding must be turned down with the same answer, and
	// with the same reads, as a wrong token, or the API tells which
	// bindings exist.
	It("turns down an unknown binding exactly like a wrong token, and reports what each costs", func() {
		ctx := context.Background()
		ns := newNamespace(ctx)
		addr, _ := tcpMember()
		members := make([]string, 100) // a pool's copy grows with its members
		members[0] = addr
		for i := 1; i < len(members); i++ {
			// Distinct backends (the schema refuses one written twice);
			// only the first is reachable, which the auth path never asks.
			members[i] = fmt.Sprintf("m%d.nebula.invalid:5432", i)
		}
		createPool(ctx, ns, "db", poolOpts{members: members})
		handler := leaseapi.NewServer("", nil, logr.Discard(), svc).Handler()
		serve := func(name, token string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, leasesPath(ns, name), strings.NewReader(`{"duration":"1m"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			return rec
		}
		const wrong = "not-the-token-0123456789abcdef0123456789abcdef"
		unknown := serve("app", wrong)
		token := createBinding(ctx, ns, "app", "", "db", 0)
		// Once the Secret is in the cache, the right token gets through.
		Eventually(func() int { return serve("app", token).Code }, 20*time.Second).ShouldNot(Equal(http.StatusUnauthorized))
		wrongToken := serve("app", wrong)
		Expect(unknown.Code).To(Equal(http.StatusUnauthorized))
		Expect(wrongToken.Code).To(Equal(unknown.Code))
		Expect(wrongToken.Body.String()).To(Equal(unknown.Body.String()))
		Expect(wrongToken.Header()).To(Equal(unknown.Header()))

		// The cost of each, side by side (no assertion: a shared machine).
		const rounds = 3000
		var known, ghost []time.Duration
		for range rounds {
			start := time.Now()
			serve("app", wrong)
			known = append(known, time.Since(start))
			start = time.Now()
			serve("ghost", wrong)
			ghost = append(ghost, time.Since(start))
		}
		median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
		k, g := median(known), median(ghost)
		figure := fmt.Sprintf("auth cost over %d rounds: wrong token on a known binding %s, unknown binding %s (medians), unknown/wrong %.2f",
			rounds, k, g, float64(g)/float64(k))
		AddReportEntry("auth cost", ReportEntryVisibilityAlways, figure)
		GinkgoWriter.Println(figure)
	})
})
