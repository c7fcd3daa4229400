{{- define "drlease.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "drlease.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "drlease.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "drlease.serviceAccountName" -}}
{{- default (include "drlease.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "drlease.configName" -}}
{{- printf "%s-config" (include "drlease.fullname" .) -}}
{{- end -}}

{{/*
The drlease container as a Kubernetes native sidecar: an init container that keeps
running (restartPolicy: Always), started and ready (startup probe on /readyz) before
the controller's containers start. Include it under a pod's initContainers, with the
volume from "drlease.volumes":

  initContainers:
    {{- include "drlease.sidecar" . | nindent 4 }}
  volumes:
    {{- include "drlease.volumes" . | nindent 4 }}

From a parent chart (e.g. Admiral's) with drlease as a dependency, pass the subchart's
context: (dict "Values" .Values.drlease "Release" .Release "Chart" (dict "Name" "drlease" "AppVersion" "0.1.0")).
*/}}
{{- define "drlease.sidecar" -}}
- name: drlease
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  restartPolicy: Always
  args:
    - run
    - --config
    - /etc/drlease/dr.yaml
  env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    {{- if .Values.podRoleLabel }}
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    {{- end }}
    - name: RUST_LOG
      value: {{ .Values.logFilter | quote }}
  ports:
    - name: drlease
      containerPort: {{ .Values.port }}
      protocol: TCP
  startupProbe:
    httpGet:
      path: /readyz
      port: drlease
    periodSeconds: {{ .Values.probes.startup.periodSeconds }}
    failureThreshold: {{ .Values.probes.startup.failureThreshold }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: drlease
    periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
    failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  volumeMounts:
    - name: drlease-config
      mountPath: /etc/drlease
      readOnly: true
{{- end -}}

{{- define "drlease.volumes" -}}
- name: drlease-config
  configMap:
    name: {{ include "drlease.configName" . }}
{{- end -}}
