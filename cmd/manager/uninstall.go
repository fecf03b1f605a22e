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

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// runUninstall is `manager uninstall`, the Helm chart's pre-delete hook:
// it deletes every ResourceBinding, then every ResourcePool, and waits
// until they are gone, while the manager still runs to take its
// projections out of the workloads, release the slots and remove its
// finalizers. Without it, helm uninstall would leave objects whose
// finalizers nobody removes, and deleting the CRDs would hang on them.
func runUninstall(args []string) error {
	fs := flag.NewFlagSet("uninstall", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the manager to finish each kind")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("uninstall: no cluster configuration: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := resourcesv1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	ctx := context.Background()
	// Bindings first: deleting one ends its leases on its pool.
	if err := deleteAllAndWait(ctx, c, "ResourceBindings", &resourcesv1alpha1.ResourceBindingList{}, *timeout); err != nil {
		return err
	}
	return deleteAllAndWait(ctx, c, "ResourcePools", &resourcesv1alpha1.ResourcePoolList{}, *timeout)
}

func deleteAllAndWait(ctx context.Context, c client.Client, kind string, list client.ObjectList, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	lastReport := ""
	for {
		if err := c.List(ctx, list); err != nil {
			return fmt.Errorf("uninstall: list %s: %w", kind, err)
		}
		objs, err := objectsOf(list)
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			fmt.Fprintf(os.Stderr, "uninstall: no %s left\n", kind)
			return nil
		}
		var names []string
		for _, o := range objs {
			names = append(names, o.GetNamespace()+"/"+o.GetName())
			if o.GetDeletionTimestamp() == nil {
				if err := c.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
					return fmt.Errorf("uninstall: delete %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
				}
			}
		}
		report := fmt.Sprintf("waiting for the manager to finish %d %s: %s", len(objs), kind, strings.Join(names, ", "))
		if report != lastReport {
			fmt.Fprintf(os.Stderr, "uninstall: %s\n", report)
			lastReport = report
		}
		if time.Now().After(deadline) {
			return errors.New("uninstall: timed out " + report + " (is the manager running?)")
		}
		time.Sleep(time.Second)
	}
}

func objectsOf(list client.ObjectList) ([]client.Object, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("uninstall: %w", err)
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		o, ok := it.(client.Object)
		if !ok {
			return nil, fmt.Errorf("uninstall: unexpected item %T", it)
		}
		out = append(out, o)
	}
	return out, nil
}
