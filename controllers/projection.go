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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// A projection adds, to a workload's pod template, one envFrom entry for the
// binding's Secret (on every container, or the named ones) and one annotation
// holding the Secret's content hash, so that a change of the Secret rolls the
// workload out. Removing it takes away exactly those two things.

// hashAnnotation is the per-binding annotation key, so that several bindings
// can project into one workload without overwriting each other.
func hashAnnotation(bindingName string) string {
	name := "binding-hash-" + bindingName
	if len(name) > 63 {
		sum := sha256.Sum256([]byte(bindingName))
		name = "binding-hash-" + hex.EncodeToString(sum[:])[:40]
	}
	return "resources.nebula.io/" + name
}

// contentHash is a stable hash of a Secret's data.
func contentHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s=%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// podTemplate returns the pod template of a workload object, and whether the
// template may be changed after creation.
func podTemplate(obj client.Object) (tmpl *corev1.PodTemplateSpec, mutable bool) {
	switch w := obj.(type) {
	case *appsv1.Deployment:
		return &w.Spec.Template, true
	case *appsv1.StatefulSet:
		return &w.Spec.Template, true
	case *appsv1.DaemonSet:
		return &w.Spec.Template, true
	case *batchv1.Job:
		return &w.Spec.Template, false
	case *corev1.Pod:
		return &corev1.PodTemplateSpec{ObjectMeta: w.ObjectMeta, Spec: w.Spec}, false
	}
	return nil, false
}

// projectedAtCreation reports whether workloads of kind get a binding's env
// only when they are created (by the webhook): their pod template cannot
// change afterwards.
func projectedAtCreation(kind resourcesv1alpha1.WorkloadKind) bool {
	return kind == resourcesv1alpha1.WorkloadKindJob || kind == resourcesv1alpha1.WorkloadKindPod
}

// newWorkload returns an empty object of a workload kind.
func newWorkload(kind resourcesv1alpha1.WorkloadKind) (client.Object, error) {
	switch kind {
	case resourcesv1alpha1.WorkloadKindDeployment:
		return &appsv1.Deployment{}, nil
	case resourcesv1alpha1.WorkloadKindStatefulSet:
		return &appsv1.StatefulSet{}, nil
	case resourcesv1alpha1.WorkloadKindDaemonSet:
		return &appsv1.DaemonSet{}, nil
	case resourcesv1alpha1.WorkloadKindJob:
		return &batchv1.Job{}, nil
	case resourcesv1alpha1.WorkloadKindPod:
		return &corev1.Pod{}, nil
	}
	return nil, fmt.Errorf("unsupported workload kind %q", kind)
}

// envConflict finds an env var a target container already sets that the
// binding's Secret would shadow, so it is refused instead of silently changed.
func envConflict(tmpl *corev1.PodTemplateSpec, containers []string, keys []string) (container, name string) {
	for i := range tmpl.Spec.Containers {
		c := &tmpl.Spec.Containers[i]
		if !targeted(c.Name, containers) {
			continue
		}
		for _, e := range c.Env {
			if slices.Contains(keys, e.Name) {
				return c.Name, e.Name
			}
		}
	}
	return "", ""
}

// missingContainers lists named containers that the template does not have.
func missingContainers(tmpl *corev1.PodTemplateSpec, containers []string) []string {
	var missing []string
	for _, want := range containers {
		if !slices.ContainsFunc(tmpl.Spec.Containers, func(c corev1.Container) bool { return c.Name == want }) {
			missing = append(missing, want)
		}
	}
	return missing
}

func targeted(name string, containers []string) bool {
	return len(containers) == 0 || slices.Contains(containers, name)
}

// project adds the envFrom entry and the hash annotation; it reports whether
// anything changed.
func project(tmpl *corev1.PodTemplateSpec, containers []string, secretName, annotation, hash string) bool {
	changed := false
	for i := range tmpl.Spec.Containers {
		c := &tmpl.Spec.Containers[i]
		has := hasEnvFrom(c, secretName)
		switch want := targeted(c.Name, containers); {
		case want && !has:
			c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: secretName}}})
			changed = true
		case !want && has:
			removeEnvFrom(c, secretName)
			changed = true
		}
	}
	if tmpl.Annotations[annotation] != hash {
		if tmpl.Annotations == nil {
			tmpl.Annotations = map[string]string{}
		}
		tmpl.Annotations[annotation] = hash
		changed = true
	}
	return changed
}

// unproject removes exactly what project added; it reports whether anything changed.
func unproject(tmpl *corev1.PodTemplateSpec, secretName, annotation string) bool {
	changed := false
	for i := range tmpl.Spec.Containers {
		if removeEnvFrom(&tmpl.Spec.Containers[i], secretName) {
			changed = true
		}
	}
	if _, ok := tmpl.Annotations[annotation]; ok {
		delete(tmpl.Annotations, annotation)
		if len(tmpl.Annotations) == 0 {
			tmpl.Annotations = nil
		}
		changed = true
	}
	return changed
}

func hasEnvFrom(c *corev1.Container, secretName string) bool {
	return slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.SecretRef != nil && e.SecretRef.Name == secretName && e.Prefix == ""
	})
}

func removeEnvFrom(c *corev1.Container, secretName string) bool {
	before := len(c.EnvFrom)
	c.EnvFrom = slices.DeleteFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.SecretRef != nil && e.SecretRef.Name == secretName && e.Prefix == ""
	})
	if len(c.EnvFrom) == 0 {
		c.EnvFrom = nil
	}
	return len(c.EnvFrom) != before
}

// projection is one binding's Secret as it is projected into workloads:
// the checks and the change are the same for the reconciler (Deployments,
// StatefulSets, DaemonSets) and the webhook (Jobs and Pods at creation).
type projection struct {
	binding    *resourcesv1alpha1.ResourceBinding
	secretName string
	keys       []string // the Secret's keys: the env variables it sets
	hash       string
	annotation string
}

func newProjection(b *resourcesv1alpha1.ResourceBinding, secret *corev1.Secret) projection {
	keys := make([]string, 0, len(secret.Data))
	for k := range secret.Data {
		keys = append(keys, k)
	}
	return projection{binding: b, secretName: secret.Name, keys: keys, hash: contentHash(secret.Data), annotation: hashAnnotation(b.Name)}
}

// refusal says why the Secret cannot be projected into tmpl, the template
// of workload name: a container the binding names is missing, or a
// container already sets an env variable the Secret would shadow. reason
// is "" when it can.
func (p projection) refusal(tmpl *corev1.PodTemplateSpec, name string) (reason, problem string) {
	w := p.binding.Spec.Workload
	if missing := missingContainers(tmpl, w.Containers); len(missing) > 0 {
		return resourcesv1alpha1.ReasonContainerNotFound, fmt.Sprintf("%s %s has no container %s", w.Kind, name, strings.Join(missing, ", "))
	}
	if c, env := envConflict(tmpl, w.Containers, p.keys); c != "" {
		return resourcesv1alpha1.ReasonEnvConflict, fmt.Sprintf("container %s of %s %s already sets %s, which the binding would shadow; change spec.env.prefix",
			c, w.Kind, name, env)
	}
	return "", ""
}

// fingerprint identifies everything the projection into a template
// depends on besides the template itself: the Secret's content and name
// and the containers the binding names. A workload whose spec did not
// change since it was seen carrying the same fingerprint needs nothing.
func (p projection) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", p.hash, p.secretName, strings.Join(p.binding.Spec.Workload.Containers, "\x00"))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// apply projects the Secret into tmpl; it reports whether anything changed.
func (p projection) apply(tmpl *corev1.PodTemplateSpec) bool {
	return project(tmpl, p.binding.Spec.Workload.Containers, p.secretName, p.annotation, p.hash)
}
