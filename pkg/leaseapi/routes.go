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

// bindingHandler serves a route of an authenticated binding. An error is
// answered by writeError.
type bindingHandler func(w http.ResponseWriter, r *http.Request, b *Binding) error

// routes builds the handler: one handler per method and route, a 405 with
// Allow for the route's other methods, a JSON 404 for everything else.
// Health stands on its own; the business routes run behind the body
// deadline and the optional middleware.
func (s *Server) routes() http.Handler {
	const get, head, post, del = http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete
	mux := http.NewServeMux()
	mux.HandleFunc(get+" "+healthPath, s.health)
	refuseOtherMethods(mux, healthPath, get, head)

	leases := bindingPath + "/leases"
	mux.Handle(get+" "+leases, s.bindingRoute(nil, s.listLeases))
	mux.Handle(post+" "+leases, s.bindingRoute(nil, s.acquireLease))
	refuseOtherMethods(mux, leases, get, post)

	lease := bindingPath + "/leases/{id}"
	mux.Handle(get+" "+lease, s.bindingRoute(validLeaseID, s.getLease))
	mux.Handle(del+" "+lease, s.bindingRoute(validLeaseID, s.releaseLease))
	refuseOtherMethods(mux, lease, get, del)

	renew := bindingPath + "/leases/{id}/renew"
	mux.Handle(post+" "+renew, s.bindingRoute(validLeaseID, s.renewLease))
	refuseOtherMethods(mux, renew, post)

	acquire := bindingPath + "/acquires/{id}"
	mux.Handle(get+" "+acquire, s.bindingRoute(validAcquireID, s.acquireStatus))
	refuseOtherMethods(mux, acquire, get)

	pool := bindingPath + "/pool"
	mux.Handle(get+" "+pool, s.bindingRoute(nil, s.poolStatus))
	refuseOtherMethods(mux, pool, get)

	mux.HandleFunc("/", notFound)
	h := s.recoverPanics(canonicalPathsOnly(mux))
	if s.svc != nil {
		h = s.svc.metrics.instrument(h)
	}
	return h
}

// refuseOtherMethods answers 405 with Allow for every method of path but
// allowed: a pattern without a method loses to the ones with, and a GET
// pattern also serves HEAD unless HEAD has a pattern of its own.
func refuseOtherMethods(mux *http.ServeMux, path string, allowed ...string) {
	refuse := methodNotAllowed(allowed)
	mux.HandleFunc(path, refuse)
	if slices.Contains(allowed, http.MethodGet) && !slices.Contains(allowed, http.MethodHead) {
		mux.HandleFunc(http.MethodHead+" "+path, refuse)
	}
}

// bindingRoute wraps a business route: body deadline, then the middleware,
// then the checks every binding route makes (service present, valid
// namespace/name, token, id), then h.
func (s *Server) bindingRoute(checkID func(string) error, h bindingHandler) http.Handler {
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.serveBinding(w, r, checkID, h); err != nil {
			writeError(w, err)
		}
	})
	if s.opts.Middleware != nil {
		next = s.opts.Middleware(next)
	}
	return bodyDeadline(s.opts.ReadTimeout, next)
}

func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, checkID func(string) error, h bindingHandler) error {
	if s.svc == nil {
		return apiErr(503, CodeNotLeader, "this lease API serves health only").retry(5 * time.Second)
	}
	namespace, name := r.PathValue("namespace"), r.PathValue("name")
	if !dnsLabel(namespace) || !dnsSubdomain(name) {
		return apiErr(400, CodeBadRequest, "the path must name a binding as /v1/bindings/{namespace}/{name}/...; %q/%q is not a valid namespace/name",
			truncate(namespace, 70), truncate(name, 260))
	}
	b, err := s.authenticate(r, namespace, name)
	if err != nil {
		return err
	}
	if checkID != nil {
		if err := checkID(r.PathValue("id")); err != nil {
			return err
		}
	}
	return h(w, r, b)
}

func validLeaseID(id string) error {
	if !validID(id) {
		return apiErr(400, CodeBadRequest, "%q is not a lease id (32 lower-case hex digits)", truncate(id, 80))
	}
	return nil
}

func validAcquireID(id string) error {
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

func (s *Server) acquireLease(w http.ResponseWriter, r *http.Request, b *Binding) error {
	var req AcquireRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	p, err := parseAcquire(req)
	if err != nil {
		return err
	}
	if b.Forbidden != "" {
		return apiErr(403, CodeForbidden, "binding %s may not lease from its pool: %s", b.Key(), b.Forbidden)
	}
	l, err := s.svc.acquire(r.Context(), b, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (s *Server) listLeases(w http.ResponseWriter, r *http.Request, b *Binding) error {
	writeJSON(w, http.StatusOK, s.svc.list(r.Context(), b))
	return nil
}

func (s *Server) getLease(w http.ResponseWriter, r *http.Request, b *Binding) error {
	l, err := s.svc.get(r.Context(), b, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) releaseLease(w http.ResponseWriter, r *http.Request, b *Binding) error {
	id := r.PathValue("id")
	if err := s.svc.release(r.Context(), b, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ReleaseResponse{ID: id, Released: true})
	return nil
}

func (s *Server) renewLease(w http.ResponseWriter, r *http.Request, b *Binding) error {
	var req RenewRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	d, err := parseDuration("duration", req.Duration, time.Second)
	if err != nil {
		return err
	}
	l, err := s.svc.renew(r.Context(), b, r.PathValue("id"), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) acquireStatus(w http.ResponseWriter, r *http.Request, b *Binding) error {
	st, err := s.svc.acquireStatus(b, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) poolStatus(w http.ResponseWriter, r *http.Request, b *Binding) error {
	st, err := s.svc.poolStatus(r.Context(), b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
