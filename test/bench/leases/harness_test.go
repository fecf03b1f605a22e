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

package leases

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// target is one system under test, serving over loopback HTTP.
type target struct {
	System  string // nebula, boskos
	Storage string // memory, kubernetes, crd
	Members int
	Note    string // e.g. "client limit 100 qps (as shipped)"

	// acquire takes one slot for worker w. busy reports that the pool had no
	// free slot (not an error: the worker retries). slot identifies what was
	// granted (for the exclusivity check), handle is what release needs.
	acquire func(hc *http.Client, w int) (slot, handle string, busy bool, err error)
	release func(hc *http.Client, w int, handle string) error
	// writes counts the write requests (POST/PUT/PATCH/DELETE to the API
	// server, or Create/Update/Delete calls on an in-memory store) so far.
	writes func() int64
	// retries, when set, counts requests the client repeated (so far).
	retries func() int64
}

func (tg *target) retriesSoFar() int64 {
	if tg.retries == nil {
		return 0
	}
	return tg.retries()
}

// result of one measured run.
type result struct {
	Cycles     int
	Elapsed    time.Duration
	P50, P99   time.Duration
	Writes     int64
	Busy       int64
	Retries    int64
	Errors     int64
	FirstError error
}

func (r result) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Cycles) / r.Elapsed.Seconds()
}

func (r result) writesPerCycle() float64 {
	if r.Cycles == 0 {
		return 0
	}
	return float64(r.Writes) / float64(r.Cycles)
}

// exclusivity records which worker holds each slot and reports a slot
// granted to a second worker before the first one released it.
type exclusivity struct {
	mu         sync.Mutex
	held       map[string]int
	violations []string
}

func (e *exclusivity) take(slot string, w int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.held[slot]; ok {
		e.violations = append(e.violations, fmt.Sprintf("slot %s granted to client %d while client %d held it", slot, w, prev))
		return
	}
	e.held[slot] = w
}

// give forgets the holder; called before the release request is sent, so
// the window it covers lies inside the server's own.
func (e *exclusivity) give(slot string, w int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.held[slot] == w {
		delete(e.held, slot)
	}
}

func newClient(clients int) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConns: 4 * clients, MaxIdleConnsPerHost: 4 * clients, IdleConnTimeout: time.Minute}
	return &http.Client{Transport: tr, Timeout: time.Minute}, tr.CloseIdleConnections
}

// drain reads and closes a response body so its connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

type runOpts struct {
	Clients  int
	Warmup   time.Duration
	Duration time.Duration
	// Cycles, when > 0, stops each client after this many cycles instead
	// of after Duration (smoke tests).
	Cycles int
}

// run drives tg with opts.Clients concurrent clients doing acquire+release
// cycles: a warm-up phase, then a measured one. It returns the measured
// phase and the exclusivity violations seen in both.
func run(tg *target, o runOpts) (result, []string) {
	hc, closeIdle := newClient(o.Clients)
	defer closeIdle()
	ex := &exclusivity{held: map[string]int{}}
	if o.Warmup > 0 {
		phase(tg, hc, ex, o.Clients, o.Warmup, 0)
	}
	res := phase(tg, hc, ex, o.Clients, o.Duration, o.Cycles)
	return res, ex.violations
}

func phase(tg *target, hc *http.Client, ex *exclusivity, clients int, d time.Duration, cycles int) result {
	var busy, errs atomic.Int64
	var firstErr atomic.Pointer[error]
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, &err)
		time.Sleep(time.Millisecond) // a failing system must not spin the CPU
	}
	lat := make([][]time.Duration, clients)
	w0, r0 := tg.writes(), tg.retriesSoFar()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1024)
			for n := 0; ; {
				if cycles > 0 {
					if n >= cycles {
						break
					}
					if time.Since(start) > 2*time.Minute {
						fail(fmt.Errorf("client %d: %d of %d cycles after 2m", w, n, cycles))
						break
					}
				} else if !time.Now().Before(deadline) {
					break
				}
				t0 := time.Now()
				slot, handle, isBusy, err := tg.acquire(hc, w)
				if err != nil {
					fail(fmt.Errorf("acquire: %w", err))
					continue
				}
				if isBusy {
					busy.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				ex.take(slot, w)
				ex.give(slot, w)
				if err := tg.release(hc, w, handle); err != nil {
					fail(fmt.Errorf("release %s: %w", slot, err))
					continue
				}
				mine = append(mine, time.Since(t0))
				n++
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	res := result{Cycles: len(all), Elapsed: elapsed, Writes: tg.writes() - w0, Busy: busy.Load(), Errors: errs.Load(),
		Retries: tg.retriesSoFar() - r0}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	if len(all) > 0 {
		res.P50 = all[len(all)*50/100]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return res
}

// countingTransport counts the write requests going through it.
type countingTransport struct {
	next   http.RoundTripper
	writes *atomic.Int64
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		c.writes.Add(1)
	}
	return c.next.RoundTrip(req)
}
