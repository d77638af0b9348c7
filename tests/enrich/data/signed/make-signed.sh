#!/bin/sh
# Regenerates cdxgen-signed-1.5.json: a real JSF-signed SBOM (BOM and every component signed,
# RS512) made by cdxgen's own cdx-sign from tests/data/sboms/cdxgen-python-1.5.json.
# Needs node and npm (the registry); the key pair is thrown away, only the public key is kept.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm install --no-audit --no-fund --ignore-scripts --omit=optional @cyclonedx/cdxgen@12.8.4 >/dev/null
openssl genrsa -out private.key 2048 2>/dev/null
openssl rsa -in private.key -pubout -out public.key 2>/dev/null
./node_modules/.bin/cdx-sign -i "$here/../../../data/sboms/cdxgen-python-1.5.json" \
    -o "$here/cdxgen-signed-1.5.json" -k private.key
cp public.key "$here/cdxgen-signed-1.5.public.pem"
./node_modules/.bin/cdx-verify -i "$here/cdxgen-signed-1.5.json" --public-key public.key
