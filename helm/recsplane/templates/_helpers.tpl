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
The Secret with RECS_DATABASE_URL, RECS_REDIS_URL and RECS_ADMIN_KEY.
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
Checksums of the configuration, as pod annotations, so that a change rolls the pods.
*/}}
{{- define "recsplane.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Volumes of a pod: a writable /tmp and, with data=true, RECS_DATA_DIR.
Call with (dict "root" $ "data" true).
*/}}
{{- define "recsplane.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .data }}
- name: data
  {{- if .root.Values.persistence.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .root.Values.persistence.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ .root.Values.persistence.sizeLimit }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
Volume mounts of a container, matching recsplane.volumes.
*/}}
{{- define "recsplane.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .data }}
- name: data
  mountPath: {{ .root.Values.config.dataDir }}
{{- end }}
{{- end }}
