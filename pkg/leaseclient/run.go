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

package leaseclient

import (
	"context"
	"errors"
	"fmt"
)

// Run acquires a lease with o, calls fn while it is held and releases it
// when fn returns. The lease renews itself meanwhile (o.NoAutoRenew is
// ignored); fn's context is canceled if the lease is lost, and Run then
// returns the loss (wrapping fn's error, if any). The release's own error is
// returned only when fn succeeded.
func (c *Client) Run(ctx context.Context, o AcquireOptions, fn func(ctx context.Context, l *Lease) error) error {
	o.NoAutoRenew = false
	l, err := c.Acquire(ctx, o)
	if err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.Lost():
			cancel()
		case <-fctx.Done():
		}
	}()
	ferr := fn(fctx, l)
	rerr := l.Close()
	if lost := l.Err(); lost != nil {
		return errors.Join(lost, ferr)
	}
	if ferr != nil {
		return ferr
	}
	if rerr != nil {
		return fmt.Errorf("leaseclient: failed to release lease %s: %w", l.ID, rerr)
	}
	return nil
}
