/*
 * tls.h: OpenSSL contexts for both legs of the relay.
 *
 * Registrar side: TLS 1.2 or newer, a client certificate is required and must
 * chain to the configured CA.  Registry side: TLS 1.2 or newer, the registry's
 * certificate must chain to the upstream CA and match server_name, and the
 * gateway presents its own client certificate.
 */
#ifndef EPPGW_TLS_H
#define EPPGW_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct config;
struct err;

/* NULL on failure, with e filled (ERR_CRYPTO, "what file: OpenSSL's
 * reason"). */
SSL_CTX *tls_server_ctx(const struct config *cfg, struct err *e);
SSL_CTX *tls_client_ctx(const struct config *cfg, struct err *e);

/* A client SSL for one upstream connection: SNI and host name check set. */
SSL *tls_client_new(SSL_CTX *ctx, const char *server_name);

/* SHA-256 of the peer's leaf certificate; -1 if there is none. */
int tls_peer_fingerprint(SSL *ssl, uint8_t fp[32]);

/* "ab:cd:..." hex of a fingerprint, for logs (buf of at least 96 bytes). */
void tls_fp_hex(const uint8_t fp[32], char *buf, size_t len);

#endif
