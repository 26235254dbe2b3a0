{{/* Labels of every object. Selectors use only name and component. */}}
{{- define "meshlb.labels" -}}
app.kubernetes.io/name: meshlb
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "meshlb.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{- define "meshlb.meshKeySecret" -}}
{{ .Values.meshKey.existingSecret | default "meshlb-mesh-key" }}
{{- end }}

{{/* Pod environment from the downward API: POD_NAME, POD_NAMESPACE. */}}
{{- define "meshlb.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}

{{- /* The probes; .host and .port: where /healthz and /readyz are served (the speaker's on loopback). */ -}}
{{- define "meshlb.probes" -}}
livenessProbe:
  httpGet:
    {{- with .host }}
    host: {{ . }}
    {{- end }}
    path: /healthz
    port: {{ .port }}
  initialDelaySeconds: 10
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    {{- with .host }}
    host: {{ . }}
    {{- end }}
    path: /readyz
    port: {{ .port }}
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 3
{{- end }}
