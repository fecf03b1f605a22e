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

// Package envlog is the format in which the cluster test's workload prints
// the env it was given, and the parser the test reads its Pod log with:
//
//	--- env begin ---
//	NEBULA_BINDING="default/app"
//	NEBULA_CA_CERT="-----BEGIN CERTIFICATE-----\nMIIB..."
//	--- env end ---
//
// One KEY="VALUE" line per variable, sorted by key, each value Go-quoted
// (strconv.Quote) so that multi-line values such as a PEM certificate stay
// on one line and any byte round-trips.
package envlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The lines around the variables.
const (
	Begin = "--- env begin ---"
	End   = "--- env end ---"
)

// Write prints env between the marker lines.
func Write(w io.Writer, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(Begin + "\n")
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.Quote(env[k]) + "\n")
	}
	b.WriteString(End + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Parse reads the last complete block Write printed in log (a container
// that restarted prints it again); other lines are ignored.
func Parse(log string) (map[string]string, error) {
	var last map[string]string
	var current map[string]string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case text == Begin:
			current = map[string]string{}
		case text == End && current != nil:
			last, current = current, nil
		case current != nil:
			key, quoted, ok := strings.Cut(text, "=")
			if !ok || key == "" {
				// The line is not quoted back: it may hold a secret.
				return nil, fmt.Errorf("envlog: line %d is not KEY=\"VALUE\"", line)
			}
			value, err := strconv.Unquote(quoted)
			if err != nil {
				return nil, fmt.Errorf("envlog: line %d: the value of %s is not Go-quoted: %w", line, key, err)
			}
			current[key] = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("envlog: %w", err)
	}
	if last == nil {
		return nil, errors.New("envlog: no complete block between " + strconv.Quote(Begin) + " and " + strconv.Quote(End))
	}
	return last, nil
}
