/*
 * audit-bench: the audit writer with group commit at 64 concurrent
 * submitters (records/s, p50 added latency against a bare fdatasync p50
 * measured in the same run on the same file system), then eppgw-audit
 * verify throughput over the log it wrote, then eppgw-audit prove for an
 * early and a late record with the segments' leaf indexes (seg-N.leaves)
 * and with them moved aside (every line hashed), as the median of 5 runs
 * each on a warm page cache.  Goals are printed as ratios.
 *
 *   audit-bench [-d DIR] [-n RECORDS] [-c SUBMITTERS] [-s SEGMENT_MAX]
 *               [-a EPPGW_AUDIT]
 *   audit-bench -F -d DIR
 *
 * -F: only the bare fdatasync p50 of a file in DIR: 300 writes of 600
 * bytes, each synced, over zeros written first, as the writer writes a
 * segment (preallocate, audit.c), as `fdatasync_p50_us=N`; then the same
 * appending to a file, as `fdatasync_append_p50_us=N` (what it was before).
 * tests/bench/haproxy.sh measures it on the audit log's file system in the
 * same run.
 *
 * -a: the eppgw-audit to time (default: the one beside audit-bench; the
 * prove timing is skipped when there is none).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "log.h"

#define MAX_SUBMITTERS	1024

struct bench {
	struct audit	*a;
	long		 target, submitted, done, failed;
	double		*lat;		/* microseconds, one per record */
	char		 xml[520];
};

struct submitter {
	struct bench	*b;
	double		 t0;
	int		 id;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double
p50(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n ? v[n / 2] : 0;
}

static void submit(struct submitter *s);

static void
durable(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	struct submitter *s = arg;
	struct bench *b = s->b;

	(void)seq;
	(void)leaf;
	if (status != 0)
		b->failed++;
	b->lat[b->done++] = now_us() - s->t0;
	if (b->submitted < b->target && status == 0)
		submit(s);
}

/* A cmd record of about 600 bytes, like a domain:update. */
static void
submit(struct submitter *s)
{
	struct bench *b = s->b;
	char sess[32];
	json_t *f;

	snprintf(sess, sizeof(sess), "sess-%d", s->id);
	f = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:s, s:s, s:s}",
	    "sess", sess, "clid", "registrar1", "principal", "registrar",
	    "cmd", "domain:update", "objects", "locked.example", "classes",
	    "ns", "decision", "allow", "cltrid", "ABC-12345", "xml", b->xml);
	s->t0 = now_us();
	b->submitted++;
	if (audit_submit(b->a, "cmd", f, durable, s) == -1) {
		b->failed++;
		b->done++;
	}
}

/* Wall time of one `eppgw-audit prove --seq seq --vkey pub dir`, or -1
 * if it did not exit 0. */
static double
time_prove(const char *bin, const char *pub, const char *dir, uint64_t seq)
{
	char sq[32];
	double t = now_us();
	pid_t pid;
	int st, fd;

	snprintf(sq, sizeof(sq), "%llu", (unsigned long long)seq);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, "prove", "--seq", sq, "--vkey", pub, dir,
		    (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return -1;
	return (now_us() - t) / 1e6;
}

/* The median of 5 runs after a warm-up run. */
static double
prove_median(const char *bin, const char *pub, const char *dir, uint64_t seq)
{
	double v[5];

	if (time_prove(bin, pub, dir, seq) < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if ((v[i] = time_prove(bin, pub, dir, seq)) < 0)
			return -1;
	return p50(v, 5);
}

/* Move the leaf indexes of dir to aside (back with back set). */
static int
move_indexes(const char *dir, const char *aside, int back)
{
	char from[4200], to[4200];
	struct dirent *de;
	size_t n;
	DIR *d;
	int moved = 0;

	if ((d = opendir(back ? aside : dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 8 || strcmp(de->d_name + n - 7, ".leaves") != 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", back ? aside : dir,
		    de->d_name);
		snprintf(to, sizeof(to), "%s/%s", back ? dir : aside,
		    de->d_name);
		if (rename(from, to) == 0)
			moved++;
	}
	closedir(d);
	return moved;
}

/*
 * prove for an early and a late record, with the indexes and without
 * (the way before them): the median times and their ratio.
 */
static void
bench_prove(const char *bin, const char *base_dir, const char *dir,
    EVP_PKEY *pk, uint64_t records, uint64_t segments)
{
	char pub[4200], aside[4200];
	uint64_t seqs[2] = { 10, records > 20 ? records - 10 : 0 };
	const char *what[2] = { "early", "late" };
	double with[2], without[2];
	int nidx;
	FILE *f;

	snprintf(pub, sizeof(pub), "%s/audit.pub", base_dir);
	snprintf(aside, sizeof(aside), "%s/leaves-aside", base_dir);
	if ((f = fopen(pub, "w")) == NULL)
		return;
	PEM_write_PUBKEY(f, pk);
	fclose(f);
	if (mkdir(aside, 0700) == -1 && errno != EEXIST)
		return;
	for (int i = 0; i < 2; i++)
		with[i] = prove_median(bin, pub, dir, seqs[i]);
	nidx = move_indexes(dir, aside, 0);
	for (int i = 0; i < 2; i++)
		without[i] = prove_median(bin, pub, dir, seqs[i]);
	(void)move_indexes(dir, aside, 1);
	(void)rmdir(aside);
	for (int i = 0; i < 2; i++) {
		if (with[i] < 0 || without[i] < 0) {
			printf("prove --seq %llu: FAILED\n",
			    (unsigned long long)seqs[i]);
			continue;
		}
		printf("prove --seq %llu (%s; %llu segments, %d leaf indexes): "
		    "%.3f s with the indexes, %.3f s hashing every line: "
		    "%.1fx faster\n", (unsigned long long)seqs[i], what[i],
		    (unsigned long long)segments, nidx, with[i], without[i],
		    without[i] / with[i]);
	}
}

static double
bare_fdatasync_p50(const char *dir, int append)
{
	static const char zero[300 * 600];
	char path[4096], rec[600];
	double v[300];
	int fd;

	snprintf(path, sizeof(path), "%s/bare", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    (append ? O_APPEND : 0), 0600)) == -1)
		return 0;
	if (!append && (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero) ||
	    fdatasync(fd) == -1 || lseek(fd, 0, SEEK_SET) == -1)) {
		close(fd);
		return 0;
	}
	memset(rec, 'x', sizeof(rec));
	for (int i = 0; i < 300; i++) {
		double t = now_us();

		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
		    fdatasync(fd) == -1)
			break;
		v[i] = now_us() - t;
	}
	close(fd);
	unlink(path);
	return p50(v, 300);
}

/* A whole non-negative decimal option value up to max; exits 2 if not. */
static long
num_arg(int opt, const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "audit-bench: -%c: bad number \"%s\"\n", opt, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char *argv[])
{
	char tmpl[] = "/tmp/audit-bench.XXXXXX", *base_dir = NULL;
	struct err e = ERR_INIT;
	char dir[4096], key[4096], bin[4096], *self;
	const char *prover = NULL;
	size_t segmax = 0;
	uint64_t vrecords, vsegments;
	struct submitter subs[MAX_SUBMITTERS];
	struct audit_verify_opts vo;
	struct audit_verify_result vr;
	struct note_verifier v;
	struct audit_conf o;
	struct event_base *base;
	struct bench b;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *kc;
	FILE *f;
	double t0, el, bare, lat50, mb;
	long n = 200000;
	int c = 64, ch, only_fsync = 0;

	while ((ch = getopt(argc, argv, "Fd:n:c:s:a:")) != -1) {
		switch (ch) {
		case 'F': only_fsync = 1; break;
		case 'd': base_dir = optarg; break;
		case 'n': n = num_arg(ch, optarg, LONG_MAX); break;
		case 'c': c = (int)num_arg(ch, optarg, INT_MAX); break;
		case 's': segmax = (size_t)num_arg(ch, optarg, LONG_MAX); break;
		case 'a': prover = optarg; break;
		default:
			fprintf(stderr, "usage: audit-bench [-d DIR] "
			    "[-n RECORDS] [-c SUBMITTERS] [-s SEGMENT_MAX] "
			    "[-a EPPGW_AUDIT]\n       audit-bench -F -d DIR\n");
			return 2;
		}
	}
	if (only_fsync) {
		if (base_dir == NULL ||
		    (bare = bare_fdatasync_p50(base_dir, 0)) <= 0)
			return 2;
		printf("fdatasync_p50_us=%.0f\n", bare);
		printf("fdatasync_append_p50_us=%.0f\n",
		    bare_fdatasync_p50(base_dir, 1));
		return 0;
	}
	if (prover == NULL && (self = strdup(argv[0])) != NULL) {
		snprintf(bin, sizeof(bin), "%s/eppgw-audit", dirname(self));
		free(self);
		prover = bin;
	}
	if (c < 1 || c > MAX_SUBMITTERS || n < c)
		return 2;
	log_init("audit-bench", LOG_TO_STDERR, LOG_LVL_WARN);
	if (base_dir == NULL && (base_dir = mkdtemp(tmpl)) == NULL)
		return 2;
	snprintf(dir, sizeof(dir), "%s/log", base_dir);
	snprintf(key, sizeof(key), "%s/audit.key", base_dir);
	kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_keygen(kc, &pk) != 1 || (f = fopen(key, "w")) == NULL)
		return 2;
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	EVP_PKEY_CTX_free(kc);
	note_verifier_from_pkey(pk, NULL, &v);

	bare = bare_fdatasync_p50(base_dir, 0);

	memset(&b, 0, sizeof(b));
	memset(b.xml, 'x', sizeof(b.xml) - 1);
	b.target = n;
	b.lat = calloc((size_t)n + (size_t)c, sizeof(double));
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.signing_key = key;
	o.origin = "eppgw/bench";
	o.segment_max = segmax;
	base = event_base_new();
	if (audit_open(base, &o, NULL, &b.a, &e) == -1) {
		fprintf(stderr, "audit-bench: %s\n", err_msg(&e));
		return 1;
	}
	t0 = now_us();
	for (int i = 0; i < c; i++) {
		subs[i].b = &b;
		subs[i].id = i;
		submit(&subs[i]);
	}
	while (b.done < b.submitted)
		event_base_loop(base, EVLOOP_ONCE);
	el = (now_us() - t0) / 1e6;
	audit_close(b.a);
	event_base_free(base);
	lat50 = p50(b.lat, b.done);

	printf("audit writer: %d submitters, %ld records in %.2f s: %.0f "
	    "records/s (goal >= 50000: %.2fx)%s\n", c, b.done, el,
	    (double)b.done / el, (double)b.done / el / 50000.0,
	    b.failed ? " FAILURES" : "");
	printf("added latency p50 %.0f us, bare fdatasync p50 %.0f us: "
	    "ratio %.2f (goal <= 1.5)\n", lat50, bare, bare > 0 ?
	    lat50 / bare : 0);

	memset(&vo, 0, sizeof(vo));
	vo.vkey = &v;
	vo.want_seq = -1;
	/* A first pass warms the page cache: measure the CPU, not the disk. */
	audit_verify_dir(dir, &vo, &vr);
	audit_verify_free(&vr);
	t0 = now_us();
	audit_verify_dir(dir, &vo, &vr);
	el = (now_us() - t0) / 1e6;
	mb = (double)vr.bytes / 1e6;
	printf("verify: %.1f MB, %llu records in %.3f s: %.0f MB/s (goal >= "
	    "200: %.2fx), verdict %d\n", mb, (unsigned long long)vr.records,
	    el, mb / el, mb / el / 200.0, vr.verdict);
	vrecords = vr.records;
	vsegments = vr.segments;
	audit_verify_free(&vr);
	if (prover != NULL && access(prover, X_OK) == 0)
		bench_prove(prover, base_dir, dir, pk, vrecords, vsegments);
	else
		printf("prove: no %s, not timed\n", prover ? prover : "?");
	EVP_PKEY_free(pk);
	free(b.lat);
	if (argc == 1 || strcmp(base_dir, tmpl) == 0) {
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
		(void)!system(cmd);
	}
	return b.failed ? 1 : 0;
}
