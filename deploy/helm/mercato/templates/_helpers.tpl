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

{{/* "distributed" or "single"; anything else fails the render. */}}
{{- define "mercato.topology" -}}
{{- $t := .Values.topology | default "distributed" -}}
{{- if not (has $t (list "distributed" "single")) -}}
{{- fail (printf "topology must be distributed or single, not %q" $t) -}}
{{- end -}}
{{- $t -}}
{{- end -}}

{{/*
Deep merge of two maps, `over` winning; returns YAML (callers `fromYaml` it). Unlike sprig's
mergeOverwrite, a false, 0 or [] in `over` does win (e.g. contexts.payments.callers: [] over a default).
*/}}
{{- define "mercato.merge" -}}
{{- $out := deepCopy .base -}}
{{- range $k, $v := .over -}}
{{- $cur := get $out $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $cur) -}}
{{- $_ := set $out $k (fromYaml (include "mercato.merge" (dict "base" $cur "over" $v))) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Components: the gateway (always) and, in the distributed topology, every enabled context merged over
contextDefaults. Returns YAML {name: {component values..., role: gateway|context}}; callers `fromYaml` it.
*/}}
{{- define "mercato.components" -}}
{{- $single := eq (include "mercato.topology" .) "single" -}}
{{- $gateway := deepCopy .Values.gateway -}}
{{- if $single -}}
{{- $gateway = fromYaml (include "mercato.merge" (dict "base" $gateway "over" (.Values.single | default dict))) -}}
{{- end -}}
{{- $_ := set $gateway "role" "gateway" -}}
{{- $out := dict "gateway" $gateway -}}
{{- if not $single -}}
{{- range $name, $ctx := .Values.contexts -}}
{{- if $ctx.enabled -}}
{{- $c := fromYaml (include "mercato.merge" (dict "base" $.Values.contextDefaults "over" $ctx)) -}}
{{- $_ := set $c "role" "context" -}}
{{- $_ := set $out $name $c -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
MERCATO_<CONTEXT>_ADDRESS for every context (distributed topology): `address` when set, else its
headless Service as a `dns:///` target, so gRPC clients resolve every pod and balance calls round-robin. A disabled context that somebody calls must say where it runs.
*/}}
{{- define "mercato.addresses" -}}
{{- $out := dict -}}
{{- if eq (include "mercato.topology" .) "distributed" -}}
{{- range $name, $ctx := .Values.contexts -}}
{{- $port := $ctx.grpcPort | default $.Values.contextDefaults.grpcPort -}}
{{- if $ctx.address -}}
{{- $_ := set $out (printf "MERCATO_%s_ADDRESS" (upper $name)) $ctx.address -}}
{{- else if $ctx.enabled -}}
{{- $_ := set $out (printf "MERCATO_%s_ADDRESS" (upper $name)) (printf "dns:///%s-%s:%v" (include "mercato.fullname" $) $name $port) -}}
{{- else if $ctx.callers -}}
{{- fail (printf "contexts.%s is disabled but called by %s: set contexts.%s.address (host:port) to where it runs" $name (join ", " $ctx.callers) $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Names of the contexts `caller` calls: those listing it among their callers (enabled or not). */}}
{{- define "mercato.callees" -}}
{{- $out := list -}}
{{- if eq (include "mercato.topology" .root) "distributed" -}}
{{- range $name, $ctx := .root.Values.contexts -}}
{{- if has $.caller ($ctx.callers | default list) -}}
{{- $out = append $out $name -}}
{{- end -}}
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

{{/*
The Secret key that holds `env` for one consumer of the Secret, or "" when it gets none:
  - an engine URL only for an engine in `engines`; with `perComponent` (a Deployment of the distributed
    topology and secrets.perComponentCredentials) the component's own key `<key>-<name>`, holding its
    own engine user (least privilege: a catalog pod cannot sign in as orders to PostgreSQL, NATS or
    Redis); else the shared key;
  - MERCATO_PAYMENTS_VAULT_KEY only for the process that hosts payments (`vault`);
  - anything else (MERCATO_AUTH_SECRET, ...) for everyone.
Call with (dict "root" $ "env" ... "name" ... "engines" (list ...) "perComponent" bool "vault" bool).
*/}}
{{- define "mercato.secretKeyFor" -}}
{{- $key := get .root.Values.secrets.keys .env -}}
{{- $engineOf := dict "MERCATO_DATABASE_URL" "postgresql" "MERCATO_NATS_URL" "nats" "MERCATO_REDIS_URL" "redis" -}}
{{- $engine := get $engineOf .env -}}
{{- if $engine -}}
{{- if has $engine .engines -}}
{{- if .perComponent -}}{{- printf "%s-%s" $key .name -}}{{- else -}}{{- $key -}}{{- end -}}
{{- end -}}
{{- else if eq .env "MERCATO_PAYMENTS_VAULT_KEY" -}}
{{- if .vault -}}{{- $key -}}{{- end -}}
{{- else -}}
{{- $key -}}
{{- end -}}
{{- end -}}

{{/*
The secret settings one consumer gets (see mercato.secretKeyFor), plus, with `contextDatabases`,
MERCATO_<CONTEXT>_DATABASE_URL from `<database key>-<context>` for every enabled context that uses
PostgreSQL: what `mercato migrate` creates each context's role from, and what the single process
connects each context with. Same arguments as mercato.secretKeyFor, minus `env`.
*/}}
{{- define "mercato.secretEnv" -}}
{{- $secret := include "mercato.secretName" .root -}}
{{- $args := . -}}
{{- range $env, $_ := .root.Values.secrets.keys }}
{{- $key := include "mercato.secretKeyFor" (merge (dict "env" $env) $args) }}
{{- if $key }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- if and .contextDatabases .root.Values.secrets.perComponentCredentials }}
{{- range $name, $ctx := .root.Values.contexts }}
{{- if and $ctx.enabled (has "postgresql" ($ctx.engines | default list)) }}
- name: MERCATO_{{ upper $name }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ printf "%s-%s" (get $.root.Values.secrets.keys "MERCATO_DATABASE_URL") $name }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The same settings inline: the migration hook runs before the release's ConfigMap exists. */}}
{{- define "mercato.configEnv" -}}
{{- range $k, $v := .Values.config }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* Egress rules to the engines in `engines` (keys of networkPolicy.egress), one per engine. */}}
{{- define "mercato.engineEgress" -}}
{{- $np := .np -}}
{{- range $engine := .engines }}
{{- $e := required (printf "networkPolicy.egress.%s is not defined" $engine) (index $np.egress $engine) }}
# {{ $engine }}
- ports:
    - {port: {{ $e.port }}, protocol: TCP}
  {{- with $e.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}
