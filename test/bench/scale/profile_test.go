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

package scale

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// profileCPU starts writing the manager's CPU profile over d to path (from
// its /debug/pprof) and returns a function that waits for it to be written.
// With path empty it does nothing: the profile is for finding where the
// quiet CPU goes, `go tool pprof` reads it.
func profileCPU(t *testing.T, pprofURL, path string, d time.Duration) (wait func()) {
	t.Helper()
	if path == "" {
		return func() {}
	}
	done := make(chan error, 1)
	go func() { done <- fetchProfile(pprofURL, path, d) }()
	return func() {
		if err := <-done; err != nil {
			t.Errorf("CPU profile: %v", err)
			return
		}
		t.Logf("manager CPU profile over %s written to %s", d, path)
	}
}

func fetchProfile(pprofURL, path string, d time.Duration) error {
	client := &http.Client{Timeout: d + time.Minute}
	// Right after the manager's start its pprof server may not listen yet.
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err = client.Get(fmt.Sprintf("%s/profile?seconds=%d", pprofURL, int(d.Seconds())))
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", pprofURL, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// startupProfile is where the start-up profile goes: beside path, "" when
// there is no profiling.
func startupProfile(path string) string {
	if path == "" {
		return ""
	}
	return path + ".startup"
}
