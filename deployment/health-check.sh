#!/usr/bin/env bash
# Fails unless GET <url> answers 200 with the expected model in /health's `model` object
# ({"name", "version", "sha256", …}) within the retries: a fresh deploy needs a while for the custom
# domain and the first (cold) Lambda, and a running service follows an alias move within its TTL.
# Usage: health-check.sh <url> <model> [--version N] [--sha256 HEX] [--attempts N] [--delay SECONDS]
# An empty --version or --sha256 is not checked (and says so).
set -uo pipefail
usage="usage: health-check.sh <url> <model> [--version N] [--sha256 HEX] [--attempts N] [--delay SECONDS]"
url="${1:?$usage}"
model="${2:?$usage}"
shift 2
version="" sha256="" attempts=12 delay=10
while (($#)); do
  case "$1" in
    --version) version="${2-}" ;;
    --sha256) sha256="${2-}" ;;
    --attempts) attempts="${2-}" ;;
    --delay) delay="${2-}" ;;
    *) echo "::error::health-check.sh: unknown argument \"$1\"; $usage" >&2; exit 2 ;;
  esac
  (($# >= 2)) || { echo "::error::health-check.sh: $1 needs a value; $usage" >&2; exit 2; }
  shift 2
done
refuse() { echo "::error::health-check.sh: $1" >&2; exit 2; }
[[ "$attempts" =~ ^[1-9][0-9]*$ && "$delay" =~ ^[0-9]+$ ]] || refuse "--attempts and --delay take whole numbers; $usage"
[[ -z "$version" || "$version" =~ ^[1-9][0-9]*$ ]] || refuse "--version \"$version\" is not a version number"
[[ -z "$sha256" || "$sha256" =~ ^[0-9a-f]{64}$ ]] || refuse "--sha256 \"$sha256\" is not a sha256"

expected="$model${version:+ v$version}${sha256:+ sha256:$sha256}"
[[ -n "$version" ]] || echo "version not checked (no --version)"
[[ -n "$sha256" ]] || echo "sha256 not checked (no --sha256)"
body="$(mktemp)"
trap 'rm -f "$body"' EXIT

for ((i = 1; i <= attempts; i++)); do
  status="$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' "$url")" || status=000
  if [[ "$status" == 200 ]] && jq -e --arg m "$model" --arg v "$version" --arg s "$sha256" '
      (.model | type) == "object" and .model.name == $m
      and ($v == "" or (.model.version | tostring) == $v)
      and ($s == "" or .model.sha256 == $s)' "$body" >/dev/null 2>&1; then
    echo "healthy: $url serves $expected"
    exit 0
  fi
  served="$(jq -r 'if (.model | type) == "object"
    then "\(.model.name) v\(.model.version) sha256:\(.model.sha256)" else empty end' "$body" 2>/dev/null)"
  echo "attempt $i/$attempts: HTTP $status ${served:+serves $served }$(head -c 300 "$body")"
  ((i < attempts)) && sleep "$delay"
done
echo "::error::$url did not answer 200 with $expected after $attempts attempts" >&2
exit 1
