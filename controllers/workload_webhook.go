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
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// WorkloadInjectorPath is where the workload webhook is served.
const WorkloadInjectorPath = "/mutate-workloads"

// +kubebuilder:webhook:path=/mutate-workloads,mutating=true,failurePolicy=ignore,sideEffects=None,groups="";batch,resources=pods;jobs,verbs=create,versions=v1,name=workloads.resources.nebula.io,admissionReviewVersions=v1,reinvocationPolicy=IfNeeded

// WorkloadInjector projects bindings into Jobs and Pods when they are
// created: their pod templates cannot change afterwards, so the reconciler
// cannot do it. It never rejects a workload (failurePolicy=Ignore): a
// problem is reported on the binding by the reconciler instead.
type WorkloadInjector struct {
	client  client.Reader // cached: bindings
	secrets client.Reader // uncached: binding Secrets are not cached cluster-wide
	decoder admission.Decoder
}

// NewWorkloadInjector returns the webhook handler.
func NewWorkloadInjector(c, secrets client.Reader, decoder admission.Decoder) *WorkloadInjector {
	return &WorkloadInjector{client: c, secrets: secrets, decoder: decoder}
}

// Handle adds the matching bindings' envFrom and hash annotations.
func (w *WorkloadInjector) Handle(ctx context.Context, req admission.Request) admission.Response {
	var (
		obj  client.Object
		kind resourcesv1alpha1.WorkloadKind
	)
	switch req.Kind.Kind {
	case "Pod":
		obj, kind = &corev1.Pod{}, resourcesv1alpha1.WorkloadKindPod
	case "Job":
		obj, kind = &batchv1.Job{}, resourcesv1alpha1.WorkloadKindJob
	default:
		return admission.Allowed("not a workload this webhook projects into")
	}
	if err := w.decoder.Decode(req, obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	var bindings resourcesv1alpha1.ResourceBindingList
	if err := w.client.List(ctx, &bindings, client.InNamespace(req.Namespace)); err != nil {
		// Allowed: the reconciler reports WorkloadImmutable on the binding.
		logf.FromContext(ctx).Error(err, "failed to list bindings; workload created without projection")
		return admission.Allowed("bindings unavailable")
	}
	changed := false
	for i := range bindings.Items {
		b := &bindings.Items[i]
		if b.Spec.Workload.Kind != kind || !b.DeletionTimestamp.IsZero() || b.Status.SecretName == "" || !workloadMatches(b, obj) {
			continue
		}
		ok, err := w.inject(ctx, b, obj)
		if err != nil {
			logf.FromContext(ctx).Error(err, "failed to project binding", "binding", b.Name)
			continue
		}
		changed = changed || ok
	}
	if !changed {
		return admission.Allowed("no binding matches")
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("failed to encode the projected workload: %w", err))
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// workloadMatches reports whether the binding's spec.workload selects obj.
func workloadMatches(b *resourcesv1alpha1.ResourceBinding, obj client.Object) bool {
	if name := b.Spec.Workload.Name; name != "" {
		return obj.GetName() == name
	}
	// An invalid selector (stored before the API checked label syntax)
	// matches nothing; the reconciler reports it on the binding.
	sel, err := b.Spec.Workload.Selector.AsSelector()
	return err == nil && sel.Matches(labels.Set(obj.GetLabels()))
}

// inject applies one binding's projection to obj, unless the projection
// refuses it (the reconciler reports why).
func (w *WorkloadInjector) inject(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, obj client.Object) (bool, error) {
	var secret corev1.Secret
	if err := w.secrets.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: b.Status.SecretName}, &secret); err != nil {
		return false, fmt.Errorf("failed to read binding Secret %s: %w", b.Status.SecretName, err)
	}
	p := newProjection(b, &secret)
	// For a Pod this is a view sharing its spec; the result is copied back below.
	tmpl, _ := podTemplate(obj)
	if reason, _ := p.refusal(tmpl, obj.GetName()); reason != "" {
		return false, nil // the reconciler reports it on the binding
	}
	if !p.apply(tmpl) {
		return false, nil
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		pod.Annotations, pod.Spec = tmpl.Annotations, tmpl.Spec
	}
	return true, nil
}
