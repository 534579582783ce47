#!/bin/sh
# GitHub Enterprise Server pre-receive hook script (kept in a hook repository). GHES runs it in
# the chroot of a pre-receive hook environment, where there is no Node: build the environment
# from dist/signet (see hooks/README.md), so the executable is /signet inside the chroot.
# The policy is part of the environment too: a push can never bring its own.
SIGNET_POLICY=/signet-policy/policy.yml exec /signet hook pre-receive
