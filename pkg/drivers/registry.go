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

package drivers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownDriver is wrapped by Lookup's error for a name with no driver.
var ErrUnknownDriver = errors.New("unknown driver")

// ErrDuplicateDriver is wrapped by Register's error for a name already taken.
var ErrDuplicateDriver = errors.New("driver already registered")

var registry = struct {
	sync.RWMutex
	m map[string]Driver
}{m: map[string]Driver{}}

func init() {
	for _, d := range []Driver{NewTCP(), NewHTTP(), NewPostgres(), NewRedis()} {
		if err := Register(d); err != nil {
			panic(err)
		}
	}
}

// Register adds a driver under d.Name(). A second driver with the same name
// is an error (ErrDuplicateDriver); names are case-sensitive and must be
// non-empty.
func Register(d Driver) error {
	if d == nil {
		return errors.New("drivers: Register called with a nil driver")
	}
	name := d.Name()
	if name == "" || strings.TrimSpace(name) != name {
		return fmt.Errorf("drivers: invalid driver name %q", name)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		return fmt.Errorf("drivers: %w: %q", ErrDuplicateDriver, name)
	}
	registry.m[name] = d
	return nil
}

// Lookup returns the driver registered under name: "tcp", "http",
// "postgres", "redis" or one added with Register. An unknown name gives an
// error wrapping ErrUnknownDriver that lists the known names.
func Lookup(name string) (Driver, error) {
	registry.RLock()
	d, ok := registry.m[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("drivers: %w %q (known drivers: %s)", ErrUnknownDriver, name, strings.Join(Names(), ", "))
	}
	return d, nil
}

// Names returns the registered driver names, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
