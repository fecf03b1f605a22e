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

import "log/slog"

// State is the lifecycle state of one pooled instance.
//
// Go has no typestate, so the rule lives in exactly one place: the transitions
// table below. Every state change in the package goes through
// (State).To, which consults the table; an invalid change is a
// *Error of KindInvalidTransition and is never silently applied.
type State uint8

// Lifecycle states.
const (
	Created      State = iota // returned by Factory.Create, not yet initialized
	Initializing              // Initializer.Initialize running
	Ready                     // created and initialized, never used yet
	InUse                     // held by exactly one lease (or being returned)
	Idle                      // in the idle set, borrowable
	Unhealthy                 // failed health checks, out of rotation, still checked
	Draining                  // chosen for removal, Destroyer about to run
	Terminated                // destroyed; final
	Failed                    // creation or initialization failed; final except Terminated
	numStates
)

var stateNames = [numStates]string{
	"Created", "Initializing", "Ready", "InUse", "Idle", "Unhealthy", "Draining", "Terminated", "Failed",
}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(?)"
}

func bits(ss ...State) uint16 {
	var b uint16
	for _, s := range ss {
		b |= 1 << s
	}
	return b
}

// transitions is THE transition table: transitions[from] has bit `to` set when
// from -> to is allowed. Self-transitions are not allowed; a direct hand-off
// from one lease to the next keeps the instance InUse and only bumps its
// lease generation, which is not a state change.
var transitions = [numStates]uint16{
	Created:      bits(Initializing, Ready, Failed, Draining),
	Initializing: bits(Ready, Failed),
	Ready:        bits(InUse, Idle, Draining),
	InUse:        bits(Idle, Unhealthy, Draining),
	Idle:         bits(InUse, Unhealthy, Draining),
	Unhealthy:    bits(Idle, Draining),
	Draining:     bits(Terminated),
	Terminated:   0,
	Failed:       bits(Terminated),
}

// CanTransition reports whether from -> to is in the transition table.
func CanTransition(from, to State) bool {
	return from < numStates && to < numStates && transitions[from]&(1<<to) != 0
}

// To validates the transition s -> to. It returns to and nil, or s and a
// *Error of KindInvalidTransition.
func (s State) To(to State) (State, error) {
	if CanTransition(s, to) {
		return to, nil
	}
	return s, newError(KindInvalidTransition, "transition", "", nil,
		slog.String("from", s.String()), slog.String("to", to.String()))
}

// AllStates lists every state, for exhaustive tests and documentation.
func AllStates() []State {
	out := make([]State, numStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}
