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
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// bodyDeadline gives a request's body timeout to read in full, counted
// from the end of its headers: a body sent at a byte a second, one
// declared but never sent, or a chunked one never terminated, is cut then
// (decodeBody answers 408 and the server closes the connection). Once the
// body has arrived the deadline is lifted: net/http then watches the
// connection for the client going away, and a deadline left in place
// would cancel a long-poll acquire that waits for a slot longer than it.
// Not a server-wide ReadTimeout/WriteTimeout for the same reason.
func bodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			// Not supported only off a real connection (httptest recorders).
			// Real time, not the Service's clock: the kernel keeps this deadline.
			if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the connection's read deadline at the end of the body.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func bodyTimedOut() *Error {
	return apiErr(408, CodeRequestTimeout, "the request body did not arrive in time; send it whole right after the headers").retry(time.Second)
}
