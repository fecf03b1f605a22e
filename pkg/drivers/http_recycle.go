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
	"fmt"
	"io"
	"net/http"
	"strconv"
)

var _ Recycler = (*HTTP)(nil)

// Recycle implements Recycler: a POST to the action's path on the member's
// scheme, host and port (the member URL's own path is for health checks),
// with the member's authentication and the slot number in X-Nebula-Slot.
// Any status but 2xx fails; redirects are not followed.
func (d *HTTP) Recycle(ctx context.Context, m Member, c Credentials, slot int, a RecycleAction) error {
	return recycleIn(ctx, d.Name(), m, c, slot, d.target, func(ctx context.Context, t httpTarget, password string) error {
		if a.HTTPPath == "" {
			return fmt.Errorf("%w: http needs a reset path", ErrNotRecyclable)
		}
		u := t.url
		u.Path, u.RawQuery = a.HTTPPath, ""
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "nebula-resource-recycle/1")
		req.Header.Set("X-Nebula-Slot", strconv.Itoa(slot))
		switch t.auth {
		case "basic":
			req.SetBasicAuth(c.Username, password)
		case "bearer":
			req.Header.Set("Authorization", "Bearer "+password)
		}
		transport := &http.Transport{
			DialContext: probeDialer.DialContext, TLSClientConfig: clientTLS(t.Host, t.skipVerify),
			TLSHandshakeTimeout: recycleTimeout(ctx), DisableKeepAlives: true, ForceAttemptHTTP2: true,
		}
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			return unwrapURLError(err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("POST %s answered %s, want 2xx", u.Redacted(), resp.Status)
		}
		return nil
	})
}
