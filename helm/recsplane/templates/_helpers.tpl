{{/*
The chart name, truncated to 63 characters (the limit of a DNS label).
*/}}
{{- define "recsplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: release name + chart name, unless the release
name already contains the chart name; truncated to 63 characters.
*/}}
{{- define "recsplane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The name of a component's resources: the full name + "-" + the component, within 63 characters.
Call with (dict "root" $ "component" "api").
*/}}
{{- define "recsplane.componentName" -}}
{{- printf "%s-%s" (include "recsplane.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component }}
{{- end }}

{{/*
The chart label: name-version.
*/}}
{{- define "recsplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels of every resource.
*/}}
{{- define "recsplane.labels" -}}
helm.sh/chart: {{ include "recsplane.chart" . }}
{{ include "recsplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: recsplane
{{- end }}

{{/*
Selector labels of the release (without a component).
*/}}
{{- define "recsplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "recsplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of a component's resources. Call with (dict "root" $ "component" "api").
*/}}
{{- define "recsplane.componentLabels" -}}
{{ include "recsplane.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Selector labels of a component's pods. Call with (dict "root" $ "component" "api").
*/}}
{{- define "recsplane.componentSelectorLabels" -}}
{{ include "recsplane.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The ServiceAccount of the pods.
*/}}
{{- define "recsplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "recsplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference.
*/}}
{{- define "recsplane.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The Secret with RECS_DATABASE_URL, RECS_REDIS_URL, RECS_INTERNAL_TOKEN and RECS_ADMIN_KEY.
*/}}
{{- define "recsplane.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "recsplane.fullname" . }}
{{- end }}
{{- end }}

{{/*
The ConfigMap with the non-secret RECS_* settings.
*/}}
{{- define "recsplane.configMapName" -}}
{{- include "recsplane.fullname" . }}
{{- end }}

{{/*
Environment of the long-running roles: the ConfigMap and the Secret.
*/}}
{{- define "recsplane.envFrom" -}}
- configMapRef:
    name: {{ include "recsplane.configMapName" . }}
- secretRef:
    name: {{ include "recsplane.secretName" . }}
{{- end }}

{{/*
The RECS_INTERNAL_TOKEN of the chart's Secret: secrets.internalToken; else the one already in
the release's Secret (so that an upgrade keeps it); else 48 random characters. Only
templates/secret.yaml may include it: every call without an existing Secret draws a new one.
*/}}
{{- define "recsplane.internalToken" -}}
{{- if .Values.secrets.internalToken }}
{{- .Values.secrets.internalToken }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "recsplane.secretName" .) }}
{{- $data := dig "data" (dict) $existing }}
{{- if $data.RECS_INTERNAL_TOKEN }}
{{- $data.RECS_INTERNAL_TOKEN | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Checksums of the configuration, as pod annotations, so that a change rolls the pods. The
secret's is taken over secrets.* rather than the rendered Secret, whose generated internal
token would differ in every render.
*/}}
{{- define "recsplane.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ toJson .Values.secrets | sha256sum }}
{{- end }}
{{- end }}

{{/*
Volumes of a pod: a writable /tmp and, by data, RECS_DATA_DIR:
  none       no volume;
  local      a small emptyDir (the api: where a generated admin key is written);
  artifacts  the workers' RECS_DATA_DIR: with artifacts.store=fs the PersistentVolumeClaim
             persistence.existingClaim, shared by every worker, or an emptyDir when none is
             given; with artifacts.store=postgres an emptyDir (a local cache), never the claim.
Call with (dict "root" $ "data" "artifacts").
*/}}
{{- define "recsplane.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if eq .data "local" }}
- name: data
  emptyDir:
    sizeLimit: 16Mi
{{- else if eq .data "artifacts" }}
- name: data
  {{- if and (eq .root.Values.artifacts.store "fs") .root.Values.persistence.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .root.Values.persistence.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ .root.Values.persistence.sizeLimit }}
  {{- end }}
{{- else if ne .data "none" }}
{{- fail (printf "recsplane.volumes: unknown data %q" .data) }}
{{- end }}
{{- end }}

{{/*
Volume mounts of a container, matching recsplane.volumes.
*/}}
{{- define "recsplane.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if has .data (list "local" "artifacts") }}
- name: data
  mountPath: {{ .root.Values.config.dataDir }}
{{- end }}
{{- end }}

{{/*
RECS_INTERNAL_TOKEN from the Secret, for the api and the workers. Named explicitly (envFrom
also carries it) so that an existingSecret without the key fails the pod instead of starting
an api without pools and workers that do not serve.
*/}}
{{- define "recsplane.internalTokenEnv" -}}
- name: RECS_INTERNAL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "recsplane.secretName" . }}
      key: RECS_INTERNAL_TOKEN
{{- end }}

{{/*
The pools, checked: fails on a duplicated name, or one that cannot be a label value (the
schema checks the same, unless --skip-schema-validation). Returns nothing.
*/}}
{{- define "recsplane.checkPools" -}}
{{- $seen := dict }}
{{- range .Values.pools }}
{{- if not (regexMatch "^[a-z0-9][a-z0-9-]{0,63}$" (toString .name)) }}
{{- fail (printf "pools: the pool name %q must match ^[a-z0-9][a-z0-9-]{0,63}$" (toString .name)) }}
{{- end }}
{{- if or (gt (len .name) 63) (hasSuffix "-" .name) }}
{{- fail (printf "pools: the pool name %q is also a label value: at most 63 characters, ending with a letter or digit" .name) }}
{{- end }}
{{- if hasKey $seen .name }}
{{- fail (printf "pools: the pool name %q appears more than once" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- end }}
