/*
 * conf.h: how a module describes its section of the configuration.
 *
 * Each section's settings are a struct owned by the module that uses them
 * (struct audit_conf in audit.h, and so on), and that module lists the
 * section's keys in a table of struct conf_keyword, offsets into its
 * struct.  config.c (config.h) holds only the machinery: reading the file,
 * types, defaults, ranges, resolving paths, printing for `eppgw -T`, and the
 * checks that span sections.  This header is small so that a module's
 * header can include it without pulling in all of config.h.
 */
#ifndef EPPGW_CONF_H
#define EPPGW_CONF_H

#include <stddef.h>
#include <sys/socket.h>

enum conf_type {
	KW_PATH,	/* a file name, resolved against the config's dir */
	KW_PATHS,	/* a list of them, stored resolved, space-separated */
	KW_STRING,
	KW_SECRET,	/* a string that may hold credentials: -T hides it */
	KW_WORDS,	/* a list kept as a string (lines joined by a space) */
	KW_UINT,	/* an unsigned */
	KW_SIZE,	/* a size_t */
	KW_ADDR		/* a struct sockaddr_cfg */
};

/*
 * One key.  The string types are a char * (freed with the config), unset
 * when NULL; min and max bound a string's length or a number's value.
 * A table ends with a NULL name; its order is the order `eppgw -T` prints.
 */
struct conf_keyword {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;		/* in the section's struct */
	int		 required;
	const char	*dflt;		/* NULL: none */
	unsigned long	 min, max;
};

/* A KW_ADDR value: resolved once, when the config is loaded. */
struct sockaddr_cfg {
	char			 text[256];	/* as written, for logs */
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

#endif
