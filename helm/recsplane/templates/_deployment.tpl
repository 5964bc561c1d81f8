{{/*
A Deployment of one role of the recsplane binary. Call with
(dict "root" $ "component" "api" "values" .Values.api "args" (list "api") "http" true "data" true).
With http=true the container exposes the port named http and has the health probes.
*/}}
{{- define "recsplane.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $ctx := dict "root" $root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "recsplane.componentName" $ctx }}
  labels:
    {{- include "recsplane.componentLabels" $ctx | nindent 4 }}
spec:
  replicas: {{ $v.replicas }}
  selector:
    matchLabels:
      {{- include "recsplane.componentSelectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "recsplane.componentLabels" $ctx | nindent 8 }}
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
          {{- if .http }}
          ports:
            - name: http
              containerPort: {{ $root.Values.config.httpPort }}
              protocol: TCP
          readinessProbe:
            httpGet:
              path: /v1/recs/health
              port: http
            {{- toYamlPretty $v.readinessProbe | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /v1/recs/health
              port: http
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
