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

// Package cli is the command tree of nebulactl and of the kubectl plugin
// kubectl-nebula: one tree, built under either name.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Names the tree is built under.
const (
	NebulactlName = "nebulactl"
	PluginName    = "kubectl-nebula"
)

// app is what every command shares: the display name (for examples), the
// connection settings and the output streams.
type app struct {
	binary         string // NebulactlName or PluginName: the prefix of messages
	name           string // as typed: "nebulactl" or "kubectl nebula"
	settings       settings
	stdin          io.Reader
	stdout, stderr io.Writer
}

// NewRootCommand builds the command tree as binary (NebulactlName or
// PluginName) writing to stdout and stderr.
func NewRootCommand(binary string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{binary: binary, name: binary, stdin: stdin, stdout: stdout, stderr: stderr}
	a.settings.getenv = os.Getenv
	if binary == PluginName {
		a.name = "kubectl nebula"
	}
	root := &cobra.Command{
		Use:   binary,
		Short: "Lease slots of a ResourcePool through the nebula lease API",
		Long: `Lease slots of a ResourcePool through the nebula lease API.

Where the binding's env is set (NEBULA_LEASE_ENDPOINT, NEBULA_TOKEN,
NEBULA_BINDING and NEBULA_CA_CERT, as in a workload the binding projects into;
another prefix with --prefix), the lease API is called at that endpoint.
Otherwise --binding NAME [-n NAMESPACE] names a binding whose Secret is read
with your kubeconfig, and the lease API is reached through the Kubernetes API
server's service proxy, so it works from outside the cluster with your own
RBAC (get secrets, get services/proxy).

The token is read from the env, --token-file or the binding's Secret, never
from a flag (flags show in ps), and is never printed.

` + exitCodesHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: a.name},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	a.settings.bind(root.PersistentFlags())
	root.AddCommand(a.leaseCommand(), a.poolCommand(), a.describeCommand(), a.versionCommand())
	// Cobra adds its completion command on Execute; adding it now puts it in
	// the tree the help tests walk, and an unknown shell becomes a usage error.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Args, c.RunE = noArgs, helpOnly
	}
	return root
}

// Execute runs the tree as binary with args and returns the exit code,
// having printed any error on stderr.
func Execute(ctx context.Context, binary string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := cancelOnSignal(ctx)
	defer stop()
	root := NewRootCommand(binary, stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var in interrupted
	if err != nil && errors.As(context.Cause(ctx), &in) && errors.Is(err, context.Canceled) {
		// What the command waited for was cut short by the signal: say so,
		// and exit as a shell reports a command the signal ended.
		err = &exitError{code: 128 + int(in.sig), err: in}
	}
	code := ExitCode(err)
	var st exitStatus
	if err != nil && !errors.As(err, &st) {
		fmt.Fprintf(stderr, "%s: %v\n", binary, err)
		if code == ExitUsage {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", root.Annotations[cobra.CommandDisplayNameAnnotation])
		}
	}
	return code
}

// interrupted is the cause of a command's context cancelled by a signal.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted (" + i.sig.String() + ")" }

// cancelOnSignal is signal.NotifyContext for SIGINT and SIGTERM, with the
// signal kept as the context's cause so that the exit code can name it.
func cancelOnSignal(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			signal.Stop(sigs) // a second one ends the process at once
			cancel(interrupted{sig: s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}

// group is a command that only holds subcommands. It runs (printing its
// help) so that cobra checks its arguments: a command cobra cannot run
// takes any unknown subcommand for a request for help, and exits 0.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: noArgs, RunE: helpOnly}
	c.AddCommand(subs...)
	return c
}

func helpOnly(c *cobra.Command, _ []string) error { return c.Help() }

// noArgs, exactArgs and minArgs are cobra's argument checks as usage
// errors (exit 2).
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		if c.HasSubCommands() {
			return usageError(fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()))
		}
		return usageError(cobra.NoArgs(c, args))
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error { return usageError(cobra.ExactArgs(n)(c, args)) }
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error { return usageError(cobra.RangeArgs(lo, hi)(c, args)) }
}

// leafCommand is a command with one line of help, its arguments' rule and
// examples (see examples).
func (a *app) leafCommand(use, short string, args cobra.PositionalArgs, examples ...string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, Example: a.examples(examples...)}
}

// examples formats example lines for a command's help, with the name the
// tree is built under.
func (a *app) examples(lines ...string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\n")
		}
		if strings.HasPrefix(l, "#") {
			b.WriteString("  " + l)
			continue
		}
		b.WriteString("  " + a.name + " " + l)
	}
	return b.String()
}
