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

// Package replicas runs two manager processes behind one address that
// spreads connections over both (a round-robin TCP balancer, as a Service
// does), with 16 lease clients acquiring, renewing and releasing through
// it, and takes the leader away three ways: a graceful stop (SIGTERM), a
// crash (SIGKILL) and a freeze longer than the lease (SIGSTOP, then
// SIGCONT). It checks that every acquire succeeds whichever replica it lands
// on, that grants resume within the promised time, that the full history
// of lease objects never shows a slot or a member's capacity held twice,
// that no client loses a lease, that a restart logs only a few lines about
// refused requests, and that the resumed stale leader steps down.
package replicas

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

const (
	ns         = "replicas"
	members    = 5
	capacity   = 4 // 20 slots for 16 clients
	clients    = 16
	leaseFor   = 15 * time.Second
	electLease = 3 * time.Second
)

// refusalLine matches a log line about a request refused before the
// replica could serve it.
var refusalLine = regexp.MustCompile(`NotLeader|Restoring|PoolNotReady|failed to look up a binding`)

func TestTwoReplicasBehindOneAddress(t *testing.T) {
	cp := harness.StartControlPlane(t, "replicas-test-manager")
	c, dir, kcPath, bin := cp.Client, cp.Dir, cp.Kubeconfig, cp.Manager
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	hist := harness.WatchLeases(ctx, c, client.InNamespace(ns))

	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	pool := harness.TCPPool(t, ns, members, capacity)
	must(t, c.Create(ctx, pool))
	must(t, c.Create(ctx, &resourcesv1alpha1.ResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ci"},
		Spec: resourcesv1alpha1.ResourceBindingSpec{
			PoolRef:  resourcesv1alpha1.PoolReference{Name: "db"},
			Workload: resourcesv1alpha1.WorkloadReference{Kind: resourcesv1alpha1.WorkloadKindDeployment, Name: "ci"},
		},
	}))

	le := harness.LeaderElection{Namespace: "default", LeaseDuration: electLease, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond}
	var replicas [2]*harness.ManagerProcess
	var logs []string
	for i := range replicas {
		var err error
		replicas[i], err = harness.NewManagerProcess(harness.ManagerConfig{Bin: bin, Kubeconfig: kcPath, LogDir: filepath.Join(dir, fmt.Sprintf("r%d", i)), LeaderElection: le})
		must(t, err)
		must(t, os.MkdirAll(filepath.Join(dir, fmt.Sprintf("r%d", i)), 0o755))
	}
	start := func(i int) {
		t.Helper()
		m := replicas[i]
		if err := m.Start(); err != nil {
			t.Fatalf("failed to start replica %d: %v", i, err)
		}
		logs = append(logs, m.LogPath())
		run, log := m.Runs(), m.LogPath()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("replica %d run %d log (tail):\n%s", i, run, harness.TailFile(log, 80))
			}
		})
	}
	defer func() {
		for _, m := range replicas {
			_ = m.Resume()
			m.Kill()
		}
	}()
	lb := startBalancer(t, replicas[0].APIAddr(), replicas[1].APIAddr())

	start(0)
	must(t, replicas[0].WaitReady(ctx, 90*time.Second, 50*time.Millisecond))
	start(1)
	waitFor(ctx, t, "replica 1 to answer health", func() bool { _, err := replicas[1].Health(ctx); return err == nil })
	leader, standby := 0, 1

	token := harness.BindingToken(ctx, t, c, ns, "ci")
	work := startClients(ctx, t, "http://"+lb.addr(), token)
	work.waitGrants(ctx, t, 3*clients, "the clients to get going through both replicas")

	// 1. Graceful stop of the leader.
	t.Logf("SIGTERM the leader (replica %d)", leader)
	t0 := time.Now()
	replicas[leader].Stop()
	gap := work.firstGrantAfter(ctx, t, t0)
	t.Logf("graceful stop: t_SIGTERM -> first grant by the other replica: %s", gap.Round(time.Millisecond))
	if gap > 2*time.Second {
		t.Errorf("grants resumed %s after the graceful stop, want within 2s", gap.Round(time.Millisecond))
	}
	start(leader)
	leader, standby = standby, leader
	waitFor(ctx, t, fmt.Sprintf("restarted replica %d to answer health", standby), func() bool { _, err := replicas[standby].Health(ctx); return err == nil })
	work.waitGrants(ctx, t, work.grants()+clients, "grants through both replicas after the restart")

	// 2. Crash of the new leader.
	t.Logf("SIGKILL the leader (replica %d)", leader)
	t0 = time.Now()
	replicas[leader].Kill()
	gap = work.firstGrantAfter(ctx, t, t0)
	t.Logf("crash: t_SIGKILL -> first grant by the other replica: %s (lease duration %s)", gap.Round(time.Millisecond), electLease)
	if gap > electLease+2*time.Second {
		t.Errorf("grants resumed %s after the crash, want within the lease duration plus 2s (%s)", gap.Round(time.Millisecond), electLease+2*time.Second)
	}
	start(leader)
	leader, standby = standby, leader
	waitFor(ctx, t, fmt.Sprintf("restarted replica %d to answer health", standby), func() bool { _, err := replicas[standby].Health(ctx); return err == nil })
	work.waitGrants(ctx, t, work.grants()+clients, "grants through both replicas after the restart")

	// 3. Freeze the leader past its lease, let the standby take over, resume it.
	frozen := leader
	t.Logf("SIGSTOP the leader (replica %d) for %s", frozen, electLease+3*time.Second)
	must(t, replicas[frozen].Freeze())
	t0 = time.Now()
	waitFor(ctx, t, fmt.Sprintf("replica %d to take over from the frozen leader", standby), func() bool {
		h, err := replicas[standby].Health(ctx)
		return err == nil && h.Leader && h.Ready
	})
	t.Logf("freeze: the standby leads %s after SIGSTOP", time.Since(t0).Round(time.Millisecond))
	gap = work.firstGrantAfter(ctx, t, t0)
	t.Logf("freeze: t_SIGSTOP -> first grant by the other replica: %s", gap.Round(time.Millisecond))
	time.Sleep(time.Until(t0.Add(electLease + 3*time.Second)))
	before := hist.Len()
	must(t, replicas[frozen].Resume())
	resumedAt := time.Now()
	select {
	case <-replicas[frozen].Exited():
		t.Logf("freeze: the resumed stale leader stepped down (exited) %s after SIGCONT", time.Since(resumedAt).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Errorf("the resumed stale leader (replica %d) did not step down within 30s of SIGCONT", frozen)
	}
	replicas[frozen].Stop()
	work.waitGrants(ctx, t, work.grants()+clients, "grants after the stale leader stepped down")
	t.Logf("freeze: %d lease object events while the stale leader ran again", hist.Len()-before)

	lost := work.stop()
	for _, e := range lost {
		t.Error(e)
	}
	// A lease whose grant answer was lost in a crash is held by nobody: the
	// running replica reclaims it when it expires.
	waitFor(ctx, t, "the history to see every lease released or reclaimed", func() bool { return hist.Live() == 0 })
	for _, m := range replicas {
		m.Stop()
	}
	rep := hist.Check(harness.Limits{Pool: ns + "/db", Capacity: capacity})
	for _, p := range rep.Problems {
		t.Error(p)
	}
	for _, err := range hist.Undecodable() {
		t.Errorf("undecodable lease object in the history: %v", err)
	}
	t.Logf("history checked: %d lease object events, peak %d live, %d problems; %d grants, %d renewals, %d releases",
		rep.Events, rep.Peak, len(rep.Problems), work.grants(), work.renewals.Load(), work.releases.Load())

	forwarded := false
	for _, path := range logs {
		raw, err := os.ReadFile(path)
		must(t, err)
		// The bound is on refusals before a replica leads: what it
		// logs after (a stale leader fenced, then stopping) is a new state
		// change, logged once each, and not counted.
		n := 0
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "serves as leader") {
				break
			}
			if refusalLine.MatchString(line) {
				n++
			}
		}
		forwarded = forwarded || strings.Contains(string(raw), "forwards to the leader")
		t.Logf("%s: %d log lines about refused requests before it led", filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), n)
		if n >= 5 {
			t.Errorf("%s has %d log lines about refused requests before it led, want fewer than 5", path, n)
		}
	}
	if !forwarded {
		t.Error("no replica logged forwarding to the leader: the balancer never reached a follower?")
	}
	t.Logf("balancer: %d connections over both replicas %v", lb.total(), lb.perBackend())
}

// workload is 16 clients looping acquire, renew, renew, release.
type workload struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	renewals atomic.Int64
	releases atomic.Int64

	mu       sync.Mutex
	acquired []time.Time // AcquiredAt of every grant, as the server stamped it
	failures []error
}

func startClients(ctx context.Context, t *testing.T, endpoint, token string) *workload {
	ctx, cancel := context.WithCancel(ctx)
	w := &workload{cancel: cancel}
	for i := range clients {
		lc, err := leaseclient.New(leaseclient.Config{Endpoint: endpoint, Token: token, Binding: ns + "/ci",
			HTTPClient: &http.Client{Timeout: 5 * time.Second}, RetryFor: 40 * time.Second})
		must(t, err)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.loop(ctx, lc, fmt.Sprintf("client-%d", i))
		}()
	}
	return w
}

func (w *workload) fail(err error) {
	w.mu.Lock()
	w.failures = append(w.failures, err)
	w.mu.Unlock()
}

func (w *workload) loop(ctx context.Context, lc *leaseclient.Client, name string) {
	for ctx.Err() == nil {
		l, err := lc.Acquire(ctx, leaseclient.AcquireOptions{Duration: leaseFor, Wait: 2 * time.Second, Holder: name, NoAutoRenew: true})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.fail(fmt.Errorf("%s: acquire failed: %w", name, err))
			continue
		}
		w.mu.Lock()
		w.acquired = append(w.acquired, l.AcquiredAt)
		w.mu.Unlock()
		for range 2 {
			pause(ctx, 300*time.Millisecond)
			if _, err := lc.Renew(context.WithoutCancel(ctx), l.ID, 0); err != nil {
				w.fail(fmt.Errorf("%s: renewal of lease %s failed (lost?): %w", name, l.ID, err))
				break
			}
			w.renewals.Add(1)
		}
		// Released even when the test stops, so that the history ends empty.
		if err := lc.Release(context.WithoutCancel(ctx), l.ID); err != nil {
			w.fail(fmt.Errorf("%s: release of lease %s failed: %w", name, l.ID, err))
			continue
		}
		w.releases.Add(1)
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (w *workload) grants() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acquired)
}

func (w *workload) waitGrants(ctx context.Context, t *testing.T, n int, what string) {
	t.Helper()
	waitFor(ctx, t, fmt.Sprintf("%s (%d grants)", what, n), func() bool { return w.grants() >= n })
}

// firstGrantAfter waits for a lease granted after t0 and returns how long
// after t0 the server stamped it.
func (w *workload) firstGrantAfter(ctx context.Context, t *testing.T, t0 time.Time) time.Duration {
	t.Helper()
	var first time.Time
	waitFor(ctx, t, "a grant after "+t0.Format(time.RFC3339Nano), func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, at := range w.acquired {
			if at.After(t0) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		return !first.IsZero()
	})
	return first.Sub(t0)
}

// stop ends the clients (each releases what it holds) and returns their failures.
func (w *workload) stop() []error {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failures
}

// balancer spreads connections round-robin over backends, like a Service's
// virtual IP. Like the endpoints of a Service, a backend whose health stops
// answering (a readiness probe: here every 100ms, out after two misses) is
// skipped, and one that refuses the connection (not running) too.
type balancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	mu       sync.Mutex
	count    map[string]int
	out      map[string]bool // failing its probe
}

func (b *balancer) probe(ctx context.Context, addr string) {
	hc := &http.Client{Timeout: 300 * time.Millisecond}
	misses := 0
	for ctx.Err() == nil {
		resp, err := hc.Get("http://" + addr + "/v1/healthz")
		if err == nil {
			_ = resp.Body.Close()
			misses = 0
		} else {
			misses++
		}
		b.mu.Lock()
		b.out[addr] = misses >= 2
		b.mu.Unlock()
		pause(ctx, 100*time.Millisecond)
	}
}

func (b *balancer) healthy(addr string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.out[addr]
}

func startBalancer(t *testing.T, backends ...string) *balancer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	b := &balancer{ln: ln, backends: backends, count: map[string]int{}, out: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); _ = ln.Close() })
	for _, addr := range backends {
		go b.probe(ctx, addr)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(conn)
		}
	}()
	return b
}

func (b *balancer) addr() string { return b.ln.Addr().String() }

func (b *balancer) serve(in net.Conn) {
	defer in.Close()
	first := b.next.Add(1)
	var out net.Conn
	n := uint64(len(b.backends))
	for i := range 2 * n { // the ready backends first, then any
		addr := b.backends[(first+i)%n]
		if i < n && !b.healthy(addr) {
			continue
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			out = c
			b.mu.Lock()
			b.count[addr]++
			b.mu.Unlock()
			break
		}
	}
	if out == nil {
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); closeWrite(out); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); closeWrite(in); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (b *balancer) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, v := range b.count {
		n += v
	}
	return n
}

func (b *balancer) perBackend() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for k, v := range b.count {
		out = append(out, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(out)
	return out
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	harness.WaitFor(ctx, t, what, 60*time.Second, 20*time.Millisecond, cond)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
