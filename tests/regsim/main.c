/*
 * main.c: eppgw-regsim, the EPP registry simulator (DESIGN.md section 7).
 *
 *   eppgw-regsim -l 127.0.0.1:7700 --cert FILE --key FILE --ca FILE
 *       --seed FILE --journal FILE [-d]
 *
 * SIGTERM and SIGINT stop the loop; everything is then freed so that
 * sanitizer builds report real leaks only.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libxml/parser.h>

#include "err.h"
#include "regsim.h"
#include "xsd.h"
#include "server.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: eppgw-regsim [-l HOST:PORT] --cert FILE --key FILE "
	    "--ca FILE\n"
	    "                    --seed FILE --journal FILE [-d]\n"
	    "  -l, --listen HOST:PORT  address to listen on "
	    "(default 127.0.0.1:7700)\n"
	    "      --cert FILE         server certificate (PEM chain)\n"
	    "      --key FILE          server private key\n"
	    "      --ca FILE           CA that client certificates must "
	    "chain to\n"
	    "      --seed FILE         registry data to start from\n"
	    "      --journal FILE      append one line per executed command\n"
	    "  -d, --debug             log sessions and frames to stderr\n"
	    "  -h, --help              this text\n"
	    "A command whose clTRID starts with REGSIM-DROP makes the "
	    "simulator close\nthe connection without executing or "
	    "answering it (fault tests).\n");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

/* Parsed options; the only state main keeps. */
struct options {
	struct regsim_server_conf	 srv;
	const char			*seed, *journal;
};

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "seed", required_argument, NULL, 's' },
		{ "journal", required_argument, NULL, 'j' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->srv.listen = "127.0.0.1:7700";
	while ((ch = getopt_long(argc, argv, "l:dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': o->srv.listen = optarg; break;
		case 'c': o->srv.cert = optarg; break;
		case 'k': o->srv.key = optarg; break;
		case 'a': o->srv.ca = optarg; break;
		case 's': o->seed = optarg; break;
		case 'j': o->journal = optarg; break;
		case 'd': o->srv.debug = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || o->srv.cert == NULL || o->srv.key == NULL ||
	    o->srv.ca == NULL || o->seed == NULL || o->journal == NULL) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct regsim_epp epp;
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	struct regsim_server *srv = NULL;
	char addr[80];
	struct err e = ERR_INIT;
	int rc = 1;

	if (parse_options(argc, argv, &opt) == -1)
		return 2;
	LIBXML_TEST_VERSION
	/* A peer writing after we closed must not kill the simulator. */
	signal(SIGPIPE, SIG_IGN);
	memset(&epp, 0, sizeof(epp));
	epp.debug = opt.srv.debug;
	/* Requests are validated as a registry does: the RFC schemas. */
	if ((epp.xsd = xsd_new(NULL, 0, &e)) == NULL) {
		fprintf(stderr, "eppgw-regsim: %s\n", err_msg(&e));
		goto done;
	}
	if ((epp.st = regsim_store_new()) == NULL ||
	    regsim_seed_load(epp.st, opt.seed, time(NULL)) == -1)
		goto done;
	if ((epp.journal = fopen(opt.journal, "a")) == NULL) {
		perror(opt.journal);
		goto done;
	}
	if ((base = event_base_new()) == NULL ||
	    (srv = regsim_server_new(base, &epp, &opt.srv)) == NULL)
		goto done;
	if ((sigterm = evsignal_new(base, SIGTERM, on_signal, base)) == NULL ||
	    (sigint = evsignal_new(base, SIGINT, on_signal, base)) == NULL ||
	    evsignal_add(sigterm, NULL) == -1 || evsignal_add(sigint, NULL) == -1)
		goto done;
	if (regsim_server_addr(srv, addr, sizeof(addr)) == 0)
		fprintf(stderr, "eppgw-regsim: listening on %s\n", addr);
	if (event_base_dispatch(base) == -1)
		goto done;
	fprintf(stderr, "eppgw-regsim: stopping\n");
	rc = 0;
done:
	regsim_server_free(srv);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (base != NULL)
		event_base_free(base);
	if (epp.journal != NULL)
		fclose(epp.journal);
	regsim_store_free(epp.st);
	xsd_free(epp.xsd);
	xmlCleanupParser();
	libevent_global_shutdown();
	return rc;
}
