#!/bin/sh
# Make the development PKI of the local demo contract (DESIGN.md section 5).
#
#   certs/mkcerts.sh OUTDIR
#
# Everything written here is for development and tests only: the keys are
# unencrypted and the directory is git-ignored.  ECDSA P-256 keys keep
# generation fast; the gateway accepts RSA as well.
set -eu

out=${1:-certs/dev}
mkdir -p "$out"
cd "$out"
umask 077

days=825
subj() { printf '/O=eppgw development/CN=%s' "$1"; }

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# CA: name, subject
mkca() {
	newkey "$1.key"
	openssl req -new -x509 -sha256 -days 3650 -key "$1.key" -subj "$(subj "$2")" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem"
}

# leaf: name, CN, kind (server|client), CA name
mkleaf() {
	newkey "$1.key"
	openssl req -new -sha256 -key "$1.key" -subj "$(subj "$2")" -out "$1.csr"
	if [ "$3" = server ]; then
		ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
	else
		ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
	fi
	printf '%s\n' "$ext" > "$1.ext"
	openssl x509 -req -sha256 -days $days -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" \
		-CAcreateserial -extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

mkca ca "eppgw dev CA"
mkleaf gateway localhost server ca
mkleaf regsim localhost server ca
mkleaf upstream "eppgw upstream" client ca
for who in registrar alice bob carol; do
	mkleaf "$who" "$who" client ca
done

# For the hostile-input tests: a client the gateway does not know, a client
# from another CA, and an expired client certificate.
mkleaf mallory mallory client ca
mkca evil-ca "not the eppgw CA"
mkleaf evil evil client evil-ca

newkey expired.key
openssl req -new -sha256 -key expired.key -subj "$(subj expired)" -out expired.csr
mkdir -p ca.db
: > ca.db/index.txt
cat > ca.db/ca.cnf <<CNF
[ca]
default_ca = dev
[dev]
dir = ca.db
database = ca.db/index.txt
new_certs_dir = ca.db
serial = ca.db/serial
default_md = sha256
policy = anything
x509_extensions = client
[anything]
commonName = supplied
organizationName = optional
[client]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = clientAuth
CNF
echo 1000 > ca.db/serial
openssl ca -batch -config ca.db/ca.cnf -cert ca.pem -keyfile ca.key \
	-startdate 20200101000000Z -enddate 20200201000000Z \
	-in expired.csr -out expired.pem -notext 2>/dev/null
rm -rf ca.db expired.csr

# The audit log's Ed25519 signing key and the reviewer's verify key.
openssl genpkey -algorithm ED25519 -out audit.key
openssl pkey -in audit.key -pubout -out audit.pub

chmod 600 ./*.key
chmod 644 ./*.pem audit.pub
rm -f ./*.srl
echo "certs: development PKI written to $out" >&2
