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
	"errors"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// Exit codes, as the root command's help documents them.
const (
	ExitOK          = 0
	ExitError       = 1 // anything not below
	ExitUsage       = 2 // bad flags or arguments, missing settings
	ExitUnavailable = 3 // no slot (pool exhausted or unavailable): retry later
	ExitAuth        = 4 // the token or the Kubernetes user was refused
	ExitQuota       = 5 // the binding holds its leases.max
	ExitNoCommand   = 127
)

// exitCodesHelp is the exit code table in the root command's help.
const exitCodesHelp = `Exit codes:
  0    success (lease run: the command's own exit code)
  1    any other error (lease not found, lease API or Kubernetes failures)
  2    usage: bad flags or arguments, missing settings
  3    no slot now: the pool is exhausted or unavailable (retry later)
  4    refused: the binding's token, or your Kubernetes user's RBAC
  5    the binding holds its quota (leases.max)
  127  lease run: the command could not be started
  130  interrupted (Ctrl-C) while waiting; 143 for SIGTERM`

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage error (exit 2).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: ExitUsage, err: err}
}

// exitStatus is a command's exit code without an error to print (lease
// run returning the command's own code).
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// ExitCode maps an error of a command to its exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Cobra reports an unknown subcommand as a plain error (flag and
	// argument errors are wrapped as usage errors where cobra lets us).
	if strings.HasPrefix(err.Error(), "unknown command ") {
		return ExitUsage
	}
	var e *leaseapi.Error
	if errors.As(err, &e) {
		switch e.Status {
		case 401, 403:
			return ExitAuth
		case 429:
			return ExitQuota
		case 503:
			return ExitUnavailable
		}
		return ExitError
	}
	if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
		return ExitAuth
	}
	return ExitError
}
