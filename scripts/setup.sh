#!/usr/bin/env bash
# Sets up a fresh clone for the tests and the CLI: the Debian packages the integration tests run against
# (docker-registry, skopeo, mariadb-server), a check for moto_server, then npm ci. Works as root and as a user (sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = "0" ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else
    echo "setup: installing Debian packages needs root: run as root, or install sudo" >&2
    exit 2
  fi
}

# The image tier's integration tests run against real peers: Debian's docker-registry (CNCF
# distribution) and skopeo (the reference copier).
# The drill's SQL checks run against a real MariaDB server (mariadbd, started by the tests on a private
# port and data directory; the package starts no service here).
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null || ! command -v mariadbd >/dev/null; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry skopeo mariadb-server
fi
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  echo "setup: mariadbd is missing after installing mariadb-server; the drill's SQL tests need it" >&2
  exit 2
fi

# The conformance suite (test/conformance) runs the jobs against moto_server, an independent AWS
# implementation (moto 5, a Python package: `pip install "moto[server]"` where PyPI is reachable).
if ! command -v moto_server >/dev/null && [ -x "${PYENV_ROOT:-$HOME/.pyenv}/shims/moto_server" ]; then
  echo "setup: moto_server is in ${PYENV_ROOT:-$HOME/.pyenv}/shims: put that folder on PATH" >&2
fi
if ! command -v moto_server >/dev/null && [ ! -x "${PYENV_ROOT:-$HOME/.pyenv}/shims/moto_server" ]; then
  echo "setup: moto_server is missing: install moto 5 (pip install \"moto[server]\"); the conformance tests need it" >&2
  exit 2
fi

# npm ci runs the `prepare` script, which builds the CLI (packages/cli/dist, `npm run build`).
npm ci --no-audit --no-fund
