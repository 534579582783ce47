#!/usr/bin/env bash
# Builds a benchmark repository with real git: a linear history of N_OPENPGP commits signed with an
# Ed25519 OpenPGP key (gpg), then N_SSH commits signed with an Ed25519 SSH key (ssh-keygen), each
# made by `git commit-tree -S` (no index or work tree involved), packed at the end.
#
# Usage: bench/make-bench-repo.sh DIR N_OPENPGP N_SSH
#   DIR/repo                  the repository; refs/heads/main is the tip, refs/tags/bench/root
#                             the first commit, refs/tags/bench/openpgp-tip the last OpenPGP one
#   DIR/keys/registry.asc     the OpenPGP public key (the registry)
#   DIR/keys/allowed_signers  the SSH key's allowed-signers line
#   DIR/gnupg-verify          GNUPGHOME with the public key at ultimate trust (for git's own check)
#   DIR/info.json             counts, commit ids and how long the generation took
# A DIR already holding a complete repository with the same counts is reused as it is (cache).
set -euo pipefail

if [[ $# -ne 3 || ! $2 =~ ^[0-9]+$ || ! $3 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 DIR N_OPENPGP N_SSH" >&2
  exit 2
fi
N_OPENPGP=$2
N_SSH=$3
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

if [[ -f "$DIR/info.json" ]] && grep -q "\"nOpenpgp\":$N_OPENPGP,\"nSsh\":$N_SSH," "$DIR/info.json"; then
  echo "make-bench-repo: $DIR is already built with $N_OPENPGP + $N_SSH commits" >&2
  exit 0
fi
rm -rf "$DIR/repo" "$DIR/keys" "$DIR/gnupg-sign" "$DIR/gnupg-verify" "$DIR/ssh" "$DIR/info.json"

while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(GIT_|GNUPG|GPG_)' || true)
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC
export GNUPGHOME="$DIR/gnupg-sign"
mkdir -m 700 "$DIR/gnupg-sign" "$DIR/gnupg-verify"
mkdir "$DIR/keys" "$DIR/ssh"
trap 'for h in "$DIR/gnupg-sign" "$DIR/gnupg-verify"; do GNUPGHOME="$h" gpgconf --kill gpg-agent >/dev/null 2>&1 || true; done' EXIT

started=$(date +%s.%N)

gpg --batch --pinentry-mode loopback --passphrase '' --quiet \
  --quick-gen-key 'Bench OpenPGP <bench-openpgp@signet.test>' ed25519 sign never 2>/dev/null
FPR=$(gpg --with-colons --list-keys bench-openpgp@signet.test 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')
gpg --batch --armor --export "$FPR" >"$DIR/keys/registry.asc" 2>/dev/null
GNUPGHOME="$DIR/gnupg-verify" gpg --batch --quiet --import "$DIR/keys/registry.asc" 2>/dev/null
echo "$FPR:6:" | GNUPGHOME="$DIR/gnupg-verify" gpg --batch --quiet --import-ownertrust 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -C bench-ssh@signet.test -f "$DIR/ssh/bench-ssh"
echo "bench-ssh@signet.test $(cut -d' ' -f1,2 "$DIR/ssh/bench-ssh.pub")" >"$DIR/keys/allowed_signers"
gpgconf --launch gpg-agent   # warm: every signature goes through it

git init -q -b main "$DIR/repo"
cd "$DIR/repo"
export GIT_AUTHOR_NAME='Bench Author' GIT_AUTHOR_EMAIL='bench-openpgp@signet.test'
export GIT_COMMITTER_NAME='Bench Author' GIT_COMMITTER_EMAIL='bench-openpgp@signet.test'
tree=$(printf '100644 blob %s\tREADME\n' "$(echo 'signet benchmark' | git hash-object -w --stdin)" | git mktree)

# Fixed, increasing dates: the same counts give the same history shape and order every time.
T=1700000000
parent=()
tip=''
root=''
openpgp_tip=''
for ((i = 1; i <= N_OPENPGP; i++)); do
  T=$((T + 1))
  tip=$(GIT_AUTHOR_DATE="$T +0000" GIT_COMMITTER_DATE="$T +0000" \
    git -c gpg.format=openpgp commit-tree -S"$FPR" "${parent[@]}" -m "bench: openpgp commit $i" "$tree")
  parent=(-p "$tip")
  [[ -n $root ]] || root=$tip
done
openpgp_tip=$tip

export GIT_AUTHOR_EMAIL='bench-ssh@signet.test' GIT_COMMITTER_EMAIL='bench-ssh@signet.test'
for ((i = 1; i <= N_SSH; i++)); do
  T=$((T + 1))
  tip=$(GIT_AUTHOR_DATE="$T +0000" GIT_COMMITTER_DATE="$T +0000" \
    git -c gpg.format=ssh -c user.signingkey="$DIR/ssh/bench-ssh" commit-tree -S "${parent[@]}" -m "bench: ssh commit $i" "$tree")
  parent=(-p "$tip")
  [[ -n $root ]] || root=$tip
done

if [[ -n $tip ]]; then
  git update-ref refs/heads/main "$tip"
  git update-ref refs/tags/bench/root "$root"
  [[ -z $openpgp_tip ]] || git update-ref refs/tags/bench/openpgp-tip "$openpgp_tip"
fi
git repack -a -d -q
git prune-packed

seconds=$(echo "$(date +%s.%N) - $started" | bc)
printf '{"nOpenpgp":%d,"nSsh":%d,"head":"%s","root":"%s","openpgpTip":"%s","openpgpFingerprint":"%s","seconds":%.1f}\n' \
  "$N_OPENPGP" "$N_SSH" "$tip" "$root" "$openpgp_tip" "$FPR" "$seconds" >"$DIR/info.json"
echo "make-bench-repo: $N_OPENPGP + $N_SSH commits in ${seconds}s -> $DIR" >&2
