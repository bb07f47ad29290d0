/* rpc-server - the JSON-RPC control socket (see rpc-server.h).
 *
 * A unix stream socket served by the main thread's libevent loop: an
 * evconnlistener accepts connections, each connection is a bufferevent with
 * its own rpc_decoder (rpc.c).  Every decoded value goes through
 * rpc_dispatch() and the response, if any, is queued on the bufferevent as
 * one JSON text plus "\n".  Nothing here blocks: a slow client only grows its
 * own output queue, and is dropped when that passes RPC_SERVER_MAX_OUTPUT.
 *
 * Connection life cycle:
 *   open     -> reading and answering requests;
 *   closing  -> a parse error was answered or the client sent EOF: no more
 *               reading; freed once the output is flushed (write callback),
 *               on a write error, or after RPC_SERVER_CLOSE_TIMEOUT;
 *   freed    -> bufferevent freed (closes the fd).
 * A connection is never freed while its read callback runs (a method may
 * call rpc_server_notify(), which may want to drop any connection,
 * including the caller's): conn_kill() defers it with 'dead' instead.
 *
 * SIGPIPE: bufferevents write with writev(), so the daemon ignores SIGPIPE;
 * rpc_server_destroy() writes with MSG_NOSIGNAL itself. */
#include "lib/rpc-server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/fsutil.h"
#include "lib/rpc.h"

#define VLOG_MODULE "rpc"
#include "lib/vlog.h"

#define RPC_SERVER_MAX_CONNS 256
#define RPC_SERVER_MAX_OUTPUT (16u * 1024 * 1024)
#define RPC_SERVER_CLOSE_TIMEOUT 5  /* Seconds to flush before closing. */
/* A connection that sent nothing for this many seconds, and is not
 * subscribed to events, is closed.  The environment variable
 * VSWITCH_RPC_IDLE_TIMEOUT (seconds, 0 = never) overrides it, for tests. */
#define RPC_SERVER_IDLE_TIMEOUT 60
#define RPC_SERVER_BACKLOG 64
#define RPC_SERVER_JSON_FLAGS (JSON_C_TO_STRING_PLAIN \
                               | JSON_C_TO_STRING_NOSLASHESCAPE)

struct rpc_conn {
    struct rpc_server *server;
    struct rpc_conn *prev, *next;   /* In server->conns. */
    struct bufferevent *bev;        /* Does not own 'fd'. */
    int fd;
    struct rpc_decoder *decoder;
    unsigned int id;                /* For log messages. */
    uint64_t last_input_ms;         /* When it last sent something (or
                                     * connected), monotonic ms. */
    bool subscribed;                /* Gets rpc_server_notify() messages. */
    bool keep_open;                 /* Streaming: no idle timeout/eviction. */
    bool closing;                   /* Free once the output is flushed. */
    bool busy;                      /* Inside its read callback. */
    bool dead;                      /* Free when no longer busy. */
};

struct rpc_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *retry_timer;      /* Re-enables accept after EMFILE. */
    struct rpc_dispatcher *dispatcher;
    char *path;
    struct rpc_conn *conns;         /* Doubly-linked list head. */
    int n_conns;
    unsigned int next_id;
    bool full_logged;               /* Logged reaching the connection limit. */
    int idle_timeout_s;             /* Seconds; -1: none; 0: not set yet. */
    void (*close_cb)(void *conn, void *aux);   /* rpc_server_set_close_cb() */
    void *close_aux;
};

static uint64_t
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The idle timeout of 'server' in seconds (0: none): RPC_SERVER_IDLE_TIMEOUT
 * unless $VSWITCH_RPC_IDLE_TIMEOUT says otherwise. */
static int
server_idle_timeout(struct rpc_server *server)
{
    if (!server->idle_timeout_s) {
        const char *s = getenv("VSWITCH_RPC_IDLE_TIMEOUT");
        char *end = NULL;
        long v = s && *s ? strtol(s, &end, 10) : -1;

        if (!end || *end || v < 0 || v > 86400) {
            v = RPC_SERVER_IDLE_TIMEOUT;
        }
        server->idle_timeout_s = v ? (int) v : -1;
    }
    return server->idle_timeout_s > 0 ? server->idle_timeout_s : 0;
}

/* Arms (or, for a subscribed connection or without a timeout, disarms) the
 * idle timeout of 'conn': a bufferevent read timeout, restarted by libevent
 * whenever something is read. */
static void
conn_set_idle_timeout(struct rpc_conn *conn)
{
    int timeout = server_idle_timeout(conn->server);
    struct timeval tv = { timeout, 0 };

    if (conn->closing || conn->dead) {
        return;
    }
    bufferevent_set_timeouts(conn->bev,
                             timeout && !conn->subscribed && !conn->keep_open
                             ? &tv : NULL, NULL);
}

/* Unlinks 'conn' from its server and frees it, closing its socket and
 * discarding unsent output. */
static void
conn_free(struct rpc_conn *conn)
{
    struct rpc_server *server = conn->server;

    if (server->close_cb) {
        server->close_cb(conn, server->close_aux);
    }
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        server->conns = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    server->n_conns--;
    server->full_logged = false;

    VLOG_DBG("connection %u closed", conn->id);
    /* libevent 2.1 finishes freeing a bufferevent (and would close its fd)
     * from a finalizer, after the callback running now or on the next loop
     * iteration.  Unregister the fd from the backend now, then close it,
     * so the peer sees EOF at once and no later epoll_ctl() hits a closed
     * (or reused) fd. */
    bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
    bufferevent_free(conn->bev);
    close(conn->fd);
    rpc_decoder_destroy(conn->decoder);
    free(conn);
}

/* Frees 'conn' now, or as soon as its read callback returns. */
static void
conn_kill(struct rpc_conn *conn)
{
    if (conn->busy) {
        conn->dead = true;
    } else {
        conn_free(conn);
    }
}

/* Stops reading from 'conn' and frees it once its output is flushed (or
 * after RPC_SERVER_CLOSE_TIMEOUT seconds, for a client that never reads). */
static void
conn_close_after_flush(struct rpc_conn *conn)
{
    struct timeval tv = { RPC_SERVER_CLOSE_TIMEOUT, 0 };

    if (conn->closing || conn->dead) {
        return;
    }
    conn->closing = true;
    bufferevent_disable(conn->bev, EV_READ);
    if (!evbuffer_get_length(bufferevent_get_output(conn->bev))) {
        conn_kill(conn);
        return;
    }
    bufferevent_set_timeouts(conn->bev, NULL, &tv);
}

/* Queues 'len' bytes of JSON 'text' plus "\n" on 'conn'.  Drops the
 * connection if its output queue passes RPC_SERVER_MAX_OUTPUT. */
static void
conn_send_text(struct rpc_conn *conn, const char *text, size_t len)
{
    struct evbuffer *out;

    if (conn->dead) {
        return;
    }
    out = bufferevent_get_output(conn->bev);
    if (evbuffer_add(out, text, len) || evbuffer_add(out, "\n", 1)) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

        VLOG_WARN_RL(&rl, "connection %u: out of memory queueing output, "
                     "closing", conn->id);
        conn_kill(conn);
        return;
    }
    if (evbuffer_get_length(out) > RPC_SERVER_MAX_OUTPUT) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

        VLOG_WARN_RL(&rl, "connection %u: more than %u bytes of output "
                     "queued, closing", conn->id, RPC_SERVER_MAX_OUTPUT);
        conn_kill(conn);
    }
}

/* Queues 'msg' on 'conn' as one line (see conn_send_text()).  Does not take
 * ownership of 'msg'. */
static void
conn_send(struct rpc_conn *conn, struct json_object *msg)
{
    size_t len;
    const char *text = json_object_to_json_string_length(
        msg, RPC_SERVER_JSON_FLAGS, &len);

    conn_send_text(conn, text, len);
}

/* rpc_decoder callback: dispatches one decoded 'value' received on 'conn_'
 * and queues the response.  Takes ownership of 'value'. */
static void
conn_handle_value(struct json_object *value, void *conn_)
{
    struct rpc_conn *conn = conn_;

    if (!conn->dead && !conn->closing) {
        struct json_object *resp;

        resp = rpc_dispatch(conn->server->dispatcher, value, conn);
        if (resp) {
            size_t len;
            const char *text = json_object_to_json_string_length(
                resp, RPC_SERVER_JSON_FLAGS, &len);

            if (len > RPC_SERVER_MAX_OUTPUT) {
                /* One response over the output cap (a batch stops before,
                 * in rpc_dispatch()): say so instead of dropping the
                 * client. */
                struct json_object *id = json_object_object_get(resp, "id");
                struct json_object *err;
                char msg[128];

                snprintf(msg, sizeof msg, "the response (%zu bytes) exceeds the "
                         "%u-byte output limit", len, RPC_SERVER_MAX_OUTPUT);
                err = rpc_make_error(id, RPC_ERR_LIMIT, msg, NULL);
                conn_send(conn, err);
                json_object_put(err);
            } else {
                conn_send_text(conn, text, len);
            }
            json_object_put(resp);
        }
    }
    json_object_put(value);
}

/* Answers a decoder failure on 'conn' with a -32700 error (id null) and
 * closes the connection once the answer is sent. */
static void
conn_parse_error(struct rpc_conn *conn)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
    const char *reason = rpc_decoder_error(conn->decoder);
    struct json_object *resp;

    VLOG_WARN_RL(&rl, "connection %u: %s, closing", conn->id, reason);
    resp = rpc_make_error(NULL, RPC_ERR_PARSE, reason, NULL);
    conn_send(conn, resp);
    json_object_put(resp);
    evbuffer_drain(bufferevent_get_input(conn->bev), SIZE_MAX);
    conn_close_after_flush(conn);
}

/* bufferevent read callback: feeds everything received on 'conn_' to its
 * decoder, one contiguous chunk at a time. */
static void
conn_read_cb(struct bufferevent *bev, void *conn_)
{
    struct rpc_conn *conn = conn_;
    struct evbuffer *in = bufferevent_get_input(bev);

    conn->last_input_ms = monotonic_ms();
    conn->busy = true;
    while (!conn->dead && !conn->closing && evbuffer_get_length(in)) {
        struct evbuffer_iovec v;
        int error;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
            break;
        }
        error = rpc_decoder_feed(conn->decoder, v.iov_base, v.iov_len,
                                 conn_handle_value, conn);
        evbuffer_drain(in, v.iov_len);
        if (error) {
            if (!conn->dead) {
                conn_parse_error(conn);
            }
            break;
        }
    }
    conn->busy = false;
    if (conn->dead) {
        conn_free(conn);
    }
}

/* bufferevent write callback: the output queue just became empty. */
static void
conn_write_cb(struct bufferevent *bev, void *conn_)
{
    struct rpc_conn *conn = conn_;

    if (conn->closing && !evbuffer_get_length(bufferevent_get_output(bev))) {
        conn_kill(conn);
    }
}

/* bufferevent event callback: EOF, error or write timeout on 'conn_'. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *conn_)
{
    struct rpc_conn *conn = conn_;

    if (what & BEV_EVENT_EOF && !(what & BEV_EVENT_ERROR)) {
        /* The client is done sending; answer what is queued, then close. */
        VLOG_DBG("connection %u: end of input", conn->id);
        if (!conn->closing) {
            conn_close_after_flush(conn);
        } else if (!evbuffer_get_length(bufferevent_get_output(bev))) {
            conn_kill(conn);
        }
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        VLOG_DBG("connection %u: %s", conn->id,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    } else if (what & BEV_EVENT_TIMEOUT && what & BEV_EVENT_READING) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

        VLOG_INFO_RL(&rl, "connection %u: idle for %d s, closing", conn->id,
                     server_idle_timeout(conn->server));
    } else if (what & BEV_EVENT_TIMEOUT) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

        VLOG_INFO_RL(&rl, "connection %u: client does not read, closing",
                     conn->id);
    }
    conn_kill(conn);
}

/* Makes room for a new connection when 'server' is full: closes a
 * connection that is closing anyway, else the one that has been idle the
 * longest (oldest first on a tie) among those not subscribed to events, so
 * that idle clients cannot lock everyone else out.  Does nothing if every
 * connection is subscribed. */
static void
evict_idle_conn(struct rpc_server *server)
{
    struct rpc_conn *victim = NULL;

    for (struct rpc_conn *c = server->conns; c; c = c->next) {
        if (c->dead || c->busy) {
            continue;
        }
        if (c->closing) {
            victim = c;
            break;
        }
        if (!c->subscribed && !c->keep_open
            && (!victim || c->last_input_ms < victim->last_input_ms
                || (c->last_input_ms == victim->last_input_ms
                    && c->id < victim->id))) {
            victim = c;
        }
    }
    if (victim) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

        VLOG_INFO_RL(&rl, "%s: %d connections: closing connection %u (idle "
                     "for %"PRIu64" ms) to accept a new one", server->path,
                     server->n_conns, victim->id,
                     monotonic_ms() - victim->last_input_ms);
        conn_kill(victim);
    }
}

/* evconnlistener callback: a new connection 'fd'. */
static void
accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
          struct sockaddr *sa, int socklen, void *server_)
{
    struct rpc_server *server = server_;
    struct rpc_conn *conn;

    (void) listener;
    (void) sa;
    (void) socklen;

    if (server->n_conns >= RPC_SERVER_MAX_CONNS) {
        evict_idle_conn(server);
    }
    if (server->n_conns >= RPC_SERVER_MAX_CONNS) {
        if (!server->full_logged) {
            VLOG_WARN("%s: %d connections, refusing more", server->path,
                      server->n_conns);
            server->full_logged = true;
        }
        evutil_closesocket(fd);
        return;
    }

    conn = calloc(1, sizeof *conn);
    if (conn) {
        conn->fd = fd;
        conn->decoder = rpc_decoder_create(RPC_MAX_MSG);
        conn->bev = bufferevent_socket_new(server->base, fd, 0);
    }
    if (!conn || !conn->decoder || !conn->bev) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);

        VLOG_ERR_RL(&rl, "%s: out of memory accepting a connection",
                    server->path);
        if (conn) {
            rpc_decoder_destroy(conn->decoder);
            if (conn->bev) {
                bufferevent_free(conn->bev);
            }
            free(conn);
        }
        evutil_closesocket(fd);
        return;
    }

    conn->server = server;
    conn->id = server->next_id++;
    conn->last_input_ms = monotonic_ms();
    conn->next = server->conns;
    if (conn->next) {
        conn->next->prev = conn;
    }
    server->conns = conn;
    server->n_conns++;

    bufferevent_setcb(conn->bev, conn_read_cb, conn_write_cb, conn_event_cb,
                      conn);
    conn_set_idle_timeout(conn);
    bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
    VLOG_DBG("connection %u opened", conn->id);
}

/* Re-enables accepting after a pause caused by running out of fds. */
static void
retry_accept_cb(evutil_socket_t fd, short what, void *server_)
{
    struct rpc_server *server = server_;

    (void) fd;
    (void) what;
    evconnlistener_enable(server->listener);
}

/* evconnlistener error callback.  The listening socket stays readable while
 * accept() fails with EMFILE and the like, so pause for 100 ms instead of
 * spinning. */
static void
accept_error_cb(struct evconnlistener *listener, void *server_)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 60);
    struct rpc_server *server = server_;
    struct timeval tv = { 0, 100 * 1000 };
    int error = EVUTIL_SOCKET_ERROR();

    VLOG_WARN_RL(&rl, "%s: accept failed (%s), pausing", server->path,
                 evutil_socket_error_to_string(error));
    evconnlistener_disable(listener);
    evtimer_add(server->retry_timer, &tv);
}

/* Prepares 'path' for bind(): removes a stale socket file of ours (owned by
 * our effective uid) that nobody listens on.  Returns 0, -EADDRINUSE if a
 * server answers there, -EEXIST if 'path' is something other than a socket
 * or another user's socket, or another negative errno. */
static int
remove_stale_socket(const char *path, const struct sockaddr_un *sun)
{
    struct stat st;
    int fd, error;

    if (lstat(path, &st)) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        VLOG_ERR("%s: exists and is not a socket", path);
        return -EEXIST;
    }
    if (st.st_uid != geteuid()) {
        VLOG_ERR("%s: a socket of uid %u, not ours: not removing it", path,
                 (unsigned) st.st_uid);
        return -EEXIST;
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    error = connect(fd, (const struct sockaddr *) sun, sizeof *sun) ? errno
                                                                     : 0;
    close(fd);
    if (!error || error == EAGAIN || error == EINPROGRESS) {
        VLOG_ERR("%s: another server is listening there", path);
        return -EADDRINUSE;
    }
    if (error != ECONNREFUSED) {
        return -error;
    }
    if (unlink(path) && errno != ENOENT) {
        return -errno;
    }
    VLOG_INFO("%s: removed stale socket", path);
    return 0;
}

int
rpc_server_create(struct event_base *base, const char *path, int gid,
                  struct rpc_dispatcher *d, struct rpc_server **serverp)
{
    struct rpc_server *server = NULL;
    struct sockaddr_un sun;
    bool bound = false;
    int fd = -1;
    int error;

    *serverp = NULL;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof sun.sun_path) {
        VLOG_ERR("%s: socket path is empty or too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, path);

    error = remove_stale_socket(path, &sun);
    if (error) {
        return error;
    }

    server = calloc(1, sizeof *server);
    if (!server || !(server->path = strdup(path))) {
        error = -ENOMEM;
        goto error;
    }
    server->base = base;
    server->dispatcher = d;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = -errno;
        goto error;
    }
    /* The socket file is born with its final mode: on Linux, bind() gives
     * it the socket inode's mode (fchmod() before bind, as Open vSwitch
     * does) minus the umask, and the umask is 0117 around bind() (it is
     * process-wide: another thread creating a file meanwhile would get at
     * most 0660 too; see Documentation/security.md).  Nothing is ever
     * chmod()ed or chown()ed by a path that someone could swap. */
    if (fchmod(fd, 0660)) {
        error = -errno;
        goto error;
    }
    mode_t old_umask = umask(0117);
    int bind_rc = bind(fd, (struct sockaddr *) &sun, sizeof sun) ? -errno : 0;
    umask(old_umask);
    if (bind_rc) {
        error = bind_rc;
        goto error;
    }
    bound = true;
    /* Not listening yet, so nobody connects before the group is right.
     * Checks that 'path' is still our socket (not a symlink, not someone
     * else's) and sets group and mode through an O_PATH descriptor. */
    error = fsutil_secure_socket(path, 0660, gid);
    if (error) {
        if (error == -ELOOP || error == -ENOTSOCK || error == -EEXIST) {
            VLOG_ERR("%s: replaced by something else after bind(): refusing it",
                     path);
            bound = false;      /* Not ours to unlink. */
        }
        goto error;
    }

    server->retry_timer = evtimer_new(base, retry_accept_cb, server);
    if (!server->retry_timer) {
        error = -ENOMEM;
        goto error;
    }
    errno = 0;
    server->listener = evconnlistener_new(base, accept_cb, server,
                                          LEV_OPT_CLOSE_ON_FREE
                                          | LEV_OPT_CLOSE_ON_EXEC,
                                          RPC_SERVER_BACKLOG, fd);
    if (!server->listener) {
        error = errno ? -errno : -ENOMEM;
        goto error;
    }
    evconnlistener_set_error_cb(server->listener, accept_error_cb);

    VLOG_INFO("listening on %s", path);
    *serverp = server;
    return 0;

error:
    VLOG_ERR("%s: cannot listen: %s", path, strerror(-error));
    if (fd >= 0) {
        close(fd);
    }
    if (bound) {
        unlink(path);
    }
    if (server) {
        if (server->retry_timer) {
            event_free(server->retry_timer);
        }
        free(server->path);
        free(server);
    }
    return error;
}

/* Writes as much of 'conn''s queued output as the socket takes right now,
 * in one non-blocking sendmsg() that cannot raise SIGPIPE. */
static void
conn_flush_nonblocking(struct rpc_conn *conn)
{
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    struct evbuffer_iovec v[64];
    struct msghdr msg;
    int n;

    n = evbuffer_peek(out, -1, NULL, v, 64);
    if (n <= 0) {
        return;
    }
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *) v;
    msg.msg_iovlen = n < 64 ? n : 64;
    if (sendmsg(conn->fd, &msg,
                MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        VLOG_DBG("connection %u: final flush: %s", conn->id,
                 strerror(errno));
    }
}

void
rpc_server_destroy(struct rpc_server *server)
{
    if (!server) {
        return;
    }
    while (server->conns) {
        struct rpc_conn *conn = server->conns;

        conn_flush_nonblocking(conn);
        conn_free(conn);
    }
    evconnlistener_free(server->listener);
    event_free(server->retry_timer);
    if (unlink(server->path) && errno != ENOENT) {
        VLOG_WARN("%s: cannot remove: %s", server->path, strerror(errno));
    }
    free(server->path);
    free(server);
}

void
rpc_server_subscribe(struct rpc_server *server, void *conn_)
{
    struct rpc_conn *conn = conn_;

    if (conn && conn->server == server) {
        conn->subscribed = true;
        conn_set_idle_timeout(conn);    /* Monitors may stay silent. */
    }
}

void
rpc_server_notify(struct rpc_server *server, const char *method,
                  struct json_object *params)
{
    struct json_object *msg = rpc_make_notification(method, params);
    struct rpc_conn *conn, *next;
    const char *text = NULL;
    size_t len = 0;

    for (conn = server->conns; conn; conn = next) {
        next = conn->next;
        if (conn->subscribed && !conn->closing && !conn->dead) {
            if (!text) {
                text = json_object_to_json_string_length(
                    msg, RPC_SERVER_JSON_FLAGS, &len);
            }
            conn_send_text(conn, text, len);
        }
    }
    json_object_put(msg);
}

int
rpc_server_send(struct rpc_server *server, void *conn_, const char *method,
                struct json_object *params)
{
    struct json_object *msg = rpc_make_notification(method, params);
    struct rpc_conn *conn = conn_;
    int error = -ENOTCONN;

    if (conn && conn->server == server && !conn->closing && !conn->dead) {
        size_t len;
        const char *text = json_object_to_json_string_length(
            msg, RPC_SERVER_JSON_FLAGS, &len);

        conn_send_text(conn, text, len);
        error = 0;
    }
    json_object_put(msg);
    return error;
}

size_t
rpc_server_output_pending(const struct rpc_server *server, void *conn_)
{
    struct rpc_conn *conn = conn_;

    if (!conn || conn->server != server || conn->dead) {
        return 0;
    }
    return evbuffer_get_length(bufferevent_get_output(conn->bev));
}

void
rpc_server_keep_open(struct rpc_server *server, void *conn_, bool keep)
{
    struct rpc_conn *conn = conn_;

    if (conn && conn->server == server) {
        conn->keep_open = keep;
        conn_set_idle_timeout(conn);
    }
}

void
rpc_server_set_close_cb(struct rpc_server *server,
                        void (*cb)(void *conn, void *aux), void *aux)
{
    server->close_cb = cb;
    server->close_aux = aux;
}

int
rpc_server_n_conns(const struct rpc_server *server)
{
    return server->n_conns;
}
