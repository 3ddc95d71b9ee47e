/*
 * hex.h: lower-case hexadecimal, the one spelling eppgw writes for hashes,
 * keys and ids (records, alerts, files), and reads back.
 */
#ifndef EPPGW_HEX_H
#define EPPGW_HEX_H

#include <stddef.h>

/* n bytes as 2n digits and a NUL: out holds 2n + 1. */
void hex_encode(const void *p, size_t n, char *out);
/* Exactly 2n lower-case digits (len == 2n) into n bytes; -1 otherwise. */
int hex_decode(const char *s, size_t len, void *out, size_t n);

#endif
