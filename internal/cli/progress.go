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
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// plainEvery is how often a non-terminal progress output repeats an
// unchanged queue position (a changed one is printed at once).
const plainEvery = 10 * time.Second

// progress reports on stderr while an acquire waits: on a terminal one
// line rewritten in place, otherwise a plain line when the position changes
// (and every plainEvery), so that logs stay readable. Each retry is said
// once, on a line of its own.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time

	mu          sync.Mutex
	open        bool // a terminal line is being rewritten
	last        leaseapi.Waiting
	lastPrinted time.Time
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd())), start: time.Now()}
}

func (p *progress) elapsed() time.Duration { return time.Since(p.start).Round(time.Second) }

// waiting is the acquire's OnProgress.
func (p *progress) waiting(w leaseapi.Waiting) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("waiting for a slot: being granted, %s elapsed", p.elapsed())
	if w.Position > 0 {
		line = fmt.Sprintf("waiting for a slot: position %d of %d in the queue, %s elapsed", w.Position, w.QueueDepth, p.elapsed())
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.open = true
		return
	}
	changed := w.Position != p.last.Position || w.QueueDepth != p.last.QueueDepth || p.lastPrinted.IsZero()
	if !changed && time.Since(p.lastPrinted) < plainEvery {
		return
	}
	p.last, p.lastPrinted = w, time.Now()
	fmt.Fprintln(p.w, line)
}

// retrying is the client's OnRetry.
func (p *progress) retrying(err error, pause time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLine()
	fmt.Fprintf(p.w, "retrying in %s (%s elapsed): %v\n", pause.Round(10*time.Millisecond), p.elapsed(), err)
}

// done ends the terminal line, if one is open.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLine()
}

func (p *progress) endLine() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
