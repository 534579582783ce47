#!/usr/bin/env bash
# `npm run demo`: signet's main job on an embedded default, no service needed. Real git, gpg and
# ssh-keygen make a repository with every kind of signature; signet verifies it and judges it
# against fixtures/demo-policy.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.tmp/demo
rm -rf "$out"
mkdir -p "$out"
echo "making a repository with real git, gpg and ssh-keygen in $out/fixtures …"
bash fixtures/make-fixtures.sh "$out/fixtures" >/dev/null
cp fixtures/demo-policy.yml "$out/fixtures/policy.yml"
keys="$out/fixtures/keys"

echo
echo "\$ signet verify --all   (every commit and tag, against the key registry)"
node bin/signet.js verify --repo "$out/fixtures/repo" --keyring "$keys/registry.asc" \
  --allowed-signers "$keys/allowed_signers" --revoked-keys "$keys/revoked_keys" --all || echo "(exit $?: some commits are not G)"

echo
echo "\$ signet policy check policy.yml"
node bin/signet.js policy check "$out/fixtures/policy.yml"

echo
echo "\$ signet verify --policy policy.yml main   (would a push of main pass the hook?)"
node bin/signet.js verify --repo "$out/fixtures/repo" --policy "$out/fixtures/policy.yml" main || echo "(exit $?: the policy rejects this update)"
