/*
 * main.c: the eppgw daemon's entry: options, the configuration, -t and
 * -T; then the parent process takes over (parent.c, proc.h).
 *
 *   eppgw [-djtTvV] [-f file]
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "approval.h"
#include "config.h"
#include "epp.h"
#include "err.h"
#include "log.h"
#include "proc.h"

#ifndef EPPGW_CONF
#define EPPGW_CONF "/etc/eppgw/eppgw.conf"
#endif

/* Load a configuration; on failure print every error and return NULL. */
static struct config *
load_config(const char *path, int to_stderr)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg;

	if ((cfg = config_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++) {
			if (to_stderr)
				fprintf(stderr, "%s\n", errs.msgs[i]);
			else
				log_err("%s", errs.msgs[i]);
		}
	}
	config_errors_clear(&errs);
	return cfg;
}

static void
usage(void)
{
	fprintf(stderr, "usage: eppgw [-djtTvV] [-f file]\n"
	    "  -f file  configuration (default " EPPGW_CONF ")\n"
	    "  -t       check the configuration and exit\n"
	    "  -T       print the effective configuration and exit\n"
	    "  -d       stay in the foreground, log to stderr\n"
	    "  -j       log JSON lines to stderr\n"
	    "  -v       verbose: log debug messages\n"
	    "  -V       print the version and linked libraries\n");
	exit(2);
}

static void
version(void)
{
	printf("eppgw %s\n", EPPGW_VERSION);
	printf("  OpenSSL  %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  libevent %s\n", event_get_version());
	printf("  libxml2  %s\n", xmlParserVersion);
	printf("  inih     (Debian libinih)\n");
}

int
main(int argc, char *argv[])
{
	const char *conf_path = EPPGW_CONF;
	struct config *cfg = NULL;
	int ch, check = 0, print = 0, debug = 0, verbose = 0, json = 0, rc = 1;

	while ((ch = getopt(argc, argv, "df:hjtTvV")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'T':
			print = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			version();
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("eppgw", json ? LOG_TO_JSON : (debug || check || print ||
	    getenv("JOURNAL_STREAM") != NULL) ? LOG_TO_STDERR : LOG_TO_SYSLOG,
	    verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	epp_init();

	if ((cfg = load_config(conf_path, check || print || debug)) == NULL)
		goto out;
	if (check && cfg->approvals.seeds_path != NULL) {
		/*
		 * The seeds file's permissions and contents, as at start: as
		 * the user the daemon will run as.
		 */
		struct seeds *sd = NULL;
		struct err e = ERR_INIT;
		struct passwd *pw = cfg->gateway.user ?
		    getpwnam(cfg->gateway.user) : NULL;
		uid_t euid = geteuid();
		int r;

		if (pw != NULL && euid == 0 && seteuid(pw->pw_uid) != 0)
			pw = NULL;
		r = seeds_load(cfg->approvals.seeds_path, &sd, &e);
		if (pw != NULL && euid == 0 && seteuid(0) != 0)
			fatalx("cannot restore the effective user");
		if (r != 0) {
			fprintf(stderr, "%s\n", err_msg(&e));
			goto out;
		}
		seeds_free(sd);
	}
	if (check || print) {
		if (print)
			config_print(cfg, stdout);
		else
			printf("configuration OK\n");
		rc = 0;
		goto out;
	}

	rc = parent_run(cfg, conf_path);
out:
	config_unref(cfg);
	return rc;
}
