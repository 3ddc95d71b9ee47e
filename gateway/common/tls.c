/*
 * tls.c: TLS contexts for the registrar and registry legs (see tls.h).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "err.h"
#include "tls.h"

/*
 * ERR_CRYPTO, "what path: OpenSSL's last reason", and OpenSSL's error
 * queue emptied (it would otherwise be blamed on the next TLS call).  A
 * macro passes the caller's name on, for log_error().
 */
#define ssl_fail(e, what, path)	ssl_fail_at((e), __func__, (what), (path))

static int
ssl_fail_at(struct err *e, const char *func, const char *what,
    const char *path)
{
	unsigned long code = ERR_peek_last_error();
	char reason[160] = "";

	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	ERR_clear_error();
	return err_set_at(e, func, ERR_CRYPTO, "%s %s%s%s", what,
	    path ? path : "", reason[0] ? ": " : "", reason);
}

static int
load_pair(SSL_CTX *ctx, const char *cert, const char *key, struct err *e)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return ssl_fail(e, "cannot load certificate", cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return ssl_fail(e, "cannot load private key", key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ssl_fail(e, "private key does not match", cert);
	return 0;
}

static SSL_CTX *
base_ctx(const SSL_METHOD *method)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Renegotiation only ever helps an attacker here. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * Read ahead: one read(2) takes a record's header and body (and
	 * whatever follows) instead of two reads per record.  conn.c drains
	 * what OpenSSL buffered with SSL_has_pending().
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Idle sessions give their record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const struct config *cfg, struct err *e)
{
	static const unsigned char sid_ctx[] = "eppgw";
	SSL_CTX *ctx;
	STACK_OF(X509_NAME) *names;

	if ((ctx = base_ctx(TLS_server_method())) == NULL) {
		(void)ssl_fail(e, "cannot create TLS context", NULL);
		return NULL;
	}
	if (load_pair(ctx, cfg->gateway.cert, cfg->gateway.key, e) != 0)
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx, cfg->gateway.client_ca,
	    NULL) != 1) {
		(void)ssl_fail(e, "cannot load client CA",
		    cfg->gateway.client_ca);
		goto fail;
	}
	if ((names = SSL_load_client_CA_file(cfg->gateway.client_ca)) == NULL) {
		(void)ssl_fail(e, "no CA names in", cfg->gateway.client_ca);
		goto fail;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Required for resumption when client certificates are verified. */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(const struct config *cfg, struct err *e)
{
	SSL_CTX *ctx;

	if ((ctx = base_ctx(TLS_client_method())) == NULL) {
		(void)ssl_fail(e, "cannot create TLS context", NULL);
		return NULL;
	}
	if (load_pair(ctx, cfg->upstream.cert, cfg->upstream.key, e) != 0)
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx, cfg->upstream.ca, NULL) != 1) {
		(void)ssl_fail(e, "cannot load upstream CA", cfg->upstream.ca);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 6);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *
tls_client_new(SSL_CTX *ctx, const char *server_name)
{
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	if (SSL_set_tlsext_host_name(ssl, server_name) != 1 ||
	    SSL_set1_host(ssl, server_name) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int
tls_peer_fingerprint(SSL *ssl, uint8_t fp[32])
{
	X509 *x;
	unsigned len = 0;
	int r = -1;

	if ((x = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	if (X509_digest(x, EVP_sha256(), fp, &len) == 1 && len == 32)
		r = 0;
	X509_free(x);
	return r;
}

void
tls_fp_hex(const uint8_t fp[32], char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 32 && off + 3 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%02x",
		    i ? ":" : "", fp[i]);
}
