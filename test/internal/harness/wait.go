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

package harness

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
)

// WaitFor polls cond every poll until it holds, and fails t when timeout
// passes or ctx ends first.
func WaitFor(ctx context.Context, t testing.TB, what string, timeout, poll time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(poll)
	}
}

// BindingToken waits (up to a minute) for the binding controller to write
// the token of binding namespace/name into its Secret, and returns it.
func BindingToken(ctx context.Context, t testing.TB, c client.Client, namespace, name string) string {
	t.Helper()
	var token string
	WaitFor(ctx, t, "the token of binding "+namespace+"/"+name, time.Minute, 50*time.Millisecond, func() bool {
		var s corev1.Secret
		if c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bindingsecret.Name(name)}, &s) != nil {
			return false
		}
		token = string(s.Data["NEBULA_TOKEN"])
		return token != ""
	})
	return token
}
