/*
 * change.c: change class tokens (see change.h).
 */
#include <stdio.h>
#include <string.h>

#include "change.h"

static const char *const names[] = {
	"ns", "ds", "host", "status", "registrant", "contact", "authinfo",
	"transfer", "delete", "unknown"
};

const char *
change_class_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

json_t *
change_classes_json(unsigned classes)
{
	json_t *a = json_array();

	for (unsigned bit = 1; a != NULL && (bit & CLASS_ALL); bit <<= 1)
		if (classes & bit)
			json_array_append_new(a,
			    json_string(change_class_name(bit)));
	return a;
}

unsigned
change_class_parse(const char *token)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(token, names[i]) == 0)
			return 1u << i;
	return 0;
}

void
change_classes_format(unsigned classes, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(classes & (1u << i)))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "",
		    names[i]);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

unsigned
change_fact_class(int host, const char *fact)
{
	if (host)
		return CLASS_HOST;
	if (strncmp(fact, "ns=", 3) == 0 || strncmp(fact, "nsaddr=", 7) == 0)
		return CLASS_NS;
	if (strncmp(fact, "ds=", 3) == 0 || strncmp(fact, "key=", 4) == 0 ||
	    strncmp(fact, "maxsiglife=", 11) == 0)
		return CLASS_DS;
	if (strncmp(fact, "registrant=", 11) == 0)
		return CLASS_REGISTRANT;
	if (strncmp(fact, "contact=", 8) == 0)
		return CLASS_CONTACT;
	if (strncmp(fact, "exists=", 7) == 0)
		return CLASS_DELETE;
	return CLASS_STATUS;
}
