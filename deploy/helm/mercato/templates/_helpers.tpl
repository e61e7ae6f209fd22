{{/* Names and labels. */}}
{{- define "mercato.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mercato.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "mercato.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "mercato.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mercato.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mercato.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mercato.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mercato.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mercato
{{- end -}}

{{- define "mercato.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mercato.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mercato.secretName" -}}
{{- if .Values.secrets.create -}}
{{- printf "%s-secrets" (include "mercato.fullname" .) -}}
{{- else -}}
{{- required "secrets.existingSecret is required when secrets.create is false: create the Secret out of band (sealed-secrets, external-secrets, ...)" .Values.secrets.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* The image reference: a digest wins; else the tag, else the chart's appVersion. Never `latest`. */}}
{{- define "mercato.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must be a pinned version, not latest" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
Components: the gateway (always) and every enabled context, each merged over contextDefaults.
Returns YAML: {name: {component values...}}; callers `fromYaml` it.
*/}}
{{- define "mercato.components" -}}
{{- $out := dict "gateway" (deepCopy .Values.gateway) -}}
{{- range $name, $ctx := .Values.contexts -}}
{{- if $ctx.enabled -}}
{{- $_ := set $out $name (mergeOverwrite (deepCopy $.Values.contextDefaults) (deepCopy $ctx)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Pod-level security: non-root uid/gid baked into the image, RuntimeDefault seccomp. */}}
{{- define "mercato.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "mercato.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment: non-secret settings from the ConfigMap, the four secret ones from the Secret. */}}
{{- define "mercato.secretEnv" -}}
{{- $secret := include "mercato.secretName" . -}}
{{- range $env, $key := .Values.secrets.keys }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/* The same settings inline: the migration hook runs before the release's ConfigMap exists. */}}
{{- define "mercato.configEnv" -}}
{{- range $k, $v := .Values.config }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}
