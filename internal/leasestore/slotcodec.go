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

package leasestore

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The per-slot layout (Store): one Lease object per held slot, with its
// record in annotations, one per field, so that `kubectl describe lease`
// reads it whole. The layout is fixed: the shard store still reads, renews
// and deletes objects written in it by earlier managers. slotFields is the
// one place that names its annotations and says how each field is written.

const annotationPrefix = "resources.nebula.io/"

// Annotations of the layout that code outside its codec reads too.
const (
	// AnnotationPool is the pool (namespace/name); shard objects carry it too.
	AnnotationPool = annotationPrefix + "pool"
	// AnnotationPartition is the pool partition the lease counts against
	// (absent when it counts against none).
	AnnotationPartition = annotationPrefix + "partition"
	// AnnotationCredentialVersion is the pool's credential version the lease
	// was granted under (a name, never a value), so that a restart ends it
	// when that version retires (absent on objects written before it).
	AnnotationCredentialVersion = annotationPrefix + "credential-version"
	// AnnotationRecycle ("pending") marks the object of a lease that ended
	// in a recycling pool: the slot is released but not cleaned yet, and
	// is cleaned before it is leased again, also after a restart.
	AnnotationRecycle = annotationPrefix + "recycle"
	// RecyclePending is AnnotationRecycle's value.
	RecyclePending = "pending"
)

// slotField is one annotation of the layout: put gives its value for a
// record (false: the annotation is left out), get reads it back into one.
type slotField struct {
	key string
	put func(r *leaseapi.Record) (string, bool)
	get func(r *leaseapi.Record, value string) error
}

// presence says whether a text annotation is written when its field is empty,
// and whether an object without it is a lease at all.
type presence int

const (
	required  presence = iota // always written; an object without it is no lease
	written                   // always written, may be empty
	omitEmpty                 // left out when empty (objects written before it have none)
)

var slotFields = []slotField{
	text(annotationPrefix+"lease-id", required, func(r *leaseapi.Record) *string { return &r.ID }),
	text(annotationPrefix+"binding", required, func(r *leaseapi.Record) *string { return &r.Binding }),
	text(annotationPrefix+"member", required, func(r *leaseapi.Record) *string { return &r.Member }),
	text(annotationPrefix+"holder", written, func(r *leaseapi.Record) *string { return &r.Holder }),
	text(AnnotationPool, required, func(r *leaseapi.Record) *string { return &r.Pool }),
	text(AnnotationPartition, omitEmpty, func(r *leaseapi.Record) *string { return &r.Partition }),
	text(AnnotationCredentialVersion, omitEmpty, func(r *leaseapi.Record) *string { return &r.CredentialVersion }),
	{key: annotationPrefix + "slot",
		put: func(r *leaseapi.Record) (string, bool) { return strconv.Itoa(r.Slot), true },
		get: func(r *leaseapi.Record, v string) (err error) { r.Slot, err = strconv.Atoi(v); return err }},
	instant(annotationPrefix+"expires-at", func(r *leaseapi.Record) *time.Time { return &r.ExpiresAt }),
	instant(annotationPrefix+"acquired-at", func(r *leaseapi.Record) *time.Time { return &r.AcquiredAt }),
	{key: annotationPrefix + "duration",
		put: func(r *leaseapi.Record) (string, bool) { return r.Duration.String(), true },
		get: func(r *leaseapi.Record, v string) (err error) { r.Duration, err = time.ParseDuration(v); return err }},
	{key: AnnotationRecycle,
		put: func(r *leaseapi.Record) (string, bool) { return RecyclePending, r.NeedsRecycle },
		get: func(r *leaseapi.Record, v string) error { r.NeedsRecycle = v == RecyclePending; return nil }},
}

// text is a string field under key.
func text(key string, p presence, field func(*leaseapi.Record) *string) slotField {
	return slotField{
		key: key,
		put: func(r *leaseapi.Record) (string, bool) { v := *field(r); return v, v != "" || p != omitEmpty },
		get: func(r *leaseapi.Record, v string) error {
			*field(r) = v
			if p == required && v == "" {
				return errors.New("missing")
			}
			return nil
		},
	}
}

// instant is a time field under key, in RFC 3339 with nanoseconds so that
// it reads back exactly.
func instant(key string, field func(*leaseapi.Record) *time.Time) slotField {
	return slotField{
		key: key,
		put: func(r *leaseapi.Record) (string, bool) { return field(r).UTC().Format(time.RFC3339Nano), true },
		get: func(r *leaseapi.Record, v string) (err error) {
			*field(r), err = time.Parse(time.RFC3339Nano, v)
			return err
		},
	}
}

func toObject(r *leaseapi.Record) (*coordinationv1.Lease, error) {
	poolNS, poolName, err := splitKey(r.Pool)
	if err != nil {
		return nil, err
	}
	bNS, bName, err := splitKey(r.Binding)
	if err != nil {
		return nil, err
	}
	annotations := make(map[string]string, len(slotFields))
	for _, f := range slotFields {
		if v, ok := f.put(r); ok {
			annotations[f.key] = v
		}
	}
	// The spec says the same for `kubectl get leases`, in whole seconds and
	// microseconds.
	secs := int32(min(math.Ceil(r.Duration.Seconds()), math.MaxInt32))
	acquired := metav1.NewMicroTime(r.AcquiredAt)
	renewed := metav1.NewMicroTime(r.ExpiresAt.Add(-r.Duration))
	holder := r.Binding + "/" + r.ID
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: poolNS, Name: ObjectName(poolName, r.Member, r.Slot), ResourceVersion: r.Version,
			Labels: map[string]string{
				resourcesv1alpha1.LabelManagedBy: resourcesv1alpha1.LabelManagedByValue,
				LabelComponent:                   ComponentLease,
				resourcesv1alpha1.LabelPool:      labelValue(poolName),
				resourcesv1alpha1.LabelBinding:   labelValue(bName),
				LabelBindingNS:                   bNS,
				LabelMember:                      r.Member,
			},
			Annotations: annotations,
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       &holder,
			LeaseDurationSeconds: &secs,
			AcquireTime:          &acquired,
			RenewTime:            &renewed,
		},
	}, nil
}

// FromObject decodes a lease object written by Store.
func FromObject(o *coordinationv1.Lease) (leaseapi.Record, error) {
	r := leaseapi.Record{Version: o.ResourceVersion}
	var errs []error
	for _, f := range slotFields {
		if err := f.get(&r, o.Annotations[f.key]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.key, err))
		}
	}
	if len(errs) > 0 {
		return r, fmt.Errorf("lease object %s/%s is not a nebula lease: %w", o.Namespace, o.Name, errors.Join(errs...))
	}
	return r, nil
}
