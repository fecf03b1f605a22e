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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// One setter per condition of a ResourceBinding.

func setPoolAvailable(b *resourcesv1alpha1.ResourceBinding, ok bool, reason, msg string) {
	setBindingCondition(b, resourcesv1alpha1.ConditionPoolAvailable, ok, reason, msg)
}

func setWorkloadProjected(b *resourcesv1alpha1.ResourceBinding, ok bool, reason, msg string) {
	setBindingCondition(b, resourcesv1alpha1.ConditionWorkloadProjected, ok, reason, msg)
}

// setBindingReady summarizes: Ready when the pool is available and the
// workloads are projected; otherwise it carries the first failing reason.
func setBindingReady(b *resourcesv1alpha1.ResourceBinding) {
	for _, t := range []string{resourcesv1alpha1.ConditionPoolAvailable, resourcesv1alpha1.ConditionWorkloadProjected} {
		c := meta.FindStatusCondition(b.Status.Conditions, t)
		if c == nil {
			setBindingCondition(b, resourcesv1alpha1.ConditionReady, false, resourcesv1alpha1.ReasonReconciling, "Reconciling.")
			return
		}
		if c.Status != metav1.ConditionTrue {
			setBindingCondition(b, resourcesv1alpha1.ConditionReady, false, c.Reason, c.Message)
			return
		}
	}
	setBindingCondition(b, resourcesv1alpha1.ConditionReady, true, resourcesv1alpha1.ReasonBound, "The binding is in effect.")
}

func setBindingCondition(b *resourcesv1alpha1.ResourceBinding, condType string, status bool, reason, msg string) {
	setStatusCondition(&b.Status.Conditions, b.Generation, condType, status, reason, msg)
}
