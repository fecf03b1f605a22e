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

	ctrl "sigs.k8s.io/controller-runtime"
)

// phase is one step of a reconcile, over the reconcile's state T. It
// returns when to look again, whether the steps after it are to be skipped
// (without an error: a fact it recorded says why), and an error to retry
// with backoff.
type phase[T any] func(ctx context.Context, rc T) (result ctrl.Result, stop bool, err error)

// runPhases runs phases in order until one fails or stops, and merges
// their results: the soonest requeue wins. (Cluster API's doReconcile.)
// Both reconcilers run their phases through it.
func runPhases[T any](ctx context.Context, rc T, phases ...phase[T]) (ctrl.Result, error) {
	var merged ctrl.Result
	for _, p := range phases {
		res, stop, err := p(ctx, rc)
		if err != nil {
			return ctrl.Result{}, err
		}
		merged = sooner(merged, res)
		if stop {
			break
		}
	}
	return merged, nil
}

// sooner merges two results: the sooner non-zero RequeueAfter.
func sooner(a, b ctrl.Result) ctrl.Result {
	if a.RequeueAfter == 0 || (b.RequeueAfter > 0 && b.RequeueAfter < a.RequeueAfter) {
		a.RequeueAfter = b.RequeueAfter
	}
	return a
}
