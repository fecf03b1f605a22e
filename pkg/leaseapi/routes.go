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
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// The routes are http.ServeMux method+path patterns. The mux matches the
// escaped path segment by segment, so a "%2F" inside a segment stays in
// that segment's value (and fails the name's validation) instead of
// splitting it: "/v1/bindings/team%2Fapp/leases" is no route, never binding
// team/app.
const (
	healthPath  = "/v1/healthz"
	bindingPath = "/v1/bindings/{namespace}/{name}"
)

// bindingHandler serves a route of an authenticated binding.
type bindingHandler func(w http.ResponseWriter, r *http.Request, b *Binding)

// routes builds the handler: health on its own, the business routes behind
// the body deadline and the optional middleware, JSON 404/405 answers
// with stable codes for everything else.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.route(mux, healthPath, []string{http.MethodGet, http.MethodHead}, map[string]http.Handler{
		http.MethodGet: http.HandlerFunc(s.health),
	})
	s.bindingRoute(mux, bindingPath+"/leases", nil, map[string]bindingHandler{
		http.MethodGet: s.listLeases, http.MethodPost: s.acquireLease,
	})
	s.bindingRoute(mux, bindingPath+"/leases/{id}", validLeaseID, map[string]bindingHandler{
		http.MethodGet: s.getLease, http.MethodDelete: s.releaseLease,
	})
	s.bindingRoute(mux, bindingPath+"/leases/{id}/renew", validLeaseID, map[string]bindingHandler{
		http.MethodPost: s.renewLease,
	})
	s.bindingRoute(mux, bindingPath+"/acquires/{id}", validAcquireID, map[string]bindingHandler{
		http.MethodGet: s.acquireStatus,
	})
	s.bindingRoute(mux, bindingPath+"/pool", nil, map[string]bindingHandler{
		http.MethodGet: s.poolStatus,
	})
	mux.HandleFunc("/", notFound)
	return s.recoverPanics(canonicalPathsOnly(mux))
}

// methodOrder is the order of methods in Allow headers and messages.
var methodOrder = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete}

// route registers handlers by method under pattern, and a 405 with Allow
// for every other method. A GET pattern also matches HEAD: allowed says
// whether HEAD is served.
func (s *Server) route(mux *http.ServeMux, pattern string, allowed []string, handlers map[string]http.Handler) {
	refuse := methodNotAllowed(allowed)
	for _, m := range methodOrder {
		h, ok := handlers[m]
		if !ok {
			continue
		}
		mux.Handle(m+" "+pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !slices.Contains(allowed, r.Method) {
				refuse(w, r)
				return
			}
			h.ServeHTTP(w, r)
		}))
	}
	mux.HandleFunc(pattern, refuse)
}

// bindingRoute registers a business route: body deadline, then the
// middleware, then the checks every binding route makes (service present,
// valid namespace/name, token, id), then h.
func (s *Server) bindingRoute(mux *http.ServeMux, pattern string, checkID func(string) *Error, handlers map[string]bindingHandler) {
	var allowed []string
	wrapped := map[string]http.Handler{}
	for _, m := range methodOrder {
		h, ok := handlers[m]
		if !ok {
			continue
		}
		allowed = append(allowed, m)
		var next http.Handler = s.binding(checkID, h)
		if s.opts.Middleware != nil {
			next = s.opts.Middleware(next)
		}
		wrapped[m] = bodyDeadline(s.opts.ReadTimeout, next)
	}
	s.route(mux, pattern, allowed, wrapped)
}

func (s *Server) binding(checkID func(string) *Error, h bindingHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.svc == nil {
			writeError(w, apiErr(503, CodeNotLeader, "this lease API serves health only").retry(5*time.Second))
			return
		}
		namespace, name := r.PathValue("namespace"), r.PathValue("name")
		if !dnsLabel(namespace) || !dnsSubdomain(name) {
			writeError(w, apiErr(400, CodeBadRequest, "the path must name a binding as /v1/bindings/{namespace}/{name}/...; %q/%q is not a valid namespace/name",
				truncate(namespace, 70), truncate(name, 260)))
			return
		}
		b, e := s.authenticate(r, namespace, name)
		if e != nil {
			writeError(w, e)
			return
		}
		if checkID != nil {
			if e := checkID(r.PathValue("id")); e != nil {
				writeError(w, e)
				return
			}
		}
		h(w, r, b)
	})
}

func validLeaseID(id string) *Error {
	if !validID(id) {
		return apiErr(400, CodeBadRequest, "%q is not a lease id (32 lower-case hex digits)", truncate(id, 80))
	}
	return nil
}

func validAcquireID(id string) *Error {
	if !validRequestID(id) {
		return apiErr(400, CodeBadRequest, "%q is not a request id (1-64 of A-Z a-z 0-9 . _ -)", truncate(id, 80))
	}
	return nil
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, apiErr(404, CodeNotFound, "no route for %s %s; the lease API lives under /v1/bindings/{namespace}/{name}/leases",
		truncate(r.Method, 20), truncate(r.URL.Path, 200)))
}

func methodNotAllowed(allowed []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, apiErr(405, CodeMethodNotAllowed, "%s is not allowed here; use %s", truncate(r.Method, 20), strings.Join(allowed, " or ")))
	}
}

// canonicalPathsOnly answers 404 for a path with "//", "." or ".."
// segments, where http.ServeMux would redirect to the cleaned path: no
// binding is reached through another's path.
func canonicalPathsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if p == "" || p[0] != '/' || (p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/")) {
			notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error(fmt.Errorf("panic: %v", p), "lease API handler panicked", "method", r.Method, "path", r.URL.Path)
				writeError(w, apiErr(500, CodeInternal, "the lease API failed on this request; this is a bug"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	h := Health{Status: "ok"}
	if s.svc != nil {
		h.Leader, h.Ready = s.svc.Leader(), s.svc.Ready()
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) acquireLease(w http.ResponseWriter, r *http.Request, b *Binding) {
	var req AcquireRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	p, e := parseAcquire(req)
	if e != nil {
		writeError(w, e)
		return
	}
	if b.Forbidden != "" {
		writeError(w, apiErr(403, CodeForbidden, "binding %s may not lease from its pool: %s", b.Key(), b.Forbidden))
		return
	}
	l, e := s.svc.acquire(r.Context(), b, p)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusCreated, l)
}

func (s *Server) listLeases(w http.ResponseWriter, r *http.Request, b *Binding) {
	writeJSON(w, http.StatusOK, s.svc.list(r.Context(), b))
}

func (s *Server) getLease(w http.ResponseWriter, r *http.Request, b *Binding) {
	l, e := s.svc.get(r.Context(), b, r.PathValue("id"))
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) releaseLease(w http.ResponseWriter, r *http.Request, b *Binding) {
	id := r.PathValue("id")
	if e := s.svc.release(r.Context(), b, id); e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, ReleaseResponse{ID: id, Released: true})
}

func (s *Server) renewLease(w http.ResponseWriter, r *http.Request, b *Binding) {
	var req RenewRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	d, e := parseDuration("duration", req.Duration, time.Second)
	if e != nil {
		writeError(w, e)
		return
	}
	l, e := s.svc.renew(r.Context(), b, r.PathValue("id"), d)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) acquireStatus(w http.ResponseWriter, r *http.Request, b *Binding) {
	st, e := s.svc.acquireStatus(b, r.PathValue("id"))
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) poolStatus(w http.ResponseWriter, r *http.Request, b *Binding) {
	st, e := s.svc.poolStatus(r.Context(), b)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
