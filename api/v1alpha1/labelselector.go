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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// LabelSelector selects objects by their labels. It has the fields, the
// meaning and the YAML of metav1.LabelSelector; unlike that type it is
// checked when applied: label keys and values must have label syntax (the
// checks of the API server's own label validation, through the Kubernetes
// CEL format library), and its sizes are bounded so those checks stay
// within the CEL cost budget. A selector stored before these checks existed
// may still be invalid: AsSelector reports it.
//
// +structType=atomic
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="matchExpressions operator must be In, NotIn, Exists or DoesNotExist"
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['In', 'NotIn']) || (has(e.values) && size(e.values) > 0))",message="matchExpressions with operator In and NotIn need values"
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['Exists', 'DoesNotExist']) || !has(e.values) || size(e.values) == 0)",message="matchExpressions with operator Exists and DoesNotExist take no values"
type LabelSelector struct {
	// matchLabels is a map of label keys to values; an object matches when it
	// has every one of these labels with that value. Keys are qualified names
	// (an optional DNS subdomain prefix and '/', then at most 63 characters of
	// letters, digits, '-', '_' and '.', starting and ending with a letter or
	// digit); values are empty or at most 63 such characters. At most 64 pairs.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k).hasValue())",messageExpression="'label keys must be qualified names (an optional DNS subdomain prefix and /, then at most 63 characters of letters, digits, -, _ and ., starting and ending with a letter or digit); invalid: \"' + self.filter(k, format.qualifiedName().validate(k).hasValue())[0] + '\"'"
	MatchLabels map[string]LabelValue `json:"matchLabels,omitempty"`

	// matchExpressions are label requirements; an object matches when it
	// meets every one. At most 32.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is a label key, an operator and values, as in
// metav1.LabelSelectorRequirement.
type LabelSelectorRequirement struct {
	// key is the label key the requirement applies to: a qualified name, like
	// the keys of matchLabels.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:XValidation:rule="!format.qualifiedName().validate(self).hasValue()",messageExpression="'label key \"' + self + '\" is not a qualified name: an optional DNS subdomain prefix and /, then at most 63 characters of letters, digits, -, _ and ., starting and ending with a letter or digit'"
	Key string `json:"key"`

	// operator is In, NotIn, Exists or DoesNotExist.
	// +required
	Operator metav1.LabelSelectorOperator `json:"operator"`

	// values are label values: set (at least one) for In and NotIn, unset for
	// Exists and DoesNotExist. At most 64.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Values []LabelValue `json:"values,omitempty"`
}

// LabelValue is the value of a label: empty, or at most 63 letters, digits,
// '-', '_' and '.', starting and ending with a letter or digit.
//
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="!format.labelValue().validate(self).hasValue()",messageExpression="'label value \"' + self + '\" is invalid: a label value is empty or at most 63 characters of letters, digits, -, _ and ., starting and ending with a letter or digit'"
type LabelValue string

// AsSelector converts the selector to a labels.Selector as
// metav1.LabelSelectorAsSelector does: nil selects nothing, an empty
// selector everything. It fails for a selector the API server would refuse
// now but may have stored before its label syntax was checked.
func (s *LabelSelector) AsSelector() (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(s.AsMeta())
}

// AsMeta returns the selector as a metav1.LabelSelector (nil for nil).
func (s *LabelSelector) AsMeta() *metav1.LabelSelector {
	if s == nil {
		return nil
	}
	out := &metav1.LabelSelector{}
	if s.MatchLabels != nil {
		out.MatchLabels = make(map[string]string, len(s.MatchLabels))
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = string(v)
		}
	}
	for _, e := range s.MatchExpressions {
		r := metav1.LabelSelectorRequirement{Key: e.Key, Operator: e.Operator}
		for _, v := range e.Values {
			r.Values = append(r.Values, string(v))
		}
		out.MatchExpressions = append(out.MatchExpressions, r)
	}
	return out
}

// MatchingLabels returns the selector of the objects that carry all of
// labels, the common case written in Go.
func MatchingLabels(labels map[string]string) *LabelSelector {
	s := &LabelSelector{MatchLabels: make(map[string]LabelValue, len(labels))}
	for k, v := range labels {
		s.MatchLabels[k] = LabelValue(v)
	}
	return s
}
