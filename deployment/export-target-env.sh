#!/usr/bin/env bash
# Hands a target's settings to the later steps under the names they read (${PREFIX}_ECR_URI, …).
# The workflow step maps the target's prefixed secrets to ECR_URI, DOMAIN_NAME, … in its env,
# because an unset secret reads as "" in a workflow: here a missing required one fails with its name.
# Which settings a target requires (REQUIRED_SETTINGS) or may set (OPTIONAL_SETTINGS) is targets.ts's
# rule, written to the job's env by `deployment/branch.ts <branch> --github-output`.
set -euo pipefail
: "${PREFIX:?PREFIX is not set: run deployment/branch.ts <branch> --github-output first}"
: "${REQUIRED_SETTINGS:?REQUIRED_SETTINGS is not set: run deployment/branch.ts <branch> --github-output first}"
: "${GITHUB_ENV:?GITHUB_ENV is not set: this runs inside GitHub Actions}"

missing=()
for name in $REQUIRED_SETTINGS; do
  value="${!name:-}"
  if [[ -z "$value" ]]; then
    missing+=("${PREFIX}_${name}")
  else
    echo "${PREFIX}_${name}=${value}" >>"$GITHUB_ENV"
  fi
done
for name in ${OPTIONAL_SETTINGS:-}; do
  value="${!name:-}"
  if [[ -n "$value" ]]; then
    echo "${PREFIX}_${name}=${value}" >>"$GITHUB_ENV"
  else
    echo "optional secret ${PREFIX}_${name} is not set (see README, Deployment)"
  fi
done
if ((${#missing[@]})); then
  echo "::error::Missing repository secrets: ${missing[*]} (see README, Deployment)" >&2
  exit 1
fi
