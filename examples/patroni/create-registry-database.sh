#!/bin/sh
# Patroni's post_bootstrap: $1 is a connection URL for the superuser on the new primary.
# regledger needs a role that owns its database, not a superuser (SPEC §7).
set -e
psql "$1" -X -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE regledger LOGIN PASSWORD 'change-me-regledger'" \
  -c "CREATE DATABASE registry OWNER regledger"
