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

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) runCommand() *cobra.Command {
	var f acquireFlags
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]",
		Short: "Run a command while holding a lease, with the lease in its env; release it when the command exits",
		Long: `Run a command while holding a lease. The command gets the lease in its env
(NEBULA_LEASE_ID, NEBULA_MEMBER, NEBULA_ADDRESS, NEBULA_HOST, NEBULA_PORT,
NEBULA_LEASE_EXPIRES_AT, NEBULA_URI and NEBULA_ATTR_*; another prefix with
--prefix). The lease renews itself while the command runs and is released when
it exits; if the lease is lost, the command gets SIGTERM. Signals are passed
on to the command. The exit code is the command's.`,
		Args: func(c *cobra.Command, args []string) error {
			if c.ArgsLenAtDash() != 0 || len(args) == 0 {
				return usageError(errors.New("give the command after --: run [flags] -- COMMAND [ARGS...]"))
			}
			return nil
		},
		Example: a.examples(
			`lease run --wait 1m -- sh -c 'psql "host=$NEBULA_HOST port=$NEBULA_PORT"'`,
			"lease run --binding ci -n team-a --duration 10m -- make integration-test"),
	}
	f.bind(cmd)
	cmd.RunE = func(cmd *cobra.Command, command []string) error {
		// A signal while waiting cancels the acquire; once the lease is
		// held, signals go to the command and the lease lives until it exits.
		ctx := cmd.Context()
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		l, err := a.acquire(lctx, f, true)
		stop()
		if err != nil {
			return err
		}
		defer func() {
			if err := l.Close(); err != nil {
				fmt.Fprintf(a.stderr, "%s: failed to release lease %s (it expires at %s): %v\n", a.binary, l.ID, l.Deadline().Format(time.RFC3339), err)
			}
		}()
		fmt.Fprintf(a.stderr, "%s: leased %s on %s (%s); running %s\n", a.binary, l.ID, l.Member, l.Address, command[0])
		child := exec.Command(command[0], command[1:]...)
		child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, a.stderr
		child.Env = append(os.Environ(), leaseEnv(a.settings.prefix, l.Lease)...)
		if err := child.Start(); err != nil {
			return &exitError{code: ExitNoCommand, err: fmt.Errorf("failed to run %s: %w", command[0], err)}
		}
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		exited := make(chan error, 1)
		go func() { exited <- child.Wait() }()
		for {
			select {
			case s := <-sigs:
				_ = child.Process.Signal(s) // the command decides; the lease is released when it exits
			case <-l.Lost():
				fmt.Fprintf(a.stderr, "%s: %v; stopping the command\n", a.binary, l.Err())
				_ = child.Process.Signal(syscall.SIGTERM)
			case err := <-exited:
				return commandExit(err)
			}
		}
	}
	return cmd
}

// commandExit is the exit status that passes the command's on.
func commandExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return exitStatus(128 + int(st.Signal()))
		}
		return exitStatus(ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("the command failed: %w", err)
	}
	return nil
}
