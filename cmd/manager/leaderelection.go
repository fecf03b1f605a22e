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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"

	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nebula-io/nebula-resource/controllers"
	"github.com/nebula-io/nebula-resource/internal/leadership"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// leaderElectionID names the election Lease.
const leaderElectionID = "nebula-resource.resources.nebula.io"

// leaderElectionFlags are the replica settings. The default timings: a
// graceful stop releases the lease at once (the standby notices within a
// retry period, 1s); a crashed leader is replaced after the lease duration
// (8s) plus up to a retry period (1s), then the new leader rebuilds its
// lease table (well under a second for thousands of leases). client-go's
// 15s/10s/2s made a crash cost 15-18s of no grants; shorter than 8s/5s
// makes a slow API server (a renewal that takes seconds under load) cost a
// needless failover, which is worse than a few more seconds after a crash.
type leaderElectionFlags struct {
	enabled       bool
	namespace     string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
	advertise     string
}

func bindLeaderElectionFlags(fs *flag.FlagSet, f *leaderElectionFlags) {
	fs.BoolVar(&f.enabled, "leader-elect", false,
		"Enable leader election so only one replica reconciles and grants leases (the others forward to it).")
	fs.StringVar(&f.namespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease (default: $POD_NAMESPACE, else the in-cluster namespace; required outside a cluster).")
	fs.DurationVar(&f.leaseDuration, "leader-election-lease-duration", 8*time.Second,
		"How long a standby waits after the leader stopped renewing before it takes over (and grants leases).")
	fs.DurationVar(&f.renewDeadline, "leader-election-renew-deadline", 5*time.Second,
		"How long the leader keeps granting without a successful renewal of its leadership; then it stops.")
	fs.DurationVar(&f.retryPeriod, "leader-election-retry-period", time.Second,
		"How often candidates try to acquire or renew leadership.")
	fs.StringVar(&f.advertise, "lease-api-advertise-address", "",
		"host:port at which the other replicas reach this one's lease API, to forward to the leader "+
			"(default: $POD_IP and the port of --lease-api-bind-address).")
}

// setupLeaderElection checks the flags and sets the manager's leader
// election options. The lock is built here (not by controller-runtime) so
// that its identity carries the advertised lease API address and its
// records feed the fence; nil when leader election is off.
func setupLeaderElection(cfg *rest.Config, f leaderElectionFlags, leaseAPIAddr string, o *ctrl.Options) (*leadership.Lock, error) {
	o.LeaderElection = f.enabled
	o.LeaderElectionID = leaderElectionID
	o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = &f.leaseDuration, &f.renewDeadline, &f.retryPeriod
	// Release leadership on a graceful stop so that a standby takes over at once.
	o.LeaderElectionReleaseOnCancel = true
	if !f.enabled {
		return nil, nil
	}
	switch {
	case f.renewDeadline >= f.leaseDuration:
		return nil, fmt.Errorf("--leader-election-renew-deadline (%s) must be shorter than --leader-election-lease-duration (%s)", f.renewDeadline, f.leaseDuration)
	case f.retryPeriod <= 0 || float64(f.retryPeriod)*1.2 >= float64(f.renewDeadline):
		return nil, fmt.Errorf("--leader-election-retry-period (%s) must be positive and under --leader-election-renew-deadline/1.2 (%s)", f.retryPeriod, f.renewDeadline)
	}
	ns, err := electionNamespace(f.namespace)
	if err != nil {
		return nil, err
	}
	advertise, err := advertiseAddress(f.advertise, leaseAPIAddr)
	if err != nil {
		return nil, err
	}
	lock, err := leadership.New(cfg, leadership.Config{Namespace: ns, Name: leaderElectionID, Advertise: advertise,
		RenewDeadline: f.renewDeadline, Log: ctrl.Log.WithName("leaderelection")})
	if err != nil {
		return nil, err
	}
	o.LeaderElectionNamespace = ns
	o.LeaderElectionResourceLockInterface = lock
	return lock, nil
}

func electionNamespace(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if ns, ok := podNamespace(); ok {
		return ns, nil
	}
	return "", errors.New("--leader-election-namespace is required with --leader-elect outside a cluster " +
		"(in a pod it defaults to $POD_NAMESPACE or the service account's namespace)")
}

// advertiseAddress is the flag's value, else $POD_IP with the lease API's
// port; "" when the lease API is off (there is nothing to forward to).
func advertiseAddress(flagValue, leaseAPIAddr string) (string, error) {
	if leaseAPIAddr == "0" {
		return "", nil
	}
	addr := flagValue
	if addr == "" {
		ip := os.Getenv("POD_IP")
		_, port, err := net.SplitHostPort(leaseAPIAddr)
		if ip == "" || err != nil || port == "" || port == "0" {
			return "", errors.New("--lease-api-advertise-address is required with --leader-elect when $POD_IP is not set: " +
				"the host:port at which the other replicas reach this replica's lease API")
		}
		addr = net.JoinHostPort(ip, port)
	}
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
		return "", fmt.Errorf("--lease-api-advertise-address %q must be host:port", addr)
	}
	return addr, nil
}

// replicaLeadership is what the lease API asks about leader election.
type replicaLeadership struct {
	lock    *leadership.Lock // nil: leader election is off
	elected <-chan struct{}
}

var _ leaseapi.Leadership = replicaLeadership{}

// Leading: elected, and (with leader election) the fence is open.
func (r replicaLeadership) Leading() bool {
	select {
	case <-r.elected:
	default:
		return false
	}
	return r.lock == nil || r.lock.Fresh()
}

func (r replicaLeadership) LeaderAddress() string {
	if r.lock == nil {
		return ""
	}
	return r.lock.LeaderAddress()
}

func (r replicaLeadership) IsSelf(addr string) bool { return r.lock == nil || r.lock.IsSelf(addr) }

// peerTransport reaches the leader's lease API: over TLS when this replica
// serves TLS, verified with the CA the replicas serve under (the one binding
// Secrets hand to workloads; read on each handshake so a rotation is picked
// up; the system roots when it is unknown) for the name in --lease-api-url,
// which the serving certificate covers (pod IPs are not in it).
func peerTransport(opts options, serveTLS bool, ca controllers.LeaseCA) (http.RoundTripper, string, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 2 * time.Second
	t.MaxIdleConnsPerHost = 64
	t.Proxy = nil
	if !serveTLS {
		return t, "http", nil
	}
	u, err := url.Parse(opts.leaseAPIURL)
	if err != nil || u.Hostname() == "" {
		return nil, "", fmt.Errorf("--lease-api-url %q is not a URL with a host name", opts.leaseAPIURL)
	}
	t.TLSClientConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: u.Hostname(),
		// Verified below with the current CA; the standard check would pin
		// the CA known at start.
		InsecureSkipVerify: true, //nolint:gosec
		VerifyConnection: func(cs tls.ConnectionState) error {
			var pem []byte
			if ca != nil {
				pem = ca.CA()
			}
			return verifyPeer(cs, u.Hostname(), pem)
		},
	}
	return t, "https", nil
}

func verifyPeer(cs tls.ConnectionState, name string, caPEM []byte) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the leader presented no certificate")
	}
	var roots *x509.CertPool
	if len(caPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			return errors.New("the lease API's CA holds no PEM certificate")
		}
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("the leader's certificate does not verify for %s: %w", name, err)
	}
	return nil
}

// frontLeaseAPI makes the replicas' Front (the lease API server's
// middleware) and adds it to the manager.
func frontLeaseAPI(mgr ctrl.Manager, svc *leaseapi.Service, lead replicaLeadership, opts options,
	serveTLS bool, ca controllers.LeaseCA) (*leaseapi.Front, error) {
	transport, scheme, err := peerTransport(opts, serveTLS, ca)
	if err != nil {
		return nil, err
	}
	front := leaseapi.NewFront(nil, leaseapi.FrontConfig{Leadership: lead, Restored: svc.Ready, Scheme: scheme,
		Transport: transport, Log: ctrl.Log.WithName("leaseapi").WithName("front")})
	if err := mgr.Add(front); err != nil {
		return nil, fmt.Errorf("failed to add the lease API front: %w", err)
	}
	return front, nil
}
