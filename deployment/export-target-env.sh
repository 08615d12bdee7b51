#!/usr/bin/env bash
# Hands a target's five settings to the stacks under the names they read (${PREFIX}_ECR_URI, …).
# The workflow step maps the target's prefixed secrets to ECR_URI, DOMAIN_NAME, … in its env,
# because an unset secret reads as "" in a workflow: here a missing one fails with its name.
set -euo pipefail
: "${PREFIX:?PREFIX is not set: run deployment/branch.ts <branch> --github-output first}"
: "${GITHUB_ENV:?GITHUB_ENV is not set: this runs inside GitHub Actions}"

missing=()
for name in ECR_URI DOMAIN_NAME DATA_BUCKET MODEL_BUCKET PREDICTIONS_BUCKET; do
  value="${!name:-}"
  if [[ -z "$value" ]]; then
    missing+=("${PREFIX}_${name}")
  else
    echo "${PREFIX}_${name}=${value}" >>"$GITHUB_ENV"
  fi
done
if ((${#missing[@]})); then
  echo "::error::Missing repository secrets: ${missing[*]} (see README, Deployment)" >&2
  exit 1
fi
