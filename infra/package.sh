#!/usr/bin/env bash
# Build the deployment package and CloudFormation template with `chalice package`.
#
# chalice ships only app.py, chalicelib/ and vendor/, so templates/ and policies/ are copied
# into chalicelib/_bundle/ of a throw-away copy of the project (the checkout is never touched),
# with the staff console's built assets (build/console-assets/, rebuilt first if its inputs changed)
# as chalicelib/_bundle/console-assets/.
# The tables and environment come from infra/resources.json (built from the PynamoDB models).
# chalice zips every dependency whole (it has no way to leave one out), so the zip is then slimmed
# by infra/slim_package.py to what the functions import: boto3, botocore, s3transfer, jmespath and
# urllib3 come from the Lambda python3.11 runtime (boto3/botocore are the runtime's; our code needs
# only DynamoDB, SES SendEmail and SSM GetParameter, older than the runtime's oldest documented SDK,
# boto3 1.27.1 / botocore 1.30.1; requirements.txt keeps them pinned for the tests), `holidays` is
# cut to the United Kingdom and tzdata to Europe/London and UTC. It prints the sizes before and after.
#
#   AREAS="a b" infra/package.sh [OUT_DIR]  (AREAS optional: only those areas' policies)
#   infra/package.sh [OUT_DIR]    -> OUT_DIR/deployment.zip and OUT_DIR/sam.json (default build/package)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build/package}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=${STAGE:-dev}
# chalice package needs a region to name the runtime's ARNs; the stack takes its own at deploy time.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-eu-west-2}
chalice=${CHALICE:-$repo/.venv/bin/chalice}

(cd "$repo" && "$repo/.venv/bin/python" -m infra.build_console_assets)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$repo/app.py" "$repo/chalicelib" "$repo/requirements.txt" "$work/"
mkdir -p "$work/.chalice"
cp "$repo/.chalice/config.json" "$repo"/.chalice/policy-*.json "$work/.chalice/"
rm -rf "$work/chalicelib/_bundle"
mkdir -p "$work/chalicelib/_bundle"
cp -R "$repo/templates" "$work/chalicelib/_bundle/"
# AREAS="dacorum hart" ships only those areas' policies (a council's deployment serves its own areas:
# make deploy passes the settings' council.areas); unset, every policy in policies/.
mkdir -p "$work/chalicelib/_bundle/policies"
if [ -n "${AREAS:-}" ]; then
  for area in ${AREAS//,/ }; do
    [ -f "$repo/policies/$area.toml" ] || { echo "AREAS: no policy policies/$area.toml" >&2; exit 2; }
    cp "$repo/policies/$area.toml" "$work/chalicelib/_bundle/policies/"
  done
else
  cp "$repo"/policies/*.toml "$work/chalicelib/_bundle/policies/"
fi
cp -R "$repo/build/console-assets" "$work/chalicelib/_bundle/console-assets"
rm -f "$work/chalicelib/_bundle/console-assets/.inputs"
find "$work" -name __pycache__ -type d -prune -exec rm -rf {} +

# The same check the Lambda runs at start-up, before anything is shipped.
(cd "$work" && "$repo/.venv/bin/python" -c "from chalicelib import wiring; print(f'policies ok: {sorted(wiring.policies())}')")
(cd "$work" && "$chalice" package --stage "$stage" --merge-template "$repo/infra/resources.json" "$out")
(cd "$repo" && "$repo/.venv/bin/python" -m infra.slim_package "$out/deployment.zip")
echo "packaged: $out/deployment.zip and $out/sam.json"
