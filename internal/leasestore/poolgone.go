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
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// DeletePoolShards deletes the lease shard objects of pool namespace/name.
// The pool's finalizer calls it once every lease of the pool has ended:
// the shards are empty then, and nothing else would remove them (a
// ShardStore keeps empty shards while it runs). A write the store still
// has for such a shard finds it gone, reads it back and re-creates it,
// which only a pool re-created under the same name would do.
//
// reader lists from the API server: the manager does not cache Leases.
func DeletePoolShards(ctx context.Context, reader client.Reader, writer client.Writer, namespace, name string) error {
	var list coordinationv1.LeaseList
	if err := reader.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{
		LabelComponent: ComponentLeaseShard, resourcesv1alpha1.LabelPool: labelValue(name),
	}); err != nil {
		return fmt.Errorf("failed to list the lease shards of pool %s/%s: %w", namespace, name, err)
	}
	for i := range list.Items {
		if err := writer.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete lease shard %s/%s: %w", namespace, list.Items[i].Name, err)
		}
	}
	return nil
}
