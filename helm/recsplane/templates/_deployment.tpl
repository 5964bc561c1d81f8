{{/*
A Deployment of one role of the recsplane binary. Call with a dict of:
  root        $
  component   the app.kubernetes.io/component label: api, scheduler or worker
  name        the Deployment's name (default: recsplane.componentName of the component)
  extraLabels labels added to the component's labels and selector (a worker's pool)
  values      replicas, resources, terminationGracePeriodSeconds, podAnnotations,
              nodeSelector, tolerations, affinity and, with probePath, readinessProbe and
              livenessProbe (timings)
  args        the container's arguments
  ports       a list of (dict "name" "http" "port" 8080), the container ports
  probePath   with probePort: the path of the readiness and liveness httpGet probes
  probePort   the name of the port the probes use
  env         the container's env as YAML (a list), or empty
  data        none (no RECS_DATA_DIR volume), local (an emptyDir) or artifacts (the
              persistence: see recsplane.volumes)
*/}}
{{- define "recsplane.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $ctx := dict "root" $root "component" .component -}}
{{- $extraLabels := .extraLabels | default dict -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name | default (include "recsplane.componentName" $ctx) }}
  labels:
    {{- include "recsplane.componentLabels" $ctx | nindent 4 }}
    {{- with $extraLabels }}
    {{- toYamlPretty . | nindent 4 }}
    {{- end }}
spec:
  replicas: {{ $v.replicas }}
  selector:
    matchLabels:
      {{- include "recsplane.componentSelectorLabels" $ctx | nindent 6 }}
      {{- with $extraLabels }}
      {{- toYamlPretty . | nindent 6 }}
      {{- end }}
  template:
    metadata:
      labels:
        {{- include "recsplane.componentLabels" $ctx | nindent 8 }}
        {{- with $extraLabels }}
        {{- toYamlPretty . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "recsplane.configChecksums" $root | nindent 8 }}
        {{- with $v.podAnnotations }}
        {{- toYamlPretty . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "recsplane.serviceAccountName" $root }}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYamlPretty . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYamlPretty $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "recsplane.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- range .args }}
            - {{ . | quote }}
            {{- end }}
          envFrom:
            {{- include "recsplane.envFrom" $root | nindent 12 }}
          {{- with .env }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          {{- with .ports }}
          ports:
            {{- range . }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
          {{- end }}
          {{- if .probePath }}
          readinessProbe:
            httpGet:
              path: {{ .probePath }}
              port: {{ .probePort }}
            {{- toYamlPretty $v.readinessProbe | nindent 12 }}
          livenessProbe:
            httpGet:
              path: {{ .probePath }}
              port: {{ .probePort }}
            {{- toYamlPretty $v.livenessProbe | nindent 12 }}
          {{- end }}
          resources:
            {{- toYamlPretty $v.resources | nindent 12 }}
          securityContext:
            {{- toYamlPretty $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "recsplane.volumeMounts" (dict "root" $root "data" .data) | nindent 12 }}
      volumes:
        {{- include "recsplane.volumes" (dict "root" $root "data" .data) | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYamlPretty . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYamlPretty . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYamlPretty . | nindent 8 }}
      {{- end }}
{{- end }}
