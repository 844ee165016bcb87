{{/* Chart name. */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release-chart, at most 63 characters, and a DNS-1035 label (lowercase letters, digits
and '-', starting with a letter), as every Service name must be. Helm allows release names of up to
53 characters with dots and a leading digit: dots become '-', and a name that would start with a
digit gets the chart name in front instead of behind.
*/}}
{{- define "gatehouse.fullname" -}}
{{- $full := .Values.fullnameOverride }}
{{- if not $full }}
{{- $name := include "gatehouse.name" . }}
{{- $release := .Release.Name | replace "." "-" }}
{{- $full = ternary $release (printf "%s-%s" $release $name) (contains $name $release) }}
{{- if not (regexMatch "^[a-z]" $full) }}
{{- $full = printf "%s-%s" $name $release }}
{{- end }}
{{- end }}
{{- regexReplaceAll "-+$" ($full | trunc 63) "" }}
{{- end }}

{{/*
The name of a further object of the release, "<full name>-<suffix>", with the full name shortened
so that the whole stays within the 63 characters of a Service name. Call as
(include "gatehouse.suffixedName" (list . "mtls")).
*/}}
{{- define "gatehouse.suffixedName" -}}
{{- $suffix := index . 1 }}
{{- $base := include "gatehouse.fullname" (index . 0) | trunc (int (sub 62 (len $suffix))) }}
{{- printf "%s-%s" (regexReplaceAll "-+$" $base "") $suffix }}
{{- end }}

{{- define "gatehouse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ include "gatehouse.chart" . }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatehouse.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding signing keys, cookie keys and MONGODB_URI. */}}
{{- define "gatehouse.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "gatehouse.fullname" .) }}
{{- end }}

{{/* Whether the chart creates that Secret. */}}
{{- define "gatehouse.createSecret" -}}
{{- if and (not .Values.secrets.existingSecret) (or .Values.secrets.jwks .Values.secrets.cookieKeys .Values.store.mongodb.uri) }}true{{ end }}
{{- end }}

{{/* Whether signing keys / cookie keys / MONGODB_URI come from the Secret. */}}
{{- define "gatehouse.hasJwks" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.jwks }}true{{ end }}
{{- end }}
{{- define "gatehouse.hasCookieKeys" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.cookieKeys }}true{{ end }}
{{- end }}
{{- define "gatehouse.hasMongodbUri" -}}
{{- if and (eq .Values.store.type "mongodb") (or .Values.secrets.existingSecret .Values.store.mongodb.uri) }}true{{ end }}
{{- end }}

{{/* The TLS Secret mounted as the certs dir, if any. */}}
{{- define "gatehouse.tlsSecretName" -}}
{{- if .Values.mtls.tls.existingSecret }}
{{- .Values.mtls.tls.existingSecret }}
{{- else if .Values.mtls.tls.cert }}
{{- include "gatehouse.suffixedName" (list . "tls") }}
{{- end }}
{{- end }}

{{/*
A resource quantity (`500m`, `1.5Gi`, `2`, `1e3`; a string or a number) as a float in base units,
for comparing a request with its limit. values.schema.json has already checked the syntax.
*/}}
{{- define "gatehouse.quantity" -}}
{{- if not (kindIs "string" .) }}
{{- float64 . }}
{{- else }}
{{- $q := . }}
{{- $number := regexReplaceAll "^\\+?([0-9.]+).*$" $q "${1}" | float64 }}
{{- $suffix := regexReplaceAll "^\\+?[0-9.]+" $q "" }}
{{- /* Sub-unit suffixes divide, so that 700m and 0.7 come out as the same float. */}}
{{- $divisors := dict "n" 1e9 "u" 1e6 "m" 1e3 }}
{{- $multipliers := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 }}
{{- if hasKey $divisors $suffix }}
{{- divf $number (get $divisors $suffix) }}
{{- else if hasKey $multipliers $suffix }}
{{- mulf $number (get $multipliers $suffix) }}
{{- else }}
{{- $exponent := regexReplaceAll "^[eE]" $suffix "" | atoi }}
{{- $power := 1.0 }}
{{- range until (ternary $exponent (sub 0 $exponent) (gt $exponent 0) | int) }}
{{- $power = mulf $power 10 }}
{{- end }}
{{- ternary (mulf $number $power) (divf $number $power) (ge $exponent 0) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pods that run at most: replicaCount, or the autoscaler's maximum. */}}
{{- define "gatehouse.maxPods" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.maxReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{- define "gatehouse.dataDir" -}}/var/lib/gatehouse{{- end }}
{{- define "gatehouse.certsDir" -}}/etc/gatehouse/tls{{- end }}
{{- define "gatehouse.keysDir" -}}/etc/gatehouse/keys{{- end }}
{{- define "gatehouse.clientsDir" -}}/etc/gatehouse/clients{{- end }}
{{- define "gatehouse.connectorsDir" -}}/etc/gatehouse/connectors{{- end }}

{{/*
Settings that are secrets and so may never be put in the ConfigMap through `config`.
*/}}
{{- define "gatehouse.secretSettings" -}}
GATEHOUSE_COOKIE_KEYS MONGODB_URI GATEHOUSE_METRICS_TOKEN
{{- end }}

{{/*
Refuses, at template time, values that would deploy something broken or insecure. Every message
names the value to change.
*/}}
{{- define "gatehouse.validate" -}}
{{- $v := .Values }}
{{- if not $v.issuer }}
{{- fail "gatehouse: set `issuer` to the public issuer URL (e.g. https://login.example.com)" }}
{{- end }}
{{- if not (regexMatch "^https?://[^/?#]+(/[^?#]*)?$" $v.issuer) }}
{{- fail (printf "gatehouse: `issuer` must be an http(s) URL without query or fragment (got %q)" $v.issuer) }}
{{- end }}
{{- if and (eq $v.mode "production") (not (hasPrefix "https://" $v.issuer)) }}
{{- fail "gatehouse: production mode needs an https `issuer`" }}
{{- end }}
{{- if and (gt (int (include "gatehouse.maxPods" .)) 1) (ne $v.store.type "mongodb") }}
{{- fail (printf "gatehouse: %s needs `store.type: mongodb`: with %s every pod keeps its own state (codes, device codes, sessions), so a flow started on one pod fails on another. Set store.type=mongodb with store.mongodb.uri (or secrets.existingSecret), or run one replica without autoscaling." (ternary "autoscaling" (printf "replicaCount=%d" (int $v.replicaCount)) $v.autoscaling.enabled) $v.store.type) }}
{{- end }}
{{- range $resource, $limit := ($v.resources.limits | default dict) }}
{{- $request := get ($v.resources.requests | default dict) $resource }}
{{- if and (not (kindIs "invalid" $request)) (gt (include "gatehouse.quantity" $request | float64) (include "gatehouse.quantity" $limit | float64)) }}
{{- fail (printf "gatehouse: resources.requests.%s (%v) is more than resources.limits.%s (%v); the API server refuses a request above its limit" $resource $request $resource $limit) }}
{{- end }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail "gatehouse: autoscaling.minReplicas is greater than autoscaling.maxReplicas" }}
{{- end }}
{{- if and $v.secrets.existingSecret (or $v.secrets.jwks $v.secrets.cookieKeys $v.store.mongodb.uri) }}
{{- fail "gatehouse: secrets.existingSecret is set, so secrets.jwks, secrets.cookieKeys and store.mongodb.uri must stay empty (the chart either creates the Secret or uses yours, never both)" }}
{{- end }}
{{- if and (eq $v.store.type "mongodb") (not (include "gatehouse.hasMongodbUri" .)) }}
{{- fail "gatehouse: store.type is mongodb: set store.mongodb.uri or put `mongodb-uri` in secrets.existingSecret" }}
{{- end }}
{{- if and (ne $v.store.type "mongodb") $v.store.mongodb.uri }}
{{- fail "gatehouse: store.mongodb.uri is set but store.type is not mongodb" }}
{{- end }}
{{- range $v.secrets.cookieKeys }}
{{- if lt (len .) 32 }}
{{- fail "gatehouse: every entry of secrets.cookieKeys must be at least 32 characters" }}
{{- end }}
{{- end }}
{{- if eq $v.mode "production" }}
{{- if not (include "gatehouse.hasJwks" .) }}
{{- fail "gatehouse: production mode needs signing keys: set secrets.existingSecret (key jwks.json) or secrets.jwks" }}
{{- end }}
{{- if not (include "gatehouse.hasCookieKeys" .) }}
{{- fail "gatehouse: production mode needs cookie keys: set secrets.existingSecret (key cookie-keys) or secrets.cookieKeys" }}
{{- end }}
{{- if and $v.mtls.enabled (not (include "gatehouse.tlsSecretName" .)) }}
{{- fail "gatehouse: production mode with mtls.enabled needs the server certificate and client CA: set mtls.tls.existingSecret (e.g. a cert-manager Certificate's Secret) or mtls.tls.cert/key/ca" }}
{{- end }}
{{- end }}
{{- if and $v.mtls.tls.existingSecret (or $v.mtls.tls.cert $v.mtls.tls.key $v.mtls.tls.ca) }}
{{- fail "gatehouse: mtls.tls.existingSecret is set, so mtls.tls.cert, key and ca must stay empty" }}
{{- end }}
{{- if and (or $v.mtls.tls.cert $v.mtls.tls.key $v.mtls.tls.ca) (not (and $v.mtls.tls.cert $v.mtls.tls.key $v.mtls.tls.ca)) }}
{{- fail "gatehouse: mtls.tls.cert, mtls.tls.key and mtls.tls.ca must be given together" }}
{{- end }}
{{- if and $v.mtls.enabled (not $v.mtls.origin) }}
{{- fail "gatehouse: set mtls.origin to the https origin where clients reach the mTLS listener (mtls_endpoint_aliases in discovery)" }}
{{- end }}
{{- if $v.mtls.forwardedCertificate.enabled }}
{{- if not $v.mtls.enabled }}
{{- fail "gatehouse: mtls.forwardedCertificate needs mtls.enabled" }}
{{- end }}
{{- if not (and $v.proxy.trust $v.proxy.trustedProxies) }}
{{- fail "gatehouse: mtls.forwardedCertificate needs proxy.trust=true and proxy.trustedProxies naming the proxy that sets the header; otherwise anyone could forge a client certificate" }}
{{- end }}
{{- end }}
{{- if and $v.mtlsIngress.enabled (not $v.mtls.forwardedCertificate.enabled) }}
{{- fail "gatehouse: mtlsIngress terminates client TLS, so it needs mtls.forwardedCertificate.enabled (or use mtlsService with TLS passthrough)" }}
{{- end }}
{{- $secretSettings := splitList " " (include "gatehouse.secretSettings" .) }}
{{- range $key, $_ := $v.config }}
{{- if or (has $key $secretSettings) (regexMatch "(SECRET|PASSWORD|TOKEN|PRIVATE_KEY|API_KEY)S?$" $key) }}
{{- fail (printf "gatehouse: config.%s is a secret and would land in a ConfigMap; use secrets.* or extraEnv with valueFrom.secretKeyRef" $key) }}
{{- end }}
{{- if has $key (list "GATEHOUSE_MODE" "GATEHOUSE_ISSUER" "GATEHOUSE_HOST" "GATEHOUSE_PORT" "GATEHOUSE_MTLS_PORT" "GATEHOUSE_MTLS_ENABLED" "GATEHOUSE_METRICS" "GATEHOUSE_ADMIN_HOST" "GATEHOUSE_ADMIN_PORT" "GATEHOUSE_MTLS_ORIGIN" "GATEHOUSE_DATA_DIR" "GATEHOUSE_CERTS_DIR" "GATEHOUSE_STORE" "GATEHOUSE_JWKS_FILE" "GATEHOUSE_CLIENTS_FILE" "GATEHOUSE_CONNECTORS_FILE" "GATEHOUSE_TRUST_PROXY" "GATEHOUSE_TRUSTED_PROXIES" "GATEHOUSE_REGISTRATION" "GATEHOUSE_LOG_LEVEL" "GATEHOUSE_SHUTDOWN_TIMEOUT" "GATEHOUSE_SHUTDOWN_DRAIN_DELAY" "GATEHOUSE_CLIENT_CERT_HEADER") }}
{{- fail (printf "gatehouse: config.%s is set by a dedicated value of this chart; use that instead (see values.yaml)" $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Container environment beyond the ConfigMap: secrets by reference, then extraEnv. */}}
{{- define "gatehouse.env" -}}
{{- if include "gatehouse.hasCookieKeys" . }}
- name: GATEHOUSE_COOKIE_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "gatehouse.secretName" . }}
      key: {{ .Values.secrets.keys.cookieKeys }}
{{- end }}
{{- if include "gatehouse.hasMongodbUri" . }}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "gatehouse.secretName" . }}
      key: {{ .Values.secrets.keys.mongodbUri }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
