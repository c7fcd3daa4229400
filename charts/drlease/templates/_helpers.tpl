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
The config file (Admiral's DR file format), one definition: the ConfigMap holds it and
"drlease.podAnnotations" hashes it, so a `helm upgrade` that changes it restarts the pods.
*/}}
{{- define "drlease.config" -}}
dynamoDB:
  leaseName: {{ .Values.lease.name | quote }}
  waitTimeInSeconds: {{ .Values.lease.waitTimeInSeconds }}
  failureThreshold: {{ .Values.lease.failureThreshold }}
  tableName: {{ .Values.lease.table | quote }}
  region: {{ .Values.lease.region | quote }}
  {{- with .Values.lease.roleArn }}
  role: {{ . | quote }}
  {{- end }}
drlease:
  listen: "0.0.0.0:{{ .Values.port }}"
  logFormat: {{ .Values.logFormat | quote }}
  heartbeat: {{ .Values.lease.heartbeat | quote }}
  appHealthFailures: {{ .Values.lease.appHealthFailures }}
  {{- with .Values.lease.interval }}
  interval: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.renewDeadline }}
  renewDeadline: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.confirmDelay }}
  confirmDelay: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.peerRegions }}
  peerRegions: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.tableMode }}
  tableMode: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.appHealthUrl }}
  appHealthUrl: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.warmup }}
  warmup: {{ . | quote }}
  {{- end }}
  {{- with .Values.gateListen }}
  gateListen: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.writeWindow }}
  writeWindow: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.longestLease }}
  longestLease: {{ . | quote }}
  {{- end }}
  {{- with .Values.lease.endpointUrl }}
  endpointUrl: {{ . | quote }}
  {{- end }}
  {{- with .Values.maxWatchers }}
  maxWatchers: {{ . | int }}
  {{- end }}
  priority: {{ .Values.lease.priority | int }}
  {{- with .Values.lease.failbackAfter }}
  {{- if $.Values.lease.peerRegions }}
  {{- fail "lease.failbackAfter cannot be set with lease.peerRegions: on an eventually consistent global table the failback request is overwritten by the holder's renewals in its own region; move the lease back with `drlease handover --to` against the holder's region" }}
  {{- end }}
  failbackAfter: {{ . | quote }}
  {{- end }}
  {{- if .Values.lease.neverAcquire }}
  neverAcquire: true
  {{- end }}
  {{- if .Values.podRoleLabel }}
  podRoleLabel: true
  {{- end }}
{{- end -}}

{{/*
Pod annotations for every pod that carries the sidecar: a checksum of the config, so that
a `helm upgrade` changing it rolls the pods (drlease reads its config once, at start).
*/}}
{{- define "drlease.podAnnotations" -}}
checksum/drlease-config: {{ include "drlease.config" . | sha256sum }}
{{- end -}}

{{/*
The labels of the pods that carry the sidecar, for the Service, ServiceMonitor and
NetworkPolicy: `podSelector` (e.g. Admiral's own pod labels), else the example's.
*/}}
{{- define "drlease.podSelector" -}}
{{- if .Values.podSelector -}}
{{- toYaml .Values.podSelector -}}
{{- else -}}
{{- include "drlease.selectorLabels" . -}}
{{- end -}}
{{- end -}}

{{/*
The drlease container as a Kubernetes native sidecar: an init container that keeps
running (restartPolicy: Always), started (startup probe on /healthz: serving) before
the controller's containers start. Include it under a pod's initContainers, with the
volume from "drlease.volumes" and the annotations from "drlease.podAnnotations":

  metadata:
    annotations:
      {{- include "drlease.podAnnotations" . | nindent 6 }}
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
    {{- with .Values.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
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
    {{- with .Values.identity }}
    # After POD_NAME, so that $(POD_NAME) in it expands.
    - name: DRLEASE_IDENTITY
      value: {{ . | quote }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: drlease
      containerPort: {{ .Values.port }}
      protocol: TCP
  # /healthz, not /readyz: /readyz stays 503 while the store is unreachable, and a
  # startup probe that runs out restarts the sidecar, which cannot help (and keeps the
  # controller from starting). The controller starts once drlease serves; until drlease
  # has decided, every answer is passive.
  startupProbe:
    httpGet:
      path: /healthz
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
