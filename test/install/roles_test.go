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
	args := []string{"--kubeconfig", c.kubeconfig, "auth", "can-i", verb}
	if r, sub, ok := strings.Cut(resource, "/"); ok { // kubectl reads resource/x as a resource name
		args = append(args, r, "--subresource", sub)
	} else {
		args = append(args, resource)
	}
	args = append(args, "--namespace", namespace, "--as", user)
	cmd := exec.Command(tool(t, "kubectl"), args...)
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

// teamAccess is what a team member bound to an edit, view or admin role in
// team-a may do with nebula-resource objects: edit creates and deletes
// ResourceBindings and reads pools, view only reads, and neither reaches
// another namespace or writes pools or status.
func assertTeamAccess(t *testing.T, c *cluster, editor, viewer string) {
	t.Helper()
	const bindings, pools = "resourcebindings.resources.nebula.io", "resourcepools.resources.nebula.io"
	cases := []struct {
		user, verb, resource, namespace string
		want                            bool
	}{
		{editor, "create", bindings, "team-a", true},
		{editor, "update", bindings, "team-a", true},
		{editor, "delete", bindings, "team-a", true},
		{editor, "get", pools, "team-a", true},
		{editor, "list", pools, "team-a", true},
		{editor, "create", pools, "team-a", false},
		{editor, "delete", pools, "team-a", false},
		{editor, "update", "resourcebindings.resources.nebula.io/status", "team-a", false},
		{editor, "create", bindings, "team-b", false},
		{viewer, "get", bindings, "team-a", true},
		{viewer, "watch", bindings, "team-a", true},
		{viewer, "get", pools, "team-a", true},
		{viewer, "create", bindings, "team-a", false},
		{viewer, "delete", bindings, "team-a", false},
		{"mallory", "get", bindings, "team-a", false},
	}
	for _, tc := range cases {
		if got := c.canI(t, tc.user, tc.verb, tc.resource, tc.namespace); got != tc.want {
			t.Errorf("can-i %s %s -n %s --as %s = %v, want %v", tc.verb, tc.resource, tc.namespace, tc.user, got, tc.want)
		}
	}
}

// installForTeams applies install.yaml and creates two team namespaces.
func installForTeams(t *testing.T) *cluster {
	t.Helper()
	c := startCluster(t)
	selfManaged, _ := renderInstaller(t)
	c.applyServerSide(t, "install.yaml", parseObjects(t, selfManaged))
	c.kubectl(t, "create", "namespace", "team-a")
	c.kubectl(t, "create", "namespace", "team-b")
	return c
}

// An application team bound to the built-in edit, view or admin role in its
// namespace gets the nebula-resource rules through aggregation, done by the
// real clusterrole-aggregation controller.
func TestAggregatedRolesGrantTeamsBindingsWithoutClusterAdmin(t *testing.T) {
	c := installForTeams(t)
	startAggregationController(t, c)
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice")
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob")
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "carol-admin", "--clusterrole=admin", "--user=carol")

	const bindings = "resourcebindings.resources.nebula.io"
	// Aggregation is asynchronous: wait until the controller has folded our
	// rules into edit (alice), view (bob) and admin (carol).
	deadline := time.Now().Add(60 * time.Second)
	for !(c.canI(t, "alice", "create", bindings, "team-a") && c.canI(t, "bob", "list", bindings, "team-a") &&
		c.canI(t, "carol", "delete", bindings, "team-a")) {
		if time.Now().After(deadline) {
			t.Fatal("edit/view/admin never gained ResourceBinding rules within 60s: aggregation labels not picked up")
		}
		time.Sleep(250 * time.Millisecond)
	}
	assertTeamAccess(t, c, "alice", "bob")
	if c.canI(t, "carol", "create", bindings, "team-b") {
		t.Error("admin in team-a can create bindings in team-b")
	}
}

// The nebula-resource-edit and -view roles on their own grant exactly the
// team access (bound directly, no aggregation involved).
func TestNebulaRolesBoundDirectly(t *testing.T) {
	c := installForTeams(t)
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "dave-edit", "--clusterrole=nebula-resource-edit", "--user=dave")
	c.kubectl(t, "-n", "team-a", "create", "rolebinding", "erin-view", "--clusterrole=nebula-resource-view", "--user=erin")
	assertTeamAccess(t, c, "dave", "erin")
}
