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
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// workloadProjections projects a binding's Secret into the workloads its
// spec.workload selects whose pod templates can change (Deployments,
// StatefulSets, DaemonSets), and takes it out of the ones that stopped
// matching. Jobs and Pods get it from the webhook at creation.
//
// The cache holds only the workloads' metadata (names and labels are all
// selecting needs): whole Deployments and Pods of a large cluster would
// cost the manager more memory than everything else it keeps. The few
// workloads a binding selects are read whole from the API server, and
// only when their metadata shows a change since the binding last saw them
// carrying its projection (status.projectedWorkloads keeps the uid,
// generation and projection it saw).
type workloadProjections struct {
	client   client.Client // cached: workload metadata
	reader   client.Reader // uncached: the selected workloads, whole
	recorder recorder.EventRecorder
}

// reconcile projects rc.secret and records what it found.
func (w *workloadProjections) reconcile(ctx context.Context, rc *bindingReconcile) (ctrl.Result, bool, error) {
	b := rc.binding
	kind := b.Spec.Workload.Kind
	f := &workloadFacts{projected: true, kind: kind, secretName: rc.secret.Name}
	items, err := w.matching(ctx, b)
	if errors.Is(err, errInvalidSelector) {
		f.selectorErr = err
		rc.facts.workload = f
		return ctrl.Result{}, false, nil
	}
	if err != nil {
		return ctrl.Result{}, false, err
	}
	p := newProjection(b, rc.secret)
	fingerprint := p.fingerprint()
	var projected []resourcesv1alpha1.ProjectedWorkload
	var changedNames []string
	// One event a reconcile, also when it fails part way, not one a
	// workload: a rotation re-projects every workload of the pool's
	// bindings at once.
	defer func() {
		if len(changedNames) > 0 {
			w.recorder.Eventf(b, nil, corev1.EventTypeNormal, resourcesv1alpha1.EventProjected, "Project",
				"Secret %s (content %s) projected into %s %s", p.secretName, p.hash[:8], kind, strings.Join(changedNames, ", "))
		}
	}()
	for _, item := range items {
		if pw, ok := unchangedSince(b.Status.ProjectedWorkloads, kind, item, fingerprint); ok {
			projected = append(projected, pw)
			f.workloads = append(f.workloads, item.Name)
			continue
		}
		obj, err := w.get(ctx, kind, client.ObjectKey{Namespace: b.Namespace, Name: item.Name})
		if err != nil {
			return ctrl.Result{}, false, err
		}
		if obj == nil {
			continue // deleted since the cache listed it
		}
		tmpl, mutable := podTemplate(obj)
		if reason, problem := p.refusal(tmpl, obj.GetName()); reason != "" {
			f.problems, f.problemReason = append(f.problems, problem), reason
			continue
		}
		if !mutable {
			if tmpl.Annotations[p.annotation] == "" {
				f.problems = append(f.problems, fmt.Sprintf("%s %s was created before the binding and its pod template cannot change; recreate it",
					kind, obj.GetName()))
				f.problemReason = resourcesv1alpha1.ReasonWorkloadImmutable
				continue
			}
		} else if changed, err := w.patchTemplate(ctx, obj, p.apply); err != nil {
			return ctrl.Result{}, false, err
		} else if changed {
			changedNames = append(changedNames, obj.GetName())
		}
		projected = append(projected, resourcesv1alpha1.ProjectedWorkload{
			APIVersion: b.Spec.Workload.GroupVersionKind().GroupVersion().String(), Kind: kind, Name: obj.GetName(),
			UID: string(obj.GetUID()), ObservedGeneration: obj.GetGeneration(), Projection: fingerprint})
		f.workloads = append(f.workloads, obj.GetName())
	}

	// Workloads projected before that no longer match lose the projection.
	for _, pw := range b.Status.ProjectedWorkloads {
		if slices.ContainsFunc(projected, func(p resourcesv1alpha1.ProjectedWorkload) bool { return p.Kind == pw.Kind && p.Name == pw.Name }) {
			continue
		}
		if err := w.unproject(ctx, b, pw); err != nil {
			return ctrl.Result{}, false, err
		}
	}
	b.Status.ProjectedWorkloads = projected
	rc.facts.workload = f
	return ctrl.Result{}, false, nil
}

// unchangedSince finds item's record among the binding's projected
// workloads and reports whether it still holds: the same workload (uid) at
// the same generation, seen carrying the same projection. Then its pod
// template is as the record says, and reading it whole again would only
// confirm that. Jobs and Pods are always read: their generation does not
// follow their pod template.
func unchangedSince(records []resourcesv1alpha1.ProjectedWorkload, kind resourcesv1alpha1.WorkloadKind,
	item metav1.PartialObjectMetadata, fingerprint string) (resourcesv1alpha1.ProjectedWorkload, bool) {
	if projectedAtCreation(kind) {
		return resourcesv1alpha1.ProjectedWorkload{}, false
	}
	for _, r := range records {
		if r.Kind == kind && r.Name == item.Name {
			ok := r.UID != "" && r.UID == string(item.UID) && r.ObservedGeneration == item.Generation && r.Projection == fingerprint
			return r, ok
		}
	}
	return resourcesv1alpha1.ProjectedWorkload{}, false
}

// matching lists the metadata of the workloads the binding targets, from
// the cache.
func (w *workloadProjections) matching(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) ([]metav1.PartialObjectMetadata, error) {
	gvk := b.Spec.Workload.GroupVersionKind()
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	opts := []client.ListOption{client.InNamespace(b.Namespace)}
	if sel := b.Spec.Workload.Selector; sel != nil {
		s, err := sel.AsSelector()
		if err != nil {
			return nil, fmt.Errorf("%w in spec.workload.selector: %w", errInvalidSelector, err)
		}
		opts = append(opts, client.MatchingLabelsSelector{Selector: s})
	}
	if err := w.client.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("failed to list %ss: %w", b.Spec.Workload.Kind, err)
	}
	items := list.Items[:0]
	for _, item := range list.Items {
		if name := b.Spec.Workload.Name; name == "" || item.Name == name {
			items = append(items, item)
		}
	}
	return items, nil
}

// get reads one workload whole from the API server; nil when it is gone.
func (w *workloadProjections) get(ctx context.Context, kind resourcesv1alpha1.WorkloadKind, key client.ObjectKey) (client.Object, error) {
	obj, err := newWorkload(kind)
	if err != nil {
		return nil, err
	}
	if err := w.reader.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to get %s %s: %w", kind, key.Name, err)
	}
	return obj, nil
}

// patchTemplate applies mutate to a workload's pod template and patches the
// workload if it changed, with optimistic locking. It reports whether it did.
func (w *workloadProjections) patchTemplate(ctx context.Context, obj client.Object, mutate func(*corev1.PodTemplateSpec) bool) (bool, error) {
	base := obj.DeepCopyObject().(client.Object)
	tmpl, mutable := podTemplate(obj)
	if !mutable || !mutate(tmpl) {
		return false, nil
	}
	if err := w.client.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("failed to patch %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	return true, nil
}

// unproject takes the projection out of workload pw.
func (w *workloadProjections) unproject(ctx context.Context, b *resourcesv1alpha1.ResourceBinding, pw resourcesv1alpha1.ProjectedWorkload) error {
	obj, err := w.get(ctx, pw.Kind, client.ObjectKey{Namespace: b.Namespace, Name: pw.Name})
	if err != nil || obj == nil {
		return err // nil: already gone
	}
	changed, err := w.patchTemplate(ctx, obj, func(t *corev1.PodTemplateSpec) bool {
		return unproject(t, secretName(b), hashAnnotation(b.Name))
	})
	if changed {
		w.recorder.Eventf(b, obj, corev1.EventTypeNormal, resourcesv1alpha1.EventProjectionRemoved, "Unproject",
			"Projection of Secret %s removed from %s %s", secretName(b), pw.Kind, obj.GetName())
	}
	return err
}

// removeAll takes the projection out of every workload the binding
// projected into or matches now (the binding is being deleted).
func (w *workloadProjections) removeAll(ctx context.Context, b *resourcesv1alpha1.ResourceBinding) error {
	targets := b.Status.ProjectedWorkloads
	if items, err := w.matching(ctx, b); err == nil {
		for _, item := range items {
			targets = append(targets, resourcesv1alpha1.ProjectedWorkload{Kind: b.Spec.Workload.Kind, Name: item.Name})
		}
	}
	for _, pw := range targets {
		if err := w.unproject(ctx, b, pw); err != nil {
			return err
		}
	}
	return nil
}
