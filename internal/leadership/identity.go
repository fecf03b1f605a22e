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

package leadership

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// addressSeparator separates the unique part of an identity from the lease
// API address it advertises. An address never contains it; a host name never does.
const addressSeparator = "@"

// NewIdentity is "<hostname>_<uuid>@<advertise>" (controller-runtime's
// default identity plus the address), or without "@..." when advertise is "".
func NewIdentity(advertise string) (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("failed to read the host name for the leader election identity: %w", err)
	}
	id := host + "_" + string(uuid.NewUUID())
	if advertise != "" {
		id += addressSeparator + advertise
	}
	return id, nil
}

// AddressOf is the lease API address an identity advertises ("" for none).
func AddressOf(identity string) string {
	i := strings.LastIndex(identity, addressSeparator)
	if i < 0 {
		return ""
	}
	return identity[i+len(addressSeparator):]
}

// Config are the settings of the election lock.
type Config struct {
	Namespace, Name string
	// Advertise is this replica's lease API address (host:port) as the other
	// replicas reach it.
	Advertise     string
	RenewDeadline time.Duration
	Log           logr.Logger
}

// New builds the Leases lock the way controller-runtime would (same lock
// type, user agent and request timeout), with the advertised address in its
// identity, wrapped in the fence. Pass it as
// ctrl.Options.LeaderElectionResourceLockInterface.
func New(cfg *rest.Config, c Config) (*Lock, error) {
	id, err := NewIdentity(c.Advertise)
	if err != nil {
		return nil, err
	}
	lc := rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	// A hung request must not use up the whole renew deadline.
	lc.Timeout = max(c.RenewDeadline/2, time.Second)
	coord, err := coordinationv1client.NewForConfig(lc)
	if err != nil {
		return nil, fmt.Errorf("failed to create the leader election client: %w", err)
	}
	inner, err := resourcelock.New(resourcelock.LeasesResourceLock, c.Namespace, c.Name, nil, coord,
		resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return nil, fmt.Errorf("failed to create the leader election lock %s/%s: %w", c.Namespace, c.Name, err)
	}
	return Wrap(inner, c.RenewDeadline, c.Log), nil
}
