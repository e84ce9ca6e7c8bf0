{{/* Names and labels. */}}
{{- define "lantern.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lantern.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lantern.labels" -}}
{{ include "lantern.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
TorchServe's chart keys (kubernetes/Helm/values.yaml in pytorch/serve) are aliases: when one is
set it wins over the Lantern key it stands for.
*/}}

{{- define "lantern.image" -}}
{{- if .Values.torchserve_image -}}
{{- .Values.torchserve_image -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}

{{- define "lantern.replicas" -}}
{{- $d := .Values.deployment | default dict -}}
{{- if hasKey $d "replicas" -}}{{ $d.replicas }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* lantern.port: (dict "root" $ "key" "inference" "alias" "inference_port") */}}
{{- define "lantern.port" -}}
{{- $ts := .root.Values.torchserve | default dict -}}
{{- if hasKey $ts .alias -}}{{ index $ts .alias | int }}{{- else -}}{{ index .root.Values.ports .key | int }}{{- end -}}
{{- end -}}

{{- define "lantern.inferencePort" -}}{{ include "lantern.port" (dict "root" . "key" "inference" "alias" "inference_port") }}{{- end -}}
{{- define "lantern.managementPort" -}}{{ include "lantern.port" (dict "root" . "key" "management" "alias" "management_port") }}{{- end -}}
{{- define "lantern.metricsPort" -}}{{ include "lantern.port" (dict "root" . "key" "metrics" "alias" "metrics_port") }}{{- end -}}
{{- define "lantern.grpcInferencePort" -}}{{ include "lantern.port" (dict "root" . "key" "grpcInference" "alias" "grpc_inference_port") }}{{- end -}}
{{- define "lantern.grpcManagementPort" -}}{{ include "lantern.port" (dict "root" . "key" "grpcManagement" "alias" "grpc_management_port") }}{{- end -}}

{{/* The model store source: persistentVolume.name (TorchServe's key) means a PVC. */}}
{{- define "lantern.storeSource" -}}
{{- $pv := .Values.persistentVolume | default dict -}}
{{- if $pv.name -}}pvc{{- else -}}{{ .Values.modelStore.source }}{{- end -}}
{{- end -}}

{{- define "lantern.claimName" -}}
{{- $pv := .Values.persistentVolume | default dict -}}
{{- $pv.name | default .Values.modelStore.pvc.claimName -}}
{{- end -}}

{{/* TorchServe's chart keeps the store in the volume's model-store/ folder. */}}
{{- define "lantern.storeSubPath" -}}
{{- $pv := .Values.persistentVolume | default dict -}}
{{- if .Values.modelStore.pvc.subPath -}}{{ .Values.modelStore.pvc.subPath }}{{- else if $pv.name -}}model-store{{- end -}}
{{- end -}}

{{- define "lantern.authSecretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-keys" (include "lantern.fullname" .)) -}}
{{- end -}}

{{/* resources, with torchserve.n_cpu / memory_limit / n_gpu as limits when given. */}}
{{- define "lantern.resources" -}}
{{- $r := deepCopy .Values.resources -}}
{{- $ts := .Values.torchserve | default dict -}}
{{- $limits := $r.limits | default dict -}}
{{- if hasKey $ts "n_cpu" }}{{ $_ := set $limits "cpu" (toString $ts.n_cpu) }}{{ end -}}
{{- if hasKey $ts "memory_limit" }}{{ $_ := set $limits "memory" $ts.memory_limit }}{{ end -}}
{{- if and (hasKey $ts "n_gpu") (gt (int $ts.n_gpu) 0) }}{{ $_ := set $limits "nvidia.com/gpu" (int $ts.n_gpu) }}{{ end -}}
{{- $_ := set $r "limits" $limits -}}
{{- toYaml $r -}}
{{- end -}}
