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

package poolruntime

import (
	"log/slog"
	"strings"
	"unicode"
)

// Level is a scope level, from widest to narrowest.
type Level uint8

// Scope levels.
const (
	LevelGlobal Level = iota
	LevelTenant
	LevelWorkflow
	LevelExecution
	LevelAction
	numLevels
)

var levelNames = [numLevels]string{"global", "tenant", "workflow", "execution", "action"}
var levelTags = [numLevels]string{"", "t:", "w:", "e:", "a:"}

func (l Level) String() string {
	if l < numLevels {
		return levelNames[l]
	}
	return "Level(?)"
}

// Scope is a path global > tenant > workflow > execution > action. A scope
// at level L has every id from tenant down to L set and none below it (a
// workflow scope without a tenant is invalid). A Scope is an immutable value;
// its key is computed once, when it is built, and the keys of
// its ancestors are substrings of it, so Truncate allocates nothing.
//
// Containment: s contains o when s's path is a prefix of o's path. It is a
// partial order (reflexive, antisymmetric, transitive); Global contains all.
type Scope struct {
	ids   [numLevels]string // ids[0] unused
	level Level
	key   string
	cut   [numLevels]uint16 // cut[l] = len of the key of the ancestor at level l
}

const globalKey = "global"

// Global returns the global scope.
func Global() Scope { return Scope{key: globalKey} }

// NewScope builds a scope from ids; empty trailing ids end the path. A gap
// (an id set below an empty one) is a KindConfiguration error.
func NewScope(tenant, workflow, execution, action string) (Scope, error) {
	ids := [...]string{tenant, workflow, execution, action}
	s := Global()
	var err error
	for i, id := range ids {
		if id == "" {
			for j := i + 1; j < len(ids); j++ {
				if ids[j] != "" {
					return Scope{}, newError(KindConfiguration, "scope", "", nil,
						slog.String("problem", Level(j+1).String()+" scope requires a "+Level(i+1).String()))
				}
			}
			break
		}
		if s, err = s.Child(id); err != nil {
			return Scope{}, err
		}
	}
	return s, nil
}

// MustScope is NewScope that panics on error, for tests and constants.
func MustScope(tenant, workflow, execution, action string) Scope {
	s, err := NewScope(tenant, workflow, execution, action)
	if err != nil {
		panic(err)
	}
	return s
}

// TenantScope returns the scope of one tenant.
func TenantScope(tenant string) (Scope, error) { return Global().Child(tenant) }

// Child returns the scope one level below s with the given id. Action
// scopes have no children.
func (s Scope) Child(id string) (Scope, error) {
	if s.level == LevelAction {
		return Scope{}, newError(KindConfiguration, "scope", "", nil, slog.String("problem", "an action scope has no children"))
	}
	if err := validID(id); err != nil {
		return Scope{}, newError(KindConfiguration, "scope", "", nil,
			slog.String("level", (s.level+1).String()), slog.String("problem", err.Error()))
	}
	c := s
	c.level++
	c.ids[c.level] = id
	if s.level == LevelGlobal {
		c.key = levelTags[c.level] + id
	} else {
		c.key = s.key + "/" + levelTags[c.level] + id
	}
	if len(c.key) > 0xffff {
		return Scope{}, newError(KindConfiguration, "scope", "", nil, slog.String("problem", "scope key too long"))
	}
	c.cut[c.level] = uint16(len(c.key))
	return c, nil
}

type idError string

func (e idError) Error() string { return string(e) }

func validID(id string) error {
	if id == "" {
		return idError("empty id")
	}
	if len(id) > 253 {
		return idError("id longer than 253 bytes")
	}
	for _, r := range id {
		if r == '/' || r == unicode.ReplacementChar || unicode.IsControl(r) || unicode.IsSpace(r) {
			return idError("id contains '/', a space, a control character or invalid UTF-8")
		}
	}
	return nil
}

// Level returns the scope's level.
func (s Scope) Level() Level { return s.level }

// Key returns the canonical key, e.g. "t:acme/w:billing". Global is "global".
// An empty key means the zero Scope, which is treated as Global.
func (s Scope) Key() string {
	if s.key == "" {
		return globalKey
	}
	return s.key
}

func (s Scope) String() string { return s.Key() }

// ID returns the id at level l ("" for global or below s's level).
func (s Scope) ID(l Level) string {
	if l == LevelGlobal || l > s.level {
		return ""
	}
	return s.ids[l]
}

// Tenant, Workflow, Execution and Action return the ids of the path.
func (s Scope) Tenant() string    { return s.ID(LevelTenant) }
func (s Scope) Workflow() string  { return s.ID(LevelWorkflow) }
func (s Scope) Execution() string { return s.ID(LevelExecution) }
func (s Scope) Action() string    { return s.ID(LevelAction) }

// Truncate returns the ancestor of s at level l (s itself if l >= s's level).
// It allocates nothing.
func (s Scope) Truncate(l Level) Scope {
	if l >= s.level {
		return s
	}
	if l == LevelGlobal {
		return Global()
	}
	t := s
	t.level = l
	for i := l + 1; i < numLevels; i++ {
		t.ids[i] = ""
		t.cut[i] = 0
	}
	t.key = s.key[:s.cut[l]]
	return t
}

// Parent returns the scope one level up (Global's parent is Global).
func (s Scope) Parent() Scope {
	if s.level == LevelGlobal {
		return s
	}
	return s.Truncate(s.level - 1)
}

// Contains reports whether s's path is a prefix of o's path.
func (s Scope) Contains(o Scope) bool {
	if s.level > o.level {
		return false
	}
	for l := LevelTenant; l <= s.level; l++ {
		if s.ids[l] != o.ids[l] {
			return false
		}
	}
	return true
}

// Equal reports whether s and o are the same path.
func (s Scope) Equal(o Scope) bool { return s.level == o.level && s.Contains(o) }

// ParseScope parses a key produced by Key. It rejects anything Key would not
// produce, so ParseScope(k).Key() == k for every accepted k.
func ParseScope(key string) (Scope, error) {
	if key == globalKey {
		return Global(), nil
	}
	s := Global()
	rest := key
	for l := LevelTenant; ; l++ {
		seg, tail, more := strings.Cut(rest, "/")
		if l >= numLevels || !strings.HasPrefix(seg, levelTags[l]) {
			return Scope{}, newError(KindConfiguration, "parse scope", "", nil, slog.String("key", key),
				slog.String("problem", "expected t:<tenant>[/w:<workflow>[/e:<execution>[/a:<action>]]] or global"))
		}
		var err error
		if s, err = s.Child(seg[len(levelTags[l]):]); err != nil {
			return Scope{}, err
		}
		if !more {
			return s, nil
		}
		rest = tail
	}
}
