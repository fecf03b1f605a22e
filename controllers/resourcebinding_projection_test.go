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

// A workload is read again unless its record says it is the same object at
// the same generation, seen carrying the same projection.
func TestUnchangedSince(t *testing.T) {
	const deploy, job = resourcesv1alpha1.WorkloadKindDeployment, resourcesv1alpha1.WorkloadKindJob
	item := metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "u1", Generation: 4}}
	record := resourcesv1alpha1.ProjectedWorkload{Kind: deploy, Name: "web", UID: "u1", ObservedGeneration: 4, Projection: "p"}
	with := func(change func(*resourcesv1alpha1.ProjectedWorkload)) []resourcesv1alpha1.ProjectedWorkload {
		r := record
		change(&r)
		return []resourcesv1alpha1.ProjectedWorkload{r}
	}
	for _, tc := range []struct {
		name    string
		records []resourcesv1alpha1.ProjectedWorkload
		kind    resourcesv1alpha1.WorkloadKind
		want    bool
	}{
		{"the same workload, generation and projection", with(func(*resourcesv1alpha1.ProjectedWorkload) {}), deploy, true},
		{"no record", nil, deploy, false},
		{"another workload's record", with(func(r *resourcesv1alpha1.ProjectedWorkload) { r.Name = "api" }), deploy, false},
		{"the spec changed since", with(func(r *resourcesv1alpha1.ProjectedWorkload) { r.ObservedGeneration = 3 }), deploy, false},
		{"deleted and created again", with(func(r *resourcesv1alpha1.ProjectedWorkload) { r.UID = "u0" }), deploy, false},
		{"a record from before uids were kept", with(func(r *resourcesv1alpha1.ProjectedWorkload) { r.UID = "" }), deploy, false},
		{"the Secret or the containers changed", with(func(r *resourcesv1alpha1.ProjectedWorkload) { r.Projection = "q" }), deploy, false},
		{"a Job is always read", with(func(r *resourcesv1alpha1.ProjectedWorkload) { r.Kind = job }), job, false},
	} {
		if _, got := unchangedSince(tc.records, tc.kind, item, "p"); got != tc.want {
			t.Errorf("%s: unchangedSince = %v, want %v", tc.name, got, tc.want)
		}
	}
}
