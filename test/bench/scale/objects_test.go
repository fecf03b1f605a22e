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
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// fleet is what the benchmark creates, spread evenly over namespaces.
type fleet struct {
	namespaces     int
	poolsPerNS     int // and as many bindings
	members        int // per pool
	deploymentsPer int // per binding
	podsPerNS      int
	rotatedNS      int // the pools of the first rotatedNS namespaces have credentials
}

func (f fleet) pools() int       { return f.namespaces * f.poolsPerNS }
func (f fleet) deployments() int { return f.pools() * f.deploymentsPer }
func (f fleet) pods() int        { return f.namespaces * f.podsPerNS }

func namespaceName(i int) string { return fmt.Sprintf("scale-%03d", i) }
func poolName(i int) string      { return fmt.Sprintf("pool-%d", i) }
func bindingName(i int) string   { return fmt.Sprintf("app-%d", i) }
func credsName(i int) string     { return fmt.Sprintf("creds-%d", i) }

// bindingLabel selects a binding's Deployments.
const bindingLabel = "scale.nebula.io/binding"

// memberListeners opens n loopback TCP listeners that accept and close every
// connection (the tcp driver's health check only opens one). Every pool's
// member i is listener i: 10 listeners serve 10,000 members.
func memberListeners(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// objectsOf is every object of namespace ns, in creation order.
func (f fleet) objectsOf(ns int, members []string) []client.Object {
	name := namespaceName(ns)
	objs := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	for p := range f.poolsPerNS {
		pool := &resourcesv1alpha1.ResourcePool{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: poolName(p)},
			Spec: resourcesv1alpha1.ResourcePoolSpec{
				Driver: resourcesv1alpha1.DriverTCP,
				Size:   resourcesv1alpha1.PoolSize{Max: int32(f.members)},
			},
		}
		for m, addr := range members[:f.members] {
			pool.Spec.Members = append(pool.Spec.Members, resourcesv1alpha1.PoolMember{Name: fmt.Sprintf("m%d", m), Address: addr})
		}
		if ns < f.rotatedNS {
			objs = append(objs, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: credsName(p)},
				StringData: map[string]string{"username": "app", "password": "first"},
			})
			pool.Spec.Credentials = &resourcesv1alpha1.PoolCredentials{
				SecretRef: resourcesv1alpha1.CredentialsSecretReference{Name: credsName(p)},
			}
		}
		objs = append(objs, pool, &resourcesv1alpha1.ResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: bindingName(p)},
			Spec: resourcesv1alpha1.ResourceBindingSpec{
				PoolRef: resourcesv1alpha1.PoolReference{Name: poolName(p)},
				Workload: resourcesv1alpha1.WorkloadReference{
					Kind:     resourcesv1alpha1.WorkloadKindDeployment,
					Selector: &resourcesv1alpha1.LabelSelector{MatchLabels: map[string]resourcesv1alpha1.LabelValue{bindingLabel: resourcesv1alpha1.LabelValue(bindingName(p))}},
				},
			},
		})
		for d := range f.deploymentsPer {
			objs = append(objs, deployment(name, fmt.Sprintf("%s-%d", bindingName(p), d), bindingName(p)))
		}
	}
	for i := range f.podsPerNS {
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: fmt.Sprintf("pod-%d", i), Labels: map[string]string{"app": "bystander"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
		})
	}
	return objs
}

func deployment(namespace, name, binding string) *appsv1.Deployment {
	labels := map[string]string{"app": name, bindingLabel: binding}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
			},
		},
	}
}

// create creates the whole fleet, namespaces in parallel, and says how long
// it took.
func (f fleet) create(ctx context.Context, t *testing.T, c client.Client, members []string) {
	t.Helper()
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for ns := range f.namespaces {
		g.Go(func() error {
			for _, o := range f.objectsOf(ns, members) {
				if err := c.Create(ctx, o); err != nil {
					return fmt.Errorf("create %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d pools, %d bindings, %d Deployments and %d Pods in %d namespaces in %s",
		f.pools(), f.pools(), f.deployments(), f.pods(), f.namespaces, time.Since(start).Round(time.Millisecond))
}
