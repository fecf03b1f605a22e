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

package buildinfo

import (
	"runtime"
	"testing"
)

func TestTheLinkersVersionWins(t *testing.T) {
	version, commit = "v1.2.3", "abc123"
	t.Cleanup(func() { version, commit = "", "" })
	got := Get()
	if got.Version != "v1.2.3" || got.Commit != "abc123" || got.GoVersion != runtime.Version() || got.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("Get() = %+v, want the linker's version and commit", got)
	}
}

func TestWithoutTheLinkerTheBuildSaysSomething(t *testing.T) {
	got := Get()
	if got.Version == "" || got.Commit == "" {
		t.Fatalf("Get() = %+v, want a version and a commit (or their placeholders)", got)
	}
}
