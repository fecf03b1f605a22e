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

package scale

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/test/internal/harness"
)

var (
	runFlag           = flag.Bool("scale.run", false, "run the scale benchmark (make bench-scale); without it the test skips")
	namespaces        = flag.Int("scale.namespaces", 100, "namespaces the fleet spreads over")
	poolsPerNS        = flag.Int("scale.pools-per-namespace", 10, "ResourcePools per namespace, each with one ResourceBinding")
	members           = flag.Int("scale.members", 10, "tcp members per pool")
	deploymentsPer    = flag.Int("scale.deployments-per-binding", 2, "Deployments each binding selects")
	podsPerNS         = flag.Int("scale.pods-per-namespace", 50, "bystander Pods per namespace")
	rotatedNS         = flag.Int("scale.rotated-namespaces", 10, "the pools of this many namespaces have credentials, rotated once each")
	quiet             = flag.Duration("scale.quiet", 5*time.Minute, "how long CPU and API writes are measured while nothing changes")
	settle            = flag.Duration("scale.settle", 30*time.Second, "wait after everything is Ready before measuring memory")
	readyTimeout      = flag.Duration("scale.ready-timeout", 15*time.Minute, "give up waiting for Ready after this")
	cpuProfile        = flag.String("scale.cpuprofile", "", "write the manager's CPU profile over the quiet minutes to this file, and over its start-up to FILE.startup")
	managerArgs       = flag.String("scale.manager-args", "", "more manager flags, space-separated (e.g. --max-concurrent-reconciles=16)")
	startupProfileFor = flag.Duration("scale.startup-profile-for", time.Minute, "how much of the start-up -scale.cpuprofile covers")
)

// leaderNamespace holds the manager's leader election Lease.
const leaderNamespace = "nebula-system"

func TestScale(t *testing.T) {
	if !*runFlag {
		t.Skip("the scale benchmark runs only with -scale.run (make bench-scale)")
	}
	f := fleet{namespaces: *namespaces, poolsPerNS: *poolsPerNS, members: *members,
		deploymentsPer: *deploymentsPer, podsPerNS: *podsPerNS, rotatedNS: min(*rotatedNS, *namespaces)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()

	// The manager as users run it: no race detector.
	cp := harness.StartControlPlane(t, "scale-manager", "-trimpath")
	c := cp.Client
	f.create(ctx, t, c, memberListeners(t, f.members))
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaderNamespace}}))

	mp, err := harness.NewManagerProcess(harness.ManagerConfig{
		Bin: cp.Manager, Kubeconfig: cp.Kubeconfig, LogDir: cp.Dir,
		LeaderElection: harness.LeaderElection{Namespace: leaderNamespace,
			LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second},
		Env:   []string{"GODEBUG=gctrace=1"},
		Pprof: *cpuProfile != "",
		Args:  strings.Fields(*managerArgs),
	})
	must(t, err)
	u, err := url.Parse(cp.Config.Host)
	must(t, err)
	apiPID, err := apiServerPID(u.Port())
	must(t, err)

	watched := watchCache(ctx, t, cp)
	var table results
	r0, err := apiRequests(ctx, cp.Config, anyVerb)
	must(t, err)
	start := time.Now()
	must(t, mp.Start())
	t.Cleanup(mp.Stop)
	startProfiled := profileCPU(t, mp.PprofURL(), startupProfile(*cpuProfile), *startupProfileFor)
	table.poolsReady, table.bindingsReady = waitAllReady(ctx, t, watched, f, start)
	startProfiled()
	r1, err := apiRequests(ctx, cp.Config, anyVerb)
	must(t, err)
	table.startupRequests, table.startupByResourceVerb = countsBetween(r0, r1)

	time.Sleep(*settle)
	table.rss, table.peakRSS, err = memoryMiB(mp.PID())
	must(t, err)
	table.heap, err = liveHeapMiB(mp.LogPath())
	must(t, err)

	profiled := profileCPU(t, mp.PprofURL(), *cpuProfile, *quiet)
	table.quiet = measureQuiet(ctx, t, cp, mp.PID(), apiPID)
	profiled()
	table.poolChange = measurePoolChange(ctx, t, c)
	table.rotations, table.rotated = measureRotations(ctx, t, c, f)

	out := table.render(f)
	fmt.Fprintln(os.Stdout, out)
}

// watchCache is a watch-fed cache of the pools and bindings: counting them
// Ready by listing all of them from the API server every half second would
// make the observer one of the API server's largest loads during start-up.
func watchCache(ctx context.Context, t *testing.T, cp *harness.ControlPlane) client.Reader {
	t.Helper()
	c, err := cache.New(cp.Config, cache.Options{Scheme: cp.Scheme})
	must(t, err)
	go func() { _ = c.Start(ctx) }()
	for _, obj := range []client.Object{&resourcesv1alpha1.ResourcePool{}, &resourcesv1alpha1.ResourceBinding{}} {
		_, err := c.GetInformer(ctx, obj)
		must(t, err)
	}
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the watch cache of pools and bindings did not sync")
	}
	return c
}

// waitAllReady counts Ready pools and bindings every half second (from a
// watch cache) until every one has Ready=True, and says how long after
// start each kind got there.
func waitAllReady(ctx context.Context, t *testing.T, c client.Reader, f fleet, start time.Time) (pools, bindings time.Duration) {
	t.Helper()
	deadline := time.Now().Add(*readyTimeout)
	lastLog := time.Now()
	for pools == 0 || bindings == 0 {
		var pl resourcesv1alpha1.ResourcePoolList
		var bl resourcesv1alpha1.ResourceBindingList
		must(t, c.List(ctx, &pl))
		must(t, c.List(ctx, &bl))
		readyPools, readyBindings := 0, 0
		for i := range pl.Items {
			if apimeta.IsStatusConditionTrue(pl.Items[i].Status.Conditions, resourcesv1alpha1.ConditionReady) {
				readyPools++
			}
		}
		for i := range bl.Items {
			if apimeta.IsStatusConditionTrue(bl.Items[i].Status.Conditions, resourcesv1alpha1.ConditionReady) {
				readyBindings++
			}
		}
		if pools == 0 && readyPools == f.pools() {
			pools = time.Since(start)
		}
		if bindings == 0 && readyBindings == f.pools() {
			bindings = time.Since(start)
		}
		if time.Since(lastLog) >= 10*time.Second {
			t.Logf("%s after the manager started: %d/%d pools and %d/%d bindings Ready",
				time.Since(start).Round(time.Second), readyPools, f.pools(), readyBindings, f.pools())
			lastLog = time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d/%d pools and %d/%d bindings Ready", *readyTimeout, readyPools, f.pools(), readyBindings, f.pools())
		}
		time.Sleep(500 * time.Millisecond)
	}
	return pools, bindings
}

// quietWindow is what the manager and the API server did while nothing
// changed.
type quietWindow struct {
	minutes              float64
	managerCPU, apiCPU   float64 // cores (CPU seconds per second)
	writesPerMin         float64
	statusWritesPerMin   float64
	writesByResourceVerb []string
}

func measureQuiet(ctx context.Context, t *testing.T, cp *harness.ControlPlane, managerPID, apiPID int) quietWindow {
	t.Helper()
	t.Logf("measuring %s while nothing changes", *quiet)
	m0, err := cpuSeconds(managerPID)
	must(t, err)
	a0, err := cpuSeconds(apiPID)
	must(t, err)
	w0, err := apiRequests(ctx, cp.Config, isWrite)
	must(t, err)
	began := time.Now()
	time.Sleep(*quiet)
	elapsed := time.Since(began).Seconds()
	m1, err := cpuSeconds(managerPID)
	must(t, err)
	a1, err := cpuSeconds(apiPID)
	must(t, err)
	w1, err := apiRequests(ctx, cp.Config, isWrite)
	must(t, err)
	q := quietWindow{minutes: elapsed / 60, managerCPU: (m1 - m0) / elapsed, apiCPU: (a1 - a0) / elapsed}
	total, rows := countsBetween(w0, w1)
	q.writesPerMin = total / q.minutes
	for k, v := range w1 {
		if strings.Contains(k, "/status ") {
			q.statusWritesPerMin += (v - w0[k]) / q.minutes
		}
	}
	q.writesByResourceVerb = rows
	return q
}

// measurePoolChange changes one pool's spec five times and says how long
// each change took to show in its status (observedGeneration), sorted.
func measurePoolChange(ctx context.Context, t *testing.T, c client.Client) []time.Duration {
	t.Helper()
	key := client.ObjectKey{Namespace: namespaceName(0), Name: poolName(0)}
	var out []time.Duration
	for i := range 5 {
		var p resourcesv1alpha1.ResourcePool
		must(t, c.Get(ctx, key, &p))
		before := p.DeepCopy()
		p.Spec.HealthCheck = &resourcesv1alpha1.HealthCheck{Timeout: &metav1.Duration{Duration: time.Duration(2+i%2) * time.Second}}
		must(t, c.Patch(ctx, &p, client.MergeFrom(before)))
		began := time.Now()
		harness.WaitFor(ctx, t, "the pool change in status", time.Minute, 20*time.Millisecond, func() bool {
			var now resourcesv1alpha1.ResourcePool
			return c.Get(ctx, key, &now) == nil && now.Status.ObservedGeneration >= p.Generation
		})
		out = append(out, time.Since(began))
	}
	slices.Sort(out)
	return out
}

// measureRotations changes the password of every pool that has credentials
// at once and waits until each of their bindings' Deployments got a new pod
// template (the binding hash annotation changed).
func measureRotations(ctx context.Context, t *testing.T, c client.Client, f fleet) (time.Duration, int) {
	t.Helper()
	if f.rotatedNS == 0 {
		return 0, 0
	}
	templates := map[client.ObjectKey]string{}
	for ns := range f.rotatedNS {
		var dl appsv1.DeploymentList
		must(t, c.List(ctx, &dl, client.InNamespace(namespaceName(ns))))
		for i := range dl.Items {
			templates[client.ObjectKeyFromObject(&dl.Items[i])] = bindingHashes(&dl.Items[i])
		}
	}
	began := time.Now()
	for ns := range f.rotatedNS {
		for p := range f.poolsPerNS {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespaceName(ns), Name: credsName(p)}}
			patch := client.RawPatch("application/merge-patch+json", []byte(`{"stringData":{"password":"second"}}`))
			must(t, c.Patch(ctx, s, patch))
		}
	}
	harness.WaitFor(ctx, t, "every rotation projected", 10*time.Minute, 100*time.Millisecond, func() bool {
		for key, old := range templates {
			var d appsv1.Deployment
			if c.Get(ctx, key, &d) != nil || bindingHashes(&d) == old {
				return false
			}
			delete(templates, key)
		}
		return true
	})
	return time.Since(began), f.rotatedNS * f.poolsPerNS
}

// bindingHashes is the binding hash annotations of a Deployment's pod
// template, in one string.
func bindingHashes(d *appsv1.Deployment) string {
	var parts []string
	for k, v := range d.Spec.Template.Annotations {
		if strings.Contains(k, "binding-hash") {
			parts = append(parts, k+"="+v)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
