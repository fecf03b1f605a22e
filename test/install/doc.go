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

// Package install tests what a platform team installs: the release manifests
// rendered from config/ (hack/build-installer.sh) and the Helm chart. They are
// applied server-side to a real kube-apiserver (envtest), Pod Security
// warnings are failures, the chart is checked against config/ for drift, and
// the aggregated roles are checked with kubectl auth can-i.
package install
