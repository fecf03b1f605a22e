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
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// MemoryStore is a Store in process memory: no durability, for tests and
// for measuring the lease logic without the Kubernetes API.
type MemoryStore struct {
	mu      sync.Mutex
	recs    map[string]Record
	version uint64
	writes  atomic.Int64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{recs: map[string]Record{}} }

func slotKey(pool, member string, slot int) string {
	return pool + "\x00" + member + "\x00" + strconv.Itoa(slot)
}

// Writes counts successful writes.
func (m *MemoryStore) Writes() int64 { return m.writes.Load() }

func (m *MemoryStore) Create(_ context.Context, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := slotKey(r.Pool, r.Member, r.Slot)
	if _, ok := m.recs[k]; ok {
		return fmt.Errorf("slot %d of %s on %s: %w", r.Slot, r.Pool, r.Member, ErrSlotTaken)
	}
	m.version++
	r.Version = strconv.FormatUint(m.version, 10)
	m.recs[k] = *r
	m.writes.Add(1)
	return nil
}

func (m *MemoryStore) Update(_ context.Context, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := slotKey(r.Pool, r.Member, r.Slot)
	cur, ok := m.recs[k]
	if !ok {
		return fmt.Errorf("lease %s: %w", r.ID, ErrNotFound)
	}
	if cur.Version != r.Version {
		return fmt.Errorf("lease %s: %w", r.ID, ErrConflict)
	}
	m.version++
	r.Version = strconv.FormatUint(m.version, 10)
	m.recs[k] = *r
	m.writes.Add(1)
	return nil
}

func (m *MemoryStore) Delete(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := slotKey(r.Pool, r.Member, r.Slot)
	cur, ok := m.recs[k]
	if !ok {
		return nil
	}
	if cur.Version != r.Version {
		return fmt.Errorf("lease %s: %w", r.ID, ErrConflict)
	}
	delete(m.recs, k)
	m.writes.Add(1)
	return nil
}

func (m *MemoryStore) Get(_ context.Context, pool, member string, slot int) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[slotKey(pool, member, slot)]
	if !ok {
		return Record{}, fmt.Errorf("slot %d of %s on %s: %w", slot, pool, member, ErrNotFound)
	}
	return r, nil
}

func (m *MemoryStore) List(context.Context) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Record, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, r)
	}
	return out, nil
}
