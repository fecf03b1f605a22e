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

// Package credentials reads, caches, rotates and audits the credentials a
// ResourcePool hands to its members' health checks, its leases and its bound
// workloads. It never puts a value in a log, an error, an event, a metric or
// status.
//
// # Pieces
//
//   - Reference names a credential: namespace, Secret name, username key,
//     password key. It holds no value.
//   - Provider reads a Reference (Fetch), tells its current revision cheaply
//     (Revision) and checks its shape (Validate). Renewer and Revoker are
//     optional capabilities detected by type assertion. SecretProvider reads
//     Kubernetes Secrets: values on demand through an uncached reader
//     (mgr.GetAPIReader()), revisions from Secret metadata; nothing caches
//     Secret data cluster-wide. FileProvider reads a Secret-volume-like
//     directory tree (local runs, tests).
//   - Value is one version of a credential: Username, Password
//     (drivers.Secret), Version, Revision. It redacts the password in fmt,
//     encoding/json, log/slog and logr output and converts to
//     drivers.Credentials. Version is a hash of the provider, the reference
//     and the source revision (the Secret's resourceVersion): stable, short,
//     never derived reversibly from a value.
//   - Cache serves values keyed by (reference, revision), one provider call
//     per key however many callers ask at once, never caching a failure or a
//     truncated read; its clock is injected.
//   - Schedule.Decide is the rotation schedule: a pure function of now, the
//     interval, the versions, the rotate annotation and the last handled
//     request. Rotation tracks one pool's current version and the previous
//     versions in their grace period (Accept, Valid, Retire), at most
//     MaxRetiring of them; RestoreRotation rebuilds it from a record of
//     Current and Retiring after a restart.
//   - Auditor writes one structured record per read, rotation, retirement and
//     failure (pool, binding, actor, Secret, version, outcome, time) to its
//     own *slog.Logger and counts them in Metrics, which are registered
//     explicitly (Metrics.Register), never in init.
//   - WatchReferencedSecrets and SecretReferrers (watch.go, the only file
//     importing controller-runtime's builder and handler) register a
//     metadata-only watch of Secrets mapped, through a field index, to the
//     objects that reference them.
//
// Errors are *Error values: errors.Is(err, ErrSecretNotFound),
// ErrKeyMissing, ErrInvalidReference, ErrUnavailable; Reason() (or ReasonOf)
// is a condition reason (SecretNotFound, SecretKeyMissing, ...) and
// Retryable tells a transient failure from one that waits for a change. The
// message names the Secret and the key, never the value.
//
// # Use from the ResourcePool reconciler
//
// Wiring (controllers.SetupWithManager):
//
//	metrics := credentials.NewMetrics()
//	if err := metrics.Register(ctrlmetrics.Registry); err != nil { ... }
//	audit := credentials.NewAuditor(credentials.AuditOptions{
//		Logger:  slog.New(logr.ToSlogHandler(mgr.GetLogger().WithName("credentials-audit"))),
//		Metrics: metrics,
//	})
//	provider := credentials.NewSecretProvider(mgr.GetAPIReader(), mgr.GetClient())
//	cache := credentials.NewCache(provider, credentials.CacheOptions{Now: now, Audit: audit})
//
// Watch (ResourcePoolReconciler.SetupWithManager), replacing a typed
// Watches(&corev1.Secret{}, ...):
//
//	refs := credentials.SecretReferrers{
//		Object:  &v1alpha1.ResourcePool{},
//		NewList: func() client.ObjectList { return &v1alpha1.ResourcePoolList{} },
//		Field:   ".spec.credentials.secretRef.name",
//		SecretNames: func(o client.Object) []string { ... },
//	}
//	if err := refs.Index(ctx, mgr.GetFieldIndexer()); err != nil { ... }
//	b := ctrl.NewControllerManagedBy(mgr).For(&v1alpha1.ResourcePool{}, ...)
//	b = credentials.WatchReferencedSecrets(b, mgr.GetClient(), refs)
//
// Each reconcile:
//
//	// First sight of the pool since the process started:
//	rotation := credentials.RestoreRotation(status.Version, status.LastRotationTime, status.Retiring)
//	retired := rotation.Retire(now) // end their leases; audit ActionRetire for each
//	v, err := cache.Get(ctx, ref, credentials.Access{Pool: key, Actor: "resourcepool-controller"})
//	// err: set CredentialsReady=False with credentials.ReasonOf(err) and
//	// err.Error(); return err only when credentials.IsRetryable(err).
//	d := credentials.Schedule{Interval: ..., GracePeriod: ...}.Decide(now, credentials.ScheduleState{
//		LastRotation: status.LastRotationTime, CurrentVersion: status.Version,
//		LatestVersion: v.Version, RotateRequest: pool.Annotations[AnnotationRotate],
//		LastHandledRequest: status.LastHandledRotateRequest,
//		NextRetirement: rotation.NextRetirement(),
//	})
//	if d.Rotate {
//		// Interval or Requested: cache.Invalidate(ref) and Get again (re-read).
//		// Hand v.Credentials() to the live pool (members re-validated),
//		// then, on success only:
//		prev, _ := rotation.Accept(v.Version, now, grace)
//		rotation.Retire(now) // versions Accept pushed past MaxRetiring
//		// status: Version=v.Version, LastRotationTime=now,
//		// LastHandledRotateRequest=d.HandledRequest; audit ActionRotate
//		// (Trigger d.Trigger, PreviousVersion prev); event CredentialsRotated.
//	}
//	// status: Retiring=rotation.Retiring(), whenever it changed.
//	// RequeueAfter: min(other requeues, d.RequeueAfter(now)).
//
// Leases on a previous version keep working until released or until its
// grace period ends; then the reconciler ends the leases granted under it
// that are still held. Rotation.Valid answers the same
// question for a caller that checks a version itself. A Rotation lives in
// memory; status.credentials (version, lastRotationTime, retiring) is its
// durable record, so a restarted manager honours and retires the same
// versions at the same times.
//
// # Locking
//
//   - Cache: one mutex guards its entries, in-flight fetches and epoch;
//     provider calls and audit writes run outside it. Each fetch runs in its
//     own goroutine bounded by FetchTimeout and detached from callers'
//     contexts; callers wait on a channel or their own context.
//   - Rotation: one mutex guards every field.
//   - Auditor and Metrics: no lock of their own (slog handlers and Prometheus
//     counters are safe for concurrent use).
//
// # Limits
//
//   - A Secret's version changes with its resourceVersion, so a metadata-only
//     change (a label) starts a rotation too; the API documents that "a
//     change to the Secret always starts a rotation".
//   - FileProvider versions are keyed per provider instance: a restarted
//     process sees new versions (one extra rotation) but a version never
//     reveals a value, not even a weak one.
//   - Previous versions are recorded with second precision (status times
//     are RFC 3339): a restarted manager retires them up to a second later
//     than the one that accepted the rotation would have, never earlier.
//   - More than MaxRetiring rotations within one grace period end the grace
//     period of the oldest previous versions early.
//   - drivers.Secret redacts itself through its methods; a Secret stored in
//     an unexported struct field of some other type is printed raw by fmt
//     (see drivers.Secret). Value keeps it in an exported field and
//     implements every formatting interface itself.
package credentials
