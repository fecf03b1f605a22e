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

package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

func TestConcernsWorkload(t *testing.T) {
	const deploy = resourcesv1alpha1.WorkloadKindDeployment
	workload := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: map[string]string{"app": "api"}}}
	binding := func(ref resourcesv1alpha1.WorkloadReference, projected ...string) *resourcesv1alpha1.ResourceBinding {
		ref.Kind = deploy
		b := &resourcesv1alpha1.ResourceBinding{Spec: resourcesv1alpha1.ResourceBindingSpec{Workload: ref}}
		for _, name := range projected {
			b.Status.ProjectedWorkloads = append(b.Status.ProjectedWorkloads, resourcesv1alpha1.ProjectedWorkload{Kind: deploy, Name: name})
		}
		return b
	}
	selector := func(kv ...string) *resourcesv1alpha1.LabelSelector {
		return &resourcesv1alpha1.LabelSelector{MatchLabels: map[string]resourcesv1alpha1.LabelValue{kv[0]: resourcesv1alpha1.LabelValue(kv[1])}}
	}
	for _, tc := range []struct {
		name    string
		binding *resourcesv1alpha1.ResourceBinding
		kind    resourcesv1alpha1.WorkloadKind
		want    bool
	}{
		{"by name", binding(resourcesv1alpha1.WorkloadReference{Name: "api"}), deploy, true},
		{"another name", binding(resourcesv1alpha1.WorkloadReference{Name: "web"}), deploy, false},
		{"selector matches", binding(resourcesv1alpha1.WorkloadReference{Selector: selector("app", "api")}), deploy, true},
		{"selector does not match", binding(resourcesv1alpha1.WorkloadReference{Selector: selector("app", "web")}), deploy, false},
		{"name and selector, selector does not match", binding(resourcesv1alpha1.WorkloadReference{Name: "api", Selector: selector("app", "web")}), deploy, false},
		{"no name, no selector: every workload of the kind", binding(resourcesv1alpha1.WorkloadReference{}), deploy, true},
		{"no longer selected but projected: the projection must come out", binding(resourcesv1alpha1.WorkloadReference{Name: "web"}, "api"), deploy, true},
		{"projected under another kind", binding(resourcesv1alpha1.WorkloadReference{Name: "web"}, "api"), resourcesv1alpha1.WorkloadKindStatefulSet, false},
		{"a selector stored before it was checked: the binding reports it", binding(resourcesv1alpha1.WorkloadReference{Selector: selector("bad key!", "x")}), deploy, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := concernsWorkload(tc.binding, tc.kind, workload); got != tc.want {
				t.Errorf("concernsWorkload = %v, want %v", got, tc.want)
			}
		})
	}
}
