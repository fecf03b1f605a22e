{{/* Names follow config/default: with release name "nebula-resource" every object is named as in dist/install.yaml. */}}
{{- define "nebula-resource.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nebula-resource.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "nebula-resource.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "nebula-resource.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller-manager
{{- end -}}

{{- define "nebula-resource.serviceAccountName" -}}
{{ include "nebula-resource.fullname" . }}-controller-manager
{{- end -}}

{{- define "nebula-resource.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "nebula-resource.webhookConfigurationName" -}}
{{ include "nebula-resource.fullname" . }}-mutating-webhook-configuration
{{- end -}}

{{- define "nebula-resource.leaseAPIURL" -}}
{{- .Values.leaseAPI.url | default (printf "https://%s-lease-api.%s.svc" (include "nebula-resource.fullname" .) .Release.Namespace) -}}
{{- end -}}

{{- define "nebula-resource.certManager" -}}
{{- if eq .Values.certificates.mode "certManager" -}}true{{- end -}}
{{- end -}}
