{{/* Common labels. */}}
{{- define "vmplane.labels" -}}
app.kubernetes.io/name: vmplane
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vmplane
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vmplane.selector" -}}
app.kubernetes.io/name: vmplane
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vmplane.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The hardening every vmplane container gets. */}}
{{- define "vmplane.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "vmplane.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Namespaces the webhooks never catch: kube-system, the release namespace, and any extra. */}}
{{- define "vmplane.excludedNamespaces" -}}
{{- $ns := list "kube-system" .Release.Namespace -}}
{{- range .Values.webhooks.excludeNamespaces }}{{ $ns = append $ns . }}{{ end -}}
{{- toJson (uniq $ns) -}}
{{- end -}}

{{/* Settings every vmplane webhook shares (the same as webhooks/src/registration.ts; a test compares them). */}}
{{- define "vmplane.webhookCommon" -}}
admissionReviewVersions: [v1]
sideEffects: {{ .sideEffects | default "None" }}
matchPolicy: Equivalent
timeoutSeconds: {{ .values.webhooks.timeoutSeconds }}
failurePolicy: {{ .failurePolicy | default .values.webhooks.failurePolicy }}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ .excluded }}
clientConfig:
  service:
    namespace: {{ .ns }}
    name: {{ .svc }}
    port: 443
    path: {{ .path }}
  {{- if .caBundle }}
  caBundle: {{ .caBundle }}
  {{- end }}
{{- end -}}

{{/* The VM mutating webhook skips updates that change neither spec nor labels (status, finalizer and annotation writes). */}}
{{- define "vmplane.specOrLabelsChanged" -}}
matchConditions:
  - name: spec-or-labels-changed
    expression: "request.operation != 'UPDATE' || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"
{{- end -}}

{{/* The VM validating webhook also sees annotation-only updates (a policy's requiredAnnotations). */}}
{{- define "vmplane.specLabelsOrAnnotationsChanged" -}}
matchConditions:
  - name: spec-labels-or-annotations-changed
    expression: "request.operation != 'UPDATE' || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}) || (has(object.metadata.annotations) ? object.metadata.annotations : {}) != (has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {})"
{{- end -}}
