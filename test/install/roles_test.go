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

package install

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startAggregationController runs the real kube-controller-manager (built by
// hack/setup-envtest.sh) with only the clusterrole-aggregation controller:
// in a cluster that controller folds the aggregate-to-* labelled roles into
// admin, edit and view; envtest runs no controller manager.
func startAggregationController(t *testing.T, c *cluster) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, tool(t, "kube-controller-manager"),
		"--kubeconfig", c.kubeconfig,
		"--controllers", "clusterrole-aggregation",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("kube-controller-manager output:\n%s", logs.String())
		}
	})
}

// canI asks the API server whether user may do verb on resource in namespace
// (kubectl auth can-i --as, authorized by the real RBAC authorizer).
func (c *cluster) canI(t *testing.T, user, verb, resource, namespace string) bool {
	t.Helper()
	cmd := exec.Command(tool(t, "kubectl"), "--kubeconfig", c.kubeconfig, "auth", "can-i", verb, resource,
		"--namespace", namespace, "--as", user)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	answer := strings.TrimSpace(string(out))
	switch {
	case err == nil && answer == "yes":
		return true
	case answer == "no" || strings.HasPrefix(answer, "no"):
		return false
	default:
		t.Fatalf("kubectl auth can-i %s %s --as %s: %v: %s", verb, resource, user, err, out)
		return false
	}
}

// An application team bound to the built-in edit or view role in its
// namespace gets the nebula-resource rules through aggregation: edit creates
// and deletes ResourceBindings and reads pools, view only reads, and neither
// reaches another namespace or writes pools.
func TestAggregatedRolesGrantTeamsBindingsWithoutClusterAdmin(t *testing.T) {
	c := startCluster(t)
	selfManaged, _ := renderInstaller(t)
	c.applyServerSide(t, "install.yaml", parseObjects(t, selfManaged))
	startAggregationController(t, c)

	c.kubectl(t, "create", "namespace", "team-a")
	c.kubectl(t, "create", "namespace", "team-b")
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice")
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob")
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "carol-admin", "--clusterrole=admin", "--user=carol")

	const bindings, pools = "resourcebindings.resources.nebula.io", "resourcepools.resources.nebula.io"
	// Aggregation is asynchronous: wait until the controller has folded our
	// rules into edit (alice) and view (bob).
	deadline := time.Now().Add(60 * time.Second)
	for !(c.canI(t, "alice", "create", bindings, "team-a") && c.canI(t, "bob", "list", bindings, "team-a") &&
		c.canI(t, "carol", "delete", bindings, "team-a")) {
		if time.Now().After(deadline) {
			t.Fatal("edit/view/admin never gained ResourceBinding rules within 60s: aggregation labels not picked up")
		}
		time.Sleep(250 * time.Millisecond)
	}

	cases := []struct {
		user, verb, resource, namespace string
		want                            bool
	}{
		{"alice", "create", bindings, "team-a", true},
		{"alice", "update", bindings, "team-a", true},
		{"alice", "delete", bindings, "team-a", true},
		{"alice", "get", pools, "team-a", true},
		{"alice", "list", pools, "team-a", true},
		{"alice", "create", pools, "team-a", false},
		{"alice", "delete", pools, "team-a", false},
		{"alice", "update", "resourcebindings.resources.nebula.io/status", "team-a", false},
		{"alice", "create", bindings, "team-b", false},
		{"bob", "get", bindings, "team-a", true},
		{"bob", "watch", bindings, "team-a", true},
		{"bob", "get", pools, "team-a", true},
		{"bob", "create", bindings, "team-a", false},
		{"bob", "delete", bindings, "team-a", false},
		{"carol", "create", bindings, "team-a", true},
		{"carol", "create", bindings, "team-b", false},
		{"mallory", "get", bindings, "team-a", false},
	}
	for _, tc := range cases {
		if got := c.canI(t, tc.user, tc.verb, tc.resource, tc.namespace); got != tc.want {
			t.Errorf("can-i %s %s -n %s --as %s = %v, want %v", tc.verb, tc.resource, tc.namespace, tc.user, got, tc.want)
		}
	}
}
