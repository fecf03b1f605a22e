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

package bench

import (
	"context"
	"fmt"
	"time"
)

// Pool is the adapter every pool under test implements. Do is one cycle:
// acquire an instance, call fn on the value obtained through the pool's own
// lease/handle API, release it. Each adapter calls its pool directly (no
// further indirection), so every pool pays the same harness overhead: one
// interface call to Do and one indirect call to fn.
type Pool interface {
	Do(ctx context.Context, fn func(*Conn)) error
	// Close shuts the pool down; every instance must have been released.
	Close()
}

// Adapter names a pool and builds one of the given size, pre-warmed: when
// New returns, all size instances exist and are idle.
type Adapter struct {
	// Name is the last path element of every sub-benchmark, as pool=Name.
	Name string
	New  func(f *Factory, size int) (Pool, error)
}

// Adapters lists every pool compared, nebula first (nebula.go prepends it
// unless built with -tags nonebula, which benchmarks the peers alone). The
// names are what cmd/benchtable keys its ratios and targets on.
var Adapters = []Adapter{
	{Name: "mutexslice", New: newMutexSlice},
	{Name: "chan", New: newChanPool},
	{Name: "puddle", New: newPuddle},
	{Name: "smartconnpool", New: newSmartConnPool},
	{Name: "sql", New: newSQL},
}

// prewarm holds size instances at once through Do, then releases them all, so
// a lazily filling pool has created every instance before a timer starts.
func prewarm(p Pool, size int) error {
	ctx := context.Background()
	entered := make(chan struct{})
	release := make(chan struct{})
	errs := make(chan error, size)
	for range size {
		go func() {
			errs <- p.Do(ctx, func(*Conn) {
				entered <- struct{}{}
				<-release
			})
		}()
	}
	for range size {
		select {
		case <-entered:
		case err := <-errs:
			close(release)
			return fmt.Errorf("failed to pre-warm: %w", err)
		case <-time.After(10 * time.Second):
			close(release)
			return fmt.Errorf("failed to pre-warm: the pool did not hand out %d instances at once within 10s", size)
		}
	}
	close(release)
	for range size {
		if err := <-errs; err != nil {
			return fmt.Errorf("failed to pre-warm: %w", err)
		}
	}
	return nil
}
