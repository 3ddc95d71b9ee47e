/*
 * ipc.c: messages between eppgw's processes (ipc.h).
 *
 * Reading collects bytes and descriptors separately: the kernel attaches
 * a descriptor to the first byte of the sendmsg(2) that carried it, so
 * descriptors queue up in arrival order and each message flagged as
 * carrying one takes the oldest.  Writing keeps one chunk per message so a
 * descriptor always goes out with the first byte of its own message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"

#define IPC_F_FD	0x0001	/* the message carries a descriptor */
#define IPC_FDQ		8	/* descriptors received ahead of their message */
#define IPC_READ	65536
#define IPC_IOV		64	/* messages gathered into one sendmsg(2) */
/* Output a peer has not taken yet: past this, sending fails (the caller
 * fails closed) rather than memory growing without bound. */
#define IPC_QUEUE_MAX	(64u << 20)

struct chunk {
	struct chunk	*next;
	size_t		 len, off;
	int		 fd;
	uint8_t		 buf[];
};

struct ipc {
	struct event	*ev_read;
	struct event	*ev_write;
	int		 fd;
	char		 peer[32];
	size_t		 max;
	ipc_msg_fn	 on_msg;
	ipc_closed_fn	 on_closed;
	void		*arg;

	struct buf	 in;		/* at most max + header + 2 reads */
	int		 fdq[IPC_FDQ];
	size_t		 nfdq;

	struct chunk	*out_head, **out_tail;
	size_t		 out_bytes;

	int		 batching;	/* ipc_set_batching */
	int		 closed;	/* fd gone, on_closed called */
	int		 wfailed;	/* a write failed: closing soon */
	int		 busy;		/* dispatching: defer the free */
	int		 dead;		/* freed while busy */
};

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
ipc_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

static void
drop_output(struct ipc *c)
{
	struct chunk *ch;

	while ((ch = c->out_head) != NULL) {
		c->out_head = ch->next;
		if (ch->fd != -1)
			close(ch->fd);
		free(ch);
	}
	c->out_tail = &c->out_head;
	c->out_bytes = 0;
}

/* Close the descriptor and tell the owner, once. */
static void
shut(struct ipc *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = 1;
	event_del(c->ev_read);
	event_del(c->ev_write);
	close(c->fd);
	c->fd = -1;
	drop_output(c);
	for (size_t i = 0; i < c->nfdq; i++)
		close(c->fdq[i]);
	c->nfdq = 0;
	if (c->on_closed != NULL)
		c->on_closed(c, why, c->arg);
}

void
ipc_fail(struct ipc *c, const char *why)
{
	if (c == NULL || c->closed)
		return;
	log_warn("ipc %s: %s: closing the channel", c->peer, why);
	shut(c, why);
}

/*
 * Write queued chunks until done or the kernel pushes back.  Chunks go out
 * several to a sendmsg(2), but one that carries a descriptor goes alone:
 * the descriptor must arrive with the first byte of its own message.
 */
static void
flush(struct ipc *c)
{
	struct chunk *ch, *k;
	ssize_t n;
	size_t left;

	while ((ch = c->out_head) != NULL) {
		struct iovec iov[IPC_IOV];
		struct msghdr mh;
		union {
			struct cmsghdr	hdr;
			char		buf[CMSG_SPACE(sizeof(int))];
		} cm;
		size_t niov = 0;

		memset(&mh, 0, sizeof(mh));
		iov[niov].iov_base = ch->buf + ch->off;
		iov[niov++].iov_len = ch->len - ch->off;
		for (k = ch->next; ch->fd == -1 && k != NULL && k->fd == -1 &&
		    niov < IPC_IOV; k = k->next) {
			iov[niov].iov_base = k->buf;
			iov[niov++].iov_len = k->len;
		}
		mh.msg_iov = iov;
		mh.msg_iovlen = niov;
		if (ch->fd != -1) {
			struct cmsghdr *h;

			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			h = CMSG_FIRSTHDR(&mh);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &ch->fd, sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->ev_write, NULL);
				return;
			}
			/*
			 * Never close from here: a sender must not see its
			 * own channel's close callback.  The read side finds
			 * the broken socket at once.
			 */
			c->wfailed = 1;
			drop_output(c);
			event_del(c->ev_write);
			event_active(c->ev_read, EV_READ, 0);
			return;
		}
		if (ch->fd != -1) {	/* gone with the first byte */
			close(ch->fd);
			ch->fd = -1;
		}
		c->out_bytes -= (size_t)n;
		for (left = (size_t)n; left > 0 && (ch = c->out_head) != NULL; ) {
			if (left < ch->len - ch->off) {
				ch->off += left;
				break;
			}
			left -= ch->len - ch->off;
			c->out_head = ch->next;
			if (c->out_head == NULL)
				c->out_tail = &c->out_head;
			free(ch);
		}
	}
	event_del(c->ev_write);
}

void
ipc_set_batching(struct ipc *c, int on)
{
	if (c != NULL)
		c->batching = on;
}

void
ipc_kick(struct ipc *c)
{
	if (ipc_alive(c) && c->out_head != NULL)
		flush(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

/* Hand complete messages to the owner; keep a partial one. */
static void
dispatch(struct ipc *c)
{
	size_t off = 0;

	c->busy = 1;
	while (!c->closed && !c->dead && c->in.len - off >= IPC_HDR_LEN) {
		const uint8_t *h = (const uint8_t *)buf_data(&c->in) + off;
		struct ipc_msg m;
		uint32_t len = get_u32(h);
		uint16_t type = (uint16_t)(h[4] | h[5] << 8);
		uint16_t flags = (uint16_t)(h[6] | h[7] << 8);

		/* Only IPC_PEER hands over a descriptor: anywhere else one
		 * would be a leak the handler does not expect. */
		if (len > c->max || type == IPC_NONE || type >= IPC_TYPE_MAX ||
		    (flags & ~IPC_F_FD) != 0 ||
		    ((flags & IPC_F_FD) != 0) != (type == IPC_PEER)) {
			ipc_fail(c, "malformed message header");
			break;
		}
		if (c->in.len - off - IPC_HDR_LEN < len)
			break;
		m.type = type;
		m.id = get_u32(h + 8);
		m.data = h + IPC_HDR_LEN;
		m.len = len;
		m.fd = -1;
		if (flags & IPC_F_FD) {
			if (c->nfdq == 0) {
				ipc_fail(c, "message without its descriptor");
				break;
			}
			m.fd = c->fdq[0];
			memmove(c->fdq, c->fdq + 1, --c->nfdq * sizeof(int));
		}
		off += IPC_HDR_LEN + len;
		c->on_msg(c, &m, c->arg);
	}
	c->busy = 0;
	if (c->dead) {
		ipc_free(c);
		return;
	}
	buf_consume(&c->in, off);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc *c = arg;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *h;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IPC_FDQ * sizeof(int))];
	} cm;
	ssize_t n;

	(void)fd;
	(void)what;
	if (buf_reserve(&c->in, IPC_READ) == -1) {
		ipc_fail(c, errno == ERANGE ? "input over the limit" :
		    "out of memory");
		return;
	}
	iov.iov_base = buf_end(&c->in);
	iov.iov_len = buf_room(&c->in);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	if (c->wfailed) {
		shut(c, "write failed");
		return;
	}
	n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		shut(c, strerror(errno));
		return;
	}
	for (h = CMSG_FIRSTHDR(&mh); h != NULL; h = CMSG_NXTHDR(&mh, h)) {
		size_t k;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(h) + i * sizeof(int),
			    sizeof(int));
			if (c->nfdq < IPC_FDQ)
				c->fdq[c->nfdq++] = got;
			else
				close(got);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		ipc_fail(c, "too many descriptors");
		return;
	}
	if (n == 0) {
		shut(c, "closed by the peer");
		return;
	}
	buf_wrote(&c->in, (size_t)n);
	dispatch(c);
}

struct ipc *
ipc_new(struct event_base *base, int fd, const char *peer, size_t max,
    ipc_msg_fn on_msg, ipc_closed_fn on_closed, void *arg)
{
	struct ipc *c;
	int fl;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->max = max ? max : IPC_MAX_DEFAULT;
	buf_init(&c->in, c->max + IPC_HDR_LEN + 2 * IPC_READ);
	c->on_msg = on_msg;
	c->on_closed = on_closed;
	c->arg = arg;
	c->out_tail = &c->out_head;
	if ((c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, on_read,
	    c)) == NULL || (c->ev_write = event_new(base, fd, EV_WRITE |
	    EV_PERSIST, on_write, c)) == NULL || event_add(c->ev_read,
	    NULL) != 0)
		goto fail;
	return c;
fail:
	if (c != NULL) {
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		free(c);
	}
	close(fd);
	return NULL;
}

void
ipc_free(struct ipc *c)
{
	if (c == NULL)
		return;
	if (c->busy) {
		c->dead = 1;
		c->on_closed = NULL;
		return;
	}
	c->on_closed = NULL;
	shut(c, "freed");
	event_free(c->ev_read);
	event_free(c->ev_write);
	buf_free(&c->in);
	free(c);
}

void
ipc_flush(struct ipc *c)
{
	int fl;

	if (!ipc_alive(c) || c->out_head == NULL)
		return;
	if ((fl = fcntl(c->fd, F_GETFL)) != -1 &&
	    fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) != -1)
		flush(c);
}

const char *
ipc_peer(const struct ipc *c)
{
	return c->peer;
}

int
ipc_alive(const struct ipc *c)
{
	return c != NULL && !c->closed && !c->dead && !c->wfailed;
}

/* The payload is the concatenation of iov[0..n): no copy to join them. */
int
ipc_sendv(struct ipc *c, uint16_t type, uint32_t id, const struct iovec *iov,
    int n, int fd)
{
	struct chunk *ch;
	size_t len = 0, off = IPC_HDR_LEN;
	int was_empty;

	for (int k = 0; k < n; k++) {
		if (iov[k].iov_len > SIZE_MAX - len)
			return -1;
		len += iov[k].iov_len;
	}
	if (!ipc_alive(c) || len > c->max || type == IPC_NONE ||
	    type >= IPC_TYPE_MAX || c->out_bytes + len > IPC_QUEUE_MAX)
		return -1;
	if ((ch = malloc(sizeof(*ch) + IPC_HDR_LEN + len)) == NULL)
		return -1;
	ch->next = NULL;
	ch->len = IPC_HDR_LEN + len;
	ch->off = 0;
	ch->fd = -1;
	if (fd != -1 && (ch->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		free(ch);
		return -1;
	}
	put_u32(ch->buf, (uint32_t)len);
	ch->buf[4] = type & 0xff;
	ch->buf[5] = type >> 8;
	ch->buf[6] = fd != -1 ? IPC_F_FD : 0;
	ch->buf[7] = 0;
	put_u32(ch->buf + 8, id);
	for (int k = 0; k < n; k++) {
		if (iov[k].iov_len > 0)
			memcpy(ch->buf + off, iov[k].iov_base, iov[k].iov_len);
		off += iov[k].iov_len;
	}
	was_empty = c->out_head == NULL;
	*c->out_tail = ch;
	c->out_tail = &ch->next;
	c->out_bytes += ch->len;
	if (was_empty && c->batching)
		/* on_write runs once the callbacks already due have run. */
		event_active(c->ev_write, EV_WRITE, 0);
	else if (was_empty)
		flush(c);
	return 0;
}

int
ipc_send(struct ipc *c, uint16_t type, uint32_t id, const void *data,
    size_t len, int fd)
{
	struct iovec iov = { (void *)(uintptr_t)data, len };

	return ipc_sendv(c, type, id, &iov, 1, fd);
}

int
ipc_send_json(struct ipc *c, uint16_t type, uint32_t id, json_t *j,
    const void *raw, size_t rawlen)
{
	struct iovec iov[3];
	char *text;
	int rc;

	if (j == NULL)
		return -1;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return -1;
	iov[0].iov_base = text;
	iov[0].iov_len = strlen(text);
	/* A NUL between the object and raw bytes, when there are any. */
	iov[1].iov_base = "";
	iov[1].iov_len = 1;
	iov[2].iov_base = (void *)(uintptr_t)raw;
	iov[2].iov_len = rawlen;
	rc = ipc_sendv(c, type, id, iov, rawlen > 0 ? 3 : 1, -1);
	free(text);
	return rc;
}

json_t *
ipc_msg_json(const struct ipc_msg *m, const uint8_t **raw, size_t *rawlen)
{
	const uint8_t *nul = memchr(m->data, '\0', m->len);
	size_t tlen = nul != NULL ? (size_t)(nul - m->data) : m->len;
	json_t *j;

	j = json_loadb((const char *)m->data, tlen, JSON_REJECT_DUPLICATES,
	    NULL);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	if (raw != NULL) {
		*raw = nul != NULL ? nul + 1 : m->data + m->len;
		*rawlen = nul != NULL ? m->len - tlen - 1 : 0;
	}
	return j;
}
