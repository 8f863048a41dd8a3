#!/bin/sh
# Regenerates the recorded go outputs of every case from its tiny module:
# each case directory stands for a repository checked out at /workspace.
#   sh triage/testdata/go/gen.sh
# Needs a Go toolchain, and cgo for the race case.
set -u
cd "$(dirname "$0")"
here=$(pwd)
export GOTOOLCHAIN=local GOWORK=off GOFLAGS= CGO_ENABLED=1
run() { # case name, then the go command
	c=$1 name=$2; shift 2
	(cd "$c" && "$@" >"../out/$c.$name" 2>&1)
	sed -i "s#$here/$c#/workspace#g" "out/$c.$name"
	# Timings vary from run to run; the parsers ignore them.
	sed -i -E 's/([ (])[0-9]+\.[0-9]+s\)/\10.00s)/g; s/(\t)[0-9]+\.[0-9]+s$/\10.01s/; s/"Time":"[^"]*",//; s/"Elapsed":[0-9.]+/"Elapsed":0/' "out/$c.$name"
}
mkdir -p out
for c in assert panic; do
	run $c json go test -json ./...
	run $c txt go test ./...
	run $c vtxt go test -v ./...
done
run race json go test -race -json ./...
run race txt go test -race ./...
run hang json go test -timeout 1s -json ./...
run hang txt go test -timeout 1s ./...
run vet json go test -json ./...
run vet txt go test ./...
run vet vet go vet ./...
run compile json go test -json ./...
run compile txt go test ./...
run compile build go build ./...
GOPROXY=off GOFLAGS=-mod=mod run download build go build ./...
GOPROXY=off run download moddownload go mod download
GOPROXY=off GOFLAGS=-mod=mod run download json go test -json ./...

# The same module from proxies that fail as real ones do: one that answers
# 404 for everything, one whose certificate nobody signed, one whose host
# does not resolve. Each run gets an empty module cache.
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/empty"
(cd "$tmp/empty" && exec python3 -m http.server 18931 --bind 127.0.0.1 >/dev/null 2>&1) &
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
python3 -c '
import http.server, ssl, sys
s = http.server.HTTPServer(("127.0.0.1", 18932), http.server.SimpleHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True); s.serve_forever()
' "$tmp/cert.pem" "$tmp/key.pem" >/dev/null 2>&1 &
for port in 18931 18932; do # wait until both listen
	i=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
	done
done
export GOSUMDB=off GOFLAGS=-mod=mod
GOMODCACHE=$tmp/c1 GOPROXY=http://127.0.0.1:18931 run download proxy404 go build ./...
GOMODCACHE=$tmp/c2 GOPROXY=https://127.0.0.1:18932 run download x509 go mod download
GOMODCACHE=$tmp/c3 GOPROXY=https://proxy.sentinel-ci.invalid run download dns go build ./...
sed -i 's#'"$tmp"'#/tmp/gomodcache#g' out/download.*
exit 0
