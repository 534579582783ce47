#!/usr/bin/env bash
# Builds a benchmark repository shaped like a real project's history, with real git, gpg and
# ssh-keygen (issue 13): dozens of signers with keys of every kind (OpenPGP RSA 2048–4096,
# Ed25519, ECDSA P-256/384/521, DSA-2048; SSH Ed25519, ECDSA, RSA), a signer the registry does
# not know, unsigned stretches, feature branches merged through signed tags (mergetag headers),
# and OpenTimestamps blocks appended to some signatures. The keyring also holds a secp256k1
# key, which signet skips with a warning (it signs nothing here).
#
# Usage: bench/make-realistic-repo.sh DIR ROUNDS        (about 13 commits a round)
#   DIR/repo, DIR/keys/registry.asc, DIR/keys/allowed_signers, DIR/gnupg-verify, DIR/info.json
# A DIR already built with the same ROUNDS is reused as it is (cache).
set -euo pipefail

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 DIR ROUNDS" >&2
  exit 2
fi
ROUNDS=$2
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
if [[ -f "$DIR/info.json" ]] && grep -q "\"rounds\":$ROUNDS," "$DIR/info.json"; then
  echo "make-realistic-repo: $DIR is already built with $ROUNDS rounds" >&2
  exit 0
fi
rm -rf "$DIR/repo" "$DIR/keys" "$DIR/gnupg-sign" "$DIR/gnupg-verify" "$DIR/gnupg-other" "$DIR/ssh" "$DIR/info.json"

while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(GIT_|GNUPG|GPG_)' || true)
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC GIT_EDITOR=true
export GNUPGHOME="$DIR/gnupg-sign"
mkdir -m 700 "$DIR/gnupg-sign" "$DIR/gnupg-verify" "$DIR/gnupg-other"
mkdir "$DIR/keys" "$DIR/ssh"
trap 'for h in "$DIR"/gnupg-*; do GNUPGHOME="$h" gpgconf --kill gpg-agent >/dev/null 2>&1 || true; done' EXIT
started=$(date +%s.%N)

gen() { gpg --batch --pinentry-mode loopback --passphrase '' --quiet --quick-gen-key "$1" "$2" sign never 2>/dev/null; }
fpr_of() { gpg --with-colons --list-keys "$1" 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }'; }

# Signers: "openpgp FINGERPRINT EMAIL" or "ssh KEYFILE EMAIL".
signers=()
n=0
for algo in rsa2048 rsa2048 rsa2048 rsa3072 rsa4096 ed25519 ed25519 ed25519 ed25519 ed25519 ed25519 ed25519 ed25519 \
  nistp256 nistp256 nistp256 nistp384 nistp384 nistp521 dsa2048 dsa2048; do
  n=$((n + 1))
  email="pgp$n-$algo@signet.test"
  gen "Signer $n <$email>" "$algo"
  signers+=("openpgp $(fpr_of "$email") $email")
done
gen 'Coin Signer <secp256k1@signet.test>' secp256k1
gpg --batch --armor --export >"$DIR/keys/registry.asc" 2>/dev/null
GNUPGHOME="$DIR/gnupg-verify" gpg --batch --quiet --import "$DIR/keys/registry.asc" 2>/dev/null
gpg --with-colons --list-keys 2>/dev/null | awk -F: '/^pub:/ { want = 1 } /^fpr:/ && want { print $10 ":6:"; want = 0 }' |
  GNUPGHOME="$DIR/gnupg-verify" gpg --batch --quiet --import-ownertrust 2>/dev/null
# A signer whose key is in no registry (E for git and signet alike).
GNUPGHOME="$DIR/gnupg-other" gpg --batch --pinentry-mode loopback --passphrase '' --quiet --quick-gen-key 'Stranger <stranger@signet.test>' ed25519 sign never 2>/dev/null
stranger=$(GNUPGHOME="$DIR/gnupg-other" gpg --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')
: >"$DIR/keys/allowed_signers"
for type in ed25519 ed25519 ed25519 ed25519 ed25519 ecdsa ecdsa rsa rsa; do
  n=$((n + 1))
  email="ssh$n-$type@signet.test"
  ssh-keygen -q -t "$type" -N '' -C "$email" -f "$DIR/ssh/s$n"
  echo "$email $(cut -d' ' -f1,2 "$DIR/ssh/s$n.pub")" >>"$DIR/keys/allowed_signers"
  signers+=("ssh $DIR/ssh/s$n.pub $email")
done
gpgconf --launch gpg-agent

git init -q -b main "$DIR/repo"
cd "$DIR/repo"
T=1700000000
count=0
# commit SIGNER-INDEX|none|stranger MESSAGE [extra git args…]: an empty commit (or a merge) at the next second.
commit_as() {
  local who=$1 message=$2
  shift 2
  T=$((T + 97))
  export GIT_AUTHOR_DATE="$T +0000" GIT_COMMITTER_DATE="$T +0000"
  count=$((count + 1))
  if [[ $who == none ]]; then
    GIT_AUTHOR_NAME=Casual GIT_AUTHOR_EMAIL=casual@signet.test GIT_COMMITTER_NAME=Casual GIT_COMMITTER_EMAIL=casual@signet.test git "$@" -q -m "$message"
  elif [[ $who == stranger ]]; then
    GNUPGHOME="$DIR/gnupg-other" GIT_AUTHOR_NAME=Stranger GIT_AUTHOR_EMAIL=stranger@signet.test GIT_COMMITTER_NAME=Stranger GIT_COMMITTER_EMAIL=stranger@signet.test \
      git -c user.signingkey="$stranger" "$@" -q -S -m "$message"
  else
    local kind key email
    read -r kind key email <<<"${signers[$who]}"
    local config=(-c user.signingkey="$key")
    [[ $kind == ssh ]] && config+=(-c gpg.format=ssh)
    GIT_AUTHOR_NAME="$email" GIT_AUTHOR_EMAIL="$email" GIT_COMMITTER_NAME="$email" GIT_COMMITTER_EMAIL="$email" git "${config[@]}" "$@" -q -S -m "$message"
  fi
}
# Appends an OpenTimestamps-like block to HEAD's signature (as ots-git-gpg-wrapper does).
timestamp_head() {
  local raw new
  raw=$(git cat-file commit HEAD; echo x)
  raw=${raw%x}
  new=$(printf '%s' "$raw" | awk 'BEGIN { done = 0 } !done && /^ -----END PGP SIGNATURE-----$/ { print; print " -----BEGIN OPENTIMESTAMPS GIT TIMESTAMP-----"; print " "; print " AE9wZW5UaW1lc3RhbXBzAABQcm9vZgC/ieLohOiSlAEIOCbHy2Cu0mjXzGxz3wQ5DsXEcx3tq6Aq"; print " 8P+yaSW2ABDwELWsQdsRMbVt0fEwrLvOTT8I8CAl4ub/Nzy0a2BZhjI+LSfmAPGHjT3mYkMItO0I"; print " -----END OPENTIMESTAMPS GIT TIMESTAMP-----"; done = 1; next } { print }' |
    git hash-object -t commit -w --stdin)
  git reset -q --soft "$new"
}

pgp_count=21
total=${#signers[@]}
commit_as 0 'initial' commit --allow-empty
for ((round = 1; round <= ROUNDS; round++)); do
  for ((k = 0; k < 8; k++)); do commit_as $(((round * 7 + k * 5) % total)) "work $round.$k" commit --allow-empty; done
  if ((round % 4 == 0)); then
    commit_as $((round % pgp_count)) "timestamped $round" commit --allow-empty
    timestamp_head
  fi
  if ((round % 3 == 0)); then
    for ((k = 0; k < 6; k++)); do commit_as none "unsigned $round.$k" commit --allow-empty; done
  fi
  if ((round % 5 == 0)); then commit_as stranger "from outside $round" commit --allow-empty; fi
  if ((round % 2 == 0)); then
    git checkout -q -b "feature-$round"
    for ((k = 0; k < 3; k++)); do commit_as $(((round + k * 3) % total)) "feature $round.$k" commit --allow-empty; done
    read -r _ tagkey tagemail <<<"${signers[$((round % pgp_count))]}"
    GIT_COMMITTER_NAME="$tagemail" GIT_COMMITTER_EMAIL="$tagemail" git -c user.signingkey="$tagkey" tag -s -m "feature $round" "feature-$round-done" 2>/dev/null
    git checkout -q main
    commit_as $(((round * 11) % total)) "meanwhile $round" commit --allow-empty
    # A merge of the signed tag: git records the tag in a mergetag header.
    commit_as $(((round * 13) % pgp_count)) "Merge tag feature-$round-done" merge --no-ff "feature-$round-done"
  fi
done
git gc -q --aggressive 2>/dev/null || git gc -q

ended=$(date +%s.%N)
printf '{"rounds":%d,"commits":%d,"signers":%d,"generationSeconds":%.1f}\n' "$ROUNDS" "$(git rev-list --count main)" "$total" "$(echo "$ended - $started" | bc)" >"$DIR/info.json"
