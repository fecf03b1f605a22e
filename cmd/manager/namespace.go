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

package main

import (
	"os"
	"strings"
)

// inClusterNamespaceFile is where a pod finds its namespace.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// podNamespace is the manager's namespace: $POD_NAMESPACE (the Downward API),
// else the service account's namespace file; ok is false outside a cluster.
func podNamespace() (string, bool) {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns, true
	}
	raw, err := os.ReadFile(inClusterNamespaceFile)
	if ns := strings.TrimSpace(string(raw)); err == nil && ns != "" {
		return ns, true
	}
	return "", false
}
