#!/usr/bin/env bash
# Fails unless GET <url> answers 200 with {"model": "<model>", …} within the retries: a fresh
# deploy needs a while for the custom domain and the first (cold) Lambda to answer.
# Usage: health-check.sh <url> <model> [attempts=12] [delay-seconds=10]
set -uo pipefail
url="${1:?usage: health-check.sh <url> <model> [attempts] [delay-seconds]}"
model="${2:?usage: health-check.sh <url> <model> [attempts] [delay-seconds]}"
attempts="${3:-12}"
delay="${4:-10}"
body="$(mktemp)"
trap 'rm -f "$body"' EXIT

for ((i = 1; i <= attempts; i++)); do
  status="$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' "$url")" || status=000
  if [[ "$status" == 200 ]] && jq -e --arg m "$model" '.model == $m' "$body" >/dev/null 2>&1; then
    echo "healthy: $url serves $model"
    exit 0
  fi
  echo "attempt $i/$attempts: HTTP $status $(head -c 300 "$body")"
  ((i < attempts)) && sleep "$delay"
done
echo "::error::$url did not answer 200 with model \"$model\" after $attempts attempts" >&2
exit 1
