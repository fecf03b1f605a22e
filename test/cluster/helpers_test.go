//go:build cluster

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

package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubectl runs the cluster's kubectl as the admin and returns stdout; a
// failure fails the spec with stderr.
func kubectl(ctx context.Context, stdin string, args ...string) string {
	GinkgoHelper()
	out, err := kubectlErr(ctx, stdin, args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func kubectlErr(ctx context.Context, stdin string, args ...string) (string, error) {
	bin := filepath.Join(lc.Options().BinDir, "kubectl")
	return runTool(ctx, stdin, bin, append([]string{"--kubeconfig", lc.Kubeconfig}, args...)...)
}

func helm(ctx context.Context, args ...string) string {
	GinkgoHelper()
	bin := envOr("HELM", filepath.Join(root, "bin", "helm"))
	out, err := runTool(ctx, "", bin, append([]string{"--kubeconfig", lc.Kubeconfig}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func runTool(ctx context.Context, stdin, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// podsOf lists the pods matching a label selector in namespace.
func podsOf(ctx context.Context, namespace, selector string) []corev1.Pod {
	GinkgoHelper()
	list, err := clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	Expect(err).NotTo(HaveOccurred())
	return list.Items
}

func podReady(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podLog returns a container's log as the kubelet serves it.
func podLog(ctx context.Context, namespace, pod string) (string, error) {
	raw, err := clientset.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
	return string(raw), err
}

// envBlock parses the KEY=VALUE lines the workload's env command prints
// between its markers.
func envBlock(log string) (map[string]string, bool) {
	env := map[string]string{}
	in, done := false, false
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "--- env begin ---":
			in = true
		case line == "--- env end ---":
			in, done = false, true
		case in:
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
	}
	return env, done
}

// events parses the JSON lines the workload prints for lease events.
type workloadEvent struct {
	Event     string    `json:"event"`
	Lease     string    `json:"lease"`
	Member    string    `json:"member"`
	Address   string    `json:"address"`
	Slot      int       `json:"slot"`
	Code      string    `json:"code"`
	Error     string    `json:"error"`
	Time      time.Time `json:"time"`
	User      string    `json:"user"`
	Endpoint  string    `json:"endpoint"`
	CAFromEnv bool      `json:"caFromEnv"`
	Database  string    `json:"database"`
	Result    int       `json:"result"`
}

func workloadEvents(log string) []workloadEvent {
	var out []workloadEvent
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var e workloadEvent
		if json.Unmarshal([]byte(line), &e) == nil && e.Event != "" {
			out = append(out, e)
		}
	}
	return out
}

// secretData reads a Secret's values as strings.
func secretData(ctx context.Context, namespace, name string) map[string]string {
	GinkgoHelper()
	s, err := clientset.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

// dumpOnFailure prints what a platform engineer would look at first.
var _ = ReportAfterEach(func(ctx SpecContext, r SpecReport) {
	if !r.Failed() || lc == nil {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"get", "pods,deploy,jobs,resourcepools,resourcebindings", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"logs", "-n", releaseNamespace, "-l", "app.kubernetes.io/name=nebula-resource", "--tail=80", "--prefix"},
	} {
		out, err := kubectlErr(c, "", args...)
		fmt.Fprintf(GinkgoWriter, "--- kubectl %s\n%s%v\n", strings.Join(args, " "), out, errOrEmpty(err))
	}
})

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
