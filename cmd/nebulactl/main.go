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

// Why one long file: the subcommands share the flags, the client and the
// output formats; each subcommand is a short function below.

// Command nebulactl leases slots of a ResourcePool through the lease API:
//
//	nebulactl lease acquire [--duration 5m] [--wait 1m] [-o json|env]
//	nebulactl lease renew ID [--duration 5m]
//	nebulactl lease release ID
//	nebulactl lease list
//	nebulactl lease run [--duration 5m] [--wait 1m] -- COMMAND [ARGS...]
//	nebulactl pool status
//
// It reads the binding's env (NEBULA_LEASE_ENDPOINT, NEBULA_TOKEN,
// NEBULA_BINDING; another prefix with --prefix). The token is only read from
// the env or --token-file, never from a flag (flags show in ps).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/bindingsecret"
	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
	"github.com/nebula-io/nebula-resource/pkg/leaseclient"
)

const usage = `nebulactl leases slots of a ResourcePool through the lease API.

Usage:
  nebulactl lease acquire [--duration D] [--wait D] [--holder NAME] [-o text|json|env]
  nebulactl lease renew ID [--duration D]
  nebulactl lease release ID
  nebulactl lease list [-o text|json]
  nebulactl lease run [--duration D] [--wait D] -- COMMAND [ARGS...]
  nebulactl pool status [-o text|json]

Settings come from the binding's env: PREFIX+LEASE_ENDPOINT, PREFIX+TOKEN,
PREFIX+BINDING and PREFIX+CA_CERT (the CA that verifies the lease API; without
it, the system roots) (PREFIX is NEBULA_ unless --prefix says otherwise).
--endpoint, --binding, --token-file and --ca-file override them.
`

func main() {
	code, err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nebulactl:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

type common struct {
	prefix, endpoint, binding, tokenFile, caFile, output string
}

func (c *common) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.prefix, "prefix", bindingsecret.DefaultPrefix, "prefix of the binding's env variables")
	fs.StringVar(&c.endpoint, "endpoint", "", "lease API URL (default: $PREFIX"+"LEASE_ENDPOINT)")
	fs.StringVar(&c.binding, "binding", "", "namespace/name of the binding (default: $PREFIX"+"BINDING)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the binding's token (default: $PREFIX"+"TOKEN)")
	fs.StringVar(&c.caFile, "ca-file", "", "file holding the CA that verifies the lease API (default: $PREFIX"+"CA_CERT; neither: system roots)")
	fs.StringVar(&c.output, "o", "text", "output: text, json or env (acquire)")
}

func (c *common) client() (*leaseclient.Client, error) {
	cfg := leaseclient.Config{
		Endpoint:   firstNonEmpty(c.endpoint, os.Getenv(c.prefix+bindingsecret.LeaseEndpoint)),
		Binding:    firstNonEmpty(c.binding, os.Getenv(c.prefix+"BINDING")),
		Token:      os.Getenv(c.prefix + bindingsecret.Token),
		CACert:     []byte(os.Getenv(c.prefix + bindingsecret.CACert)),
		CACertFrom: c.prefix + bindingsecret.CACert,
	}
	if c.caFile != "" {
		raw, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read the CA file: %w", err)
		}
		cfg.CACert, cfg.CACertFrom = raw, "--ca-file "+c.caFile
	}
	if c.tokenFile != "" {
		raw, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read the token file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(raw))
	}
	var missing []string
	if cfg.Endpoint == "" {
		missing = append(missing, c.prefix+"LEASE_ENDPOINT (or --endpoint)")
	}
	if cfg.Binding == "" {
		missing = append(missing, c.prefix+"BINDING (or --binding)")
	}
	if cfg.Token == "" {
		missing = append(missing, c.prefix+"TOKEN (or --token-file)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing settings: %s; run in a workload the binding projects into, or export them from the binding's Secret",
			strings.Join(missing, ", "))
	}
	return leaseclient.New(cfg)
}

// connect parses the args of a subcommand that takes only the common flags
// and returns the client they configure; its errors are usage errors.
func (c *common) connect(name string, args []string) (*leaseclient.Client, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c.bind(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c.client()
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// run executes a command line; it returns the exit code to use.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2, nil
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] + " " + args[1] {
	case "lease acquire":
		return leaseAcquire(ctx, args[2:], stdout, stderr)
	case "lease renew":
		return leaseRenew(ctx, args[2:], stdout)
	case "lease release":
		return leaseRelease(ctx, args[2:], stdout)
	case "lease list":
		return leaseList(ctx, args[2:], stdout)
	case "lease run":
		return leaseRun(ctx, args[2:], stdout, stderr)
	case "pool status":
		return poolStatus(ctx, args[2:], stdout)
	}
	fmt.Fprint(stderr, usage)
	return 2, fmt.Errorf("unknown command %q", strings.Join(args[:2], " "))
}

type acquireFlags struct {
	common
	duration, wait time.Duration
	holder         string
}

func parseAcquireFlags(name string, args []string) (*acquireFlags, *flag.FlagSet, error) {
	f := &acquireFlags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f.bind(fs)
	fs.DurationVar(&f.duration, "duration", 0, "lease duration (default: the binding's or pool's)")
	fs.DurationVar(&f.wait, "wait", 0, "wait up to this long for a slot (FIFO), showing the queue position")
	fs.StringVar(&f.holder, "holder", "", "who holds the lease (default: the host name)")
	return f, fs, fs.Parse(args)
}

// progress prints the queue position while an acquire waits.
func progress(stderr io.Writer, start time.Time) func(leaseapi.Waiting) {
	return func(w leaseapi.Waiting) {
		if w.Position > 0 {
			fmt.Fprintf(stderr, "waiting for a slot: position %d of %d in the queue, %s elapsed\n", w.Position, w.QueueDepth, time.Since(start).Round(time.Second))
		} else {
			fmt.Fprintf(stderr, "waiting for a slot: being granted, %s elapsed\n", time.Since(start).Round(time.Second))
		}
	}
}

func leaseAcquire(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	f, _, err := parseAcquireFlags("lease acquire", args)
	if err != nil {
		return 2, err
	}
	c, err := f.client()
	if err != nil {
		return 2, err
	}
	l, err := c.Acquire(ctx, leaseclient.AcquireOptions{Duration: f.duration, Wait: f.wait, Holder: f.holder,
		OnProgress: progress(stderr, time.Now()), NoAutoRenew: true})
	if err != nil {
		return exitCode(err), err
	}
	switch f.output {
	case "json":
		return 0, json.NewEncoder(stdout).Encode(l.Lease)
	case "env":
		for _, kv := range leaseEnv(f.prefix, l.Lease) {
			k, v, _ := strings.Cut(kv, "=")
			fmt.Fprintf(stdout, "export %s=%s\n", k, shellQuote(v))
		}
		return 0, nil
	}
	fmt.Fprintf(stdout, "lease %s\n  member   %s (slot %d)\n  address  %s\n  expires  %s (%s; renew with: nebulactl lease renew %s)\n",
		l.ID, l.Member, l.Slot, l.Address, l.ExpiresAt.Local().Format(time.RFC3339), l.Duration, l.ID)
	return 0, nil
}

func idArg(fs *flag.FlagSet) (string, error) {
	if fs.NArg() != 1 {
		return "", errors.New("give exactly one lease id")
	}
	return fs.Arg(0), nil
}

func leaseRenew(ctx context.Context, args []string, stdout io.Writer) (int, error) {
	var c common
	var d time.Duration
	fs := flag.NewFlagSet("lease renew", flag.ContinueOnError)
	c.bind(fs)
	fs.DurationVar(&d, "duration", 0, "new duration from now (default: the lease's own)")
	cl, id, err := c.connectWithID(fs, args)
	if err != nil {
		return 2, err
	}
	l, err := cl.Renew(ctx, id, d)
	if err != nil {
		return exitCode(err), err
	}
	fmt.Fprintf(stdout, "lease %s renewed until %s\n", l.ID, l.ExpiresAt.Local().Format(time.RFC3339))
	return 0, nil
}

// connectWithID parses fs (the common flags bound) and the lease id from
// args and returns the client they configure; its errors are usage errors.
func (c *common) connectWithID(fs *flag.FlagSet, args []string) (*leaseclient.Client, string, error) {
	id, err := parseWithID(fs, args)
	if err != nil {
		return nil, "", err
	}
	cl, err := c.client()
	return cl, id, err
}

// parseWithID accepts the lease id before or after the flags.
func parseWithID(fs *flag.FlagSet, args []string) (string, error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args[1:]); err != nil {
			return "", err
		}
		if fs.NArg() != 0 {
			return "", errors.New("give exactly one lease id")
		}
		return args[0], nil
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	return idArg(fs)
}

func leaseRelease(ctx context.Context, args []string, stdout io.Writer) (int, error) {
	var c common
	fs := flag.NewFlagSet("lease release", flag.ContinueOnError)
	c.bind(fs)
	cl, id, err := c.connectWithID(fs, args)
	if err != nil {
		return 2, err
	}
	if err := cl.Release(ctx, id); err != nil {
		return exitCode(err), err
	}
	fmt.Fprintf(stdout, "lease %s released\n", id)
	return 0, nil
}

// show runs a subcommand that takes only the common flags and prints what
// get reads: as JSON with -o json, otherwise as text does.
func show[T any](ctx context.Context, name string, args []string, stdout io.Writer,
	get func(*leaseclient.Client, context.Context) (T, error), text func(io.Writer, *leaseclient.Client, T)) (int, error) {
	var c common
	cl, err := c.connect(name, args)
	if err != nil {
		return 2, err
	}
	v, err := get(cl, ctx)
	if err != nil {
		return exitCode(err), err
	}
	if c.output == "json" {
		return 0, json.NewEncoder(stdout).Encode(v)
	}
	text(stdout, cl, v)
	return 0, nil
}

func leaseList(ctx context.Context, args []string, stdout io.Writer) (int, error) {
	return show(ctx, "lease list", args, stdout, (*leaseclient.Client).List, printLeaseList)
}

func printLeaseList(stdout io.Writer, cl *leaseclient.Client, list leaseapi.LeaseList) {
	quota := "no quota"
	if list.Quota > 0 {
		quota = fmt.Sprintf("quota %d", list.Quota)
	}
	fmt.Fprintf(stdout, "binding %s: %d lease(s), %s\n", cl.Binding(), len(list.Leases), quota)
	if len(list.Leases) > 0 {
		fmt.Fprintf(stdout, "%-32s  %-16s  %-21s  %-9s  %s\n", "ID", "MEMBER", "ADDRESS", "EXPIRES", "HOLDER")
		for _, l := range list.Leases {
			fmt.Fprintf(stdout, "%-32s  %-16s  %-21s  %-9s  %s\n", l.ID, l.Member, l.Address,
				"in "+time.Until(l.ExpiresAt).Round(time.Second).String(), l.Holder)
		}
	}
	for _, w := range list.Waiting {
		fmt.Fprintf(stdout, "waiting: %s at position %d of %d for %s\n", w.RequestID, w.Position, w.QueueDepth, w.Waited)
	}
}

func leaseRun(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	dash := -1
	for i, a := range args {
		if a == "--" {
			dash = i
			break
		}
	}
	if dash < 0 || dash == len(args)-1 {
		return 2, errors.New("usage: nebulactl lease run [flags] -- COMMAND [ARGS...]")
	}
	f, _, err := parseAcquireFlags("lease run", args[:dash])
	if err != nil {
		return 2, err
	}
	command := args[dash+1:]
	c, err := f.client()
	if err != nil {
		return 2, err
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := c.Acquire(actx, leaseclient.AcquireOptions{Duration: f.duration, Wait: f.wait, Holder: f.holder,
		OnProgress: progress(stderr, time.Now())})
	if err != nil {
		return exitCode(err), err
	}
	defer func() {
		if err := l.Close(); err != nil {
			fmt.Fprintf(stderr, "nebulactl: failed to release lease %s (it expires at %s): %v\n", l.ID, l.Deadline().Format(time.RFC3339), err)
		}
	}()
	fmt.Fprintf(stderr, "nebulactl: leased %s on %s (%s); running %s\n", l.ID, l.Member, l.Address, command[0])
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Env = append(os.Environ(), leaseEnv(f.prefix, l.Lease)...)
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("failed to run %s: %w", command[0], err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s) // the command decides; we release when it exits
		case <-l.Lost():
			fmt.Fprintf(stderr, "nebulactl: %v; stopping the command\n", l.Err())
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
					return 128 + int(st.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 1, err
			}
			return 0, nil
		}
	}
}

// leaseEnv is the lease as env variables for a command.
func leaseEnv(prefix string, l leaseapi.Lease) []string {
	env := []string{
		prefix + "LEASE_ID=" + l.ID,
		prefix + "MEMBER=" + l.Member,
		prefix + "ADDRESS=" + l.Address,
		prefix + "HOST=" + l.Host,
		prefix + "PORT=" + strconv.Itoa(l.Port),
		prefix + "LEASE_EXPIRES_AT=" + l.ExpiresAt.Format(time.RFC3339),
	}
	if l.URI != "" {
		env = append(env, prefix+"URI="+l.URI)
	}
	keys := make([]string, 0, len(l.Attributes))
	for k := range l.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, prefix+"ATTR_"+envName(k)+"="+l.Attributes[k])
	}
	return env
}

func envName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, k)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func poolStatus(ctx context.Context, args []string, stdout io.Writer) (int, error) {
	return show(ctx, "pool status", args, stdout, (*leaseclient.Client).PoolStatus,
		func(w io.Writer, _ *leaseclient.Client, st leaseapi.PoolStatus) { fmt.Fprint(w, formatPoolStatus(st)) })
}

// bar draws used/total as a utilization bar of width cells.
func bar(used, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("·", width) + "]"
	}
	full := min(width, (used*width+total-1)/total)
	if used == 0 {
		full = 0
	}
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", width-full) + "]"
}

func formatPoolStatus(st leaseapi.PoolStatus) string {
	var b strings.Builder
	pct := 0
	if st.Total > 0 {
		pct = st.Leased * 100 / st.Total
	}
	fmt.Fprintf(&b, "pool %s  %s %3d%%  %d/%d leased, %d available, %d unhealthy, %d waiting\n",
		st.Pool, bar(st.Leased, st.Total, 30), pct, st.Leased, st.Total, st.Available, st.Unhealthy, st.Waiting)
	quota := "no quota"
	if st.Quota > 0 {
		quota = fmt.Sprintf("quota %d", st.Quota)
	}
	fmt.Fprintf(&b, "this binding holds %d lease(s), %s\n", st.BindingLeases, quota)
	if st.PartitionMax > 0 {
		fmt.Fprintf(&b, "its partition %q holds %d of at most %d lease(s)\n", st.Partition, st.PartitionLeased, st.PartitionMax)
	}
	fmt.Fprintf(&b, "%-20s  %-10s  %-12s  %s\n", "MEMBER", "STATE", "LEASED", "")
	for _, m := range st.Members {
		line := fmt.Sprintf("%-20s  %-10s  %-12s  %s", m.Name, m.State, fmt.Sprintf("%d/%d", m.Leased, m.Capacity), bar(m.Leased, m.Capacity, 10))
		if m.Reason != "" && m.State != "Healthy" {
			line += "  " + m.Reason
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// exitCode maps an API error to an exit code: 3 unavailable/exhausted
// (retry later), 4 auth, 5 quota, 1 otherwise.
func exitCode(err error) int {
	var e *leaseapi.Error
	if !errors.As(err, &e) {
		return 1
	}
	switch e.Status {
	case 401, 403:
		return 4
	case 429:
		return 5
	case 503:
		return 3
	}
	return 1
}
