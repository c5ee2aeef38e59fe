// probe.c: the health checks' steady state without JavaScript (issue #6). TCP_CHECK and plain
// HTTP_GET probes run here, on the calling thread's own libuv loop (the health-check thread's),
// with an epoll set of their own and one timer: a scheduled check costs its system calls and
// nothing else, and JavaScript hears only the results it asked for.
//
//   probeOpen(onResults)            -> engine   onResults(Int32Array) gets batches of RECORD ints
//   probeAdd(engine, id, family, addr, port, bindAddr|null, bindPort, timeoutMs, intervalMs,
//            firstMs, expect, requests|null, ranges|null)
//        runs probe `id` (a small non-negative integer the caller recycles) firstMs from now and
//        then every intervalMs after each result (keepalived: delay_loop after the result), each
//        wait shortened by a random 0-3 % so that checks bunched by a stall spread out again.
//        expect 1: report only failures, 0: only successes, -1: one probe, reported, then idle.
//        requests: for HTTP, one Uint8Array per url (the request bytes); ranges: one Int32Array
//        per url of [from, to] status pairs. No requests: a TCP check (connect, then close).
//   probeRemove(engine, id)         stops probe `id` (its socket closed, nothing reported)
//   probeClose(engine)              stops everything; the engine is unusable afterwards
//
// A record (RECORD int32s): id, ok, latency (µs), errno, phase, status, url index. The caller turns
// phases and errnos into keepalived's wording (adapters/checkers/native.ts). HTTP as
// adapters/checkers/http.ts reads it: the header up to the blank line (at most MAX_HEADER bytes),
// the status code of its first line, then the body to Content-Length or to the end of the
// connection, counted and dropped (urls with a digest or a regex stay in JavaScript).
// Timeouts bound each wait (connect, then each read), as keepalived's connection timeout; a timer
// that fires late first reads what the sockets already hold, so a stall never fails a server
// whose answer is waiting.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include "napi_errors.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECORD 7
#define MAX_HEADER (16 * 1024)
#define MAX_EVENTS 256
// Timers fire on a 5 ms grid: 1,000 checks a second wake the thread about 200 times instead of
// 1,000 (each wake-up is a context switch, most of the kernel time a check cost beyond its own
// system calls; HAProxy batches the same way), and a check starts at most 5 ms late.
#define GRID_NS 5000000ULL

enum phase {
  PH_OK = 0, PH_SOCKET = 1, PH_BIND = 2, PH_CONNECT = 3, PH_WRITE = 4, PH_READ = 5,
  PH_TIMEOUT_CONNECT = 6, PH_TIMEOUT_RESPONSE = 7, PH_NO_DATA = 8, PH_PARTIAL_HEADER = 9,
  PH_HEADER_TOO_LONG = 10, PH_STATUS = 11,
};
enum step { S_IDLE, S_CONNECT, S_WRITE, S_READ, S_DONE };

typedef struct {
  uint8_t *req;
  uint32_t req_len;
  int32_t *ranges; // pairs
  uint32_t nranges;
} url_t;

typedef struct probe {
  int32_t id;
  int8_t expect;
  uint8_t step;
  int fd;
  struct sockaddr_storage dst;
  socklen_t dst_len;
  struct sockaddr_storage src;
  socklen_t src_len; // 0: no bind
  uint64_t timeout_ns, interval_ns;
  uint64_t when; // ns: the next check (idle) or the current wait's deadline
  int heap;      // index in the heap, -1 when not in it
  uint8_t deferred; // off the heap until the timer pass ends (defer)
  uint64_t started;
  url_t *urls;
  uint32_t nurls, url;
  uint32_t wrote;
  char *head; // the header being read (HTTP), MAX_HEADER + 1 bytes while a check reads it
  uint32_t head_len;
  int header_done;
  int status, last_status;
  int64_t clen; // -1: none
  uint64_t body;
} probe_t;

typedef struct {
  uint64_t when;
  probe_t *p;
} heap_entry_t;

typedef struct engine {
  napi_env env;
  napi_ref cb;
  napi_async_context async;
  uv_loop_t *loop;
  uv_poll_t poll;
  uv_timer_t timer;
  int epfd;
  int closed;
  int handles_open; // poll and timer not yet closed
  probe_t **slots;
  uint32_t nslots;
  uint32_t active;
  heap_entry_t *heap;
  uint32_t heap_len, heap_cap;
  probe_t **deferred;
  uint32_t deferred_len, deferred_cap;
  int in_timers;
  int32_t *out;
  uint32_t out_len, out_cap; // in records
  int in_pass;
  // registered at open, removed once both handles are closed: Node unloads the addon when a
  // worker's environment ends, and waits for this hook so that the close callbacks still exist
  napi_async_cleanup_hook_handle cleanup;
  uint64_t rnd; // xorshift64 state for the jitter
} engine_t;

static uint64_t now_ns(void) { return uv_hrtime(); }

// ------------------------------------------------------------------------------------------------
// the timer heap: every probe is in it once, keyed on `when`

// Entries carry their key: a sift compares keys in one array instead of chasing a pointer into each
// probe (the heap of 1,000 probes was the engine's own largest cost).
static inline void heap_set(engine_t *e, uint32_t i, heap_entry_t x) {
  e->heap[i] = x;
  x.p->heap = (int)i;
}
static void heap_up(engine_t *e, uint32_t i) {
  heap_entry_t x = e->heap[i];
  while (i > 0) {
    uint32_t up = (i - 1) / 2;
    if (e->heap[up].when <= x.when) break;
    heap_set(e, i, e->heap[up]);
    i = up;
  }
  heap_set(e, i, x);
}
static void heap_down(engine_t *e, uint32_t i) {
  heap_entry_t x = e->heap[i];
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = l;
    if (l >= e->heap_len) break;
    if (r < e->heap_len && e->heap[r].when < e->heap[l].when) m = r;
    if (e->heap[m].when >= x.when) break;
    heap_set(e, i, e->heap[m]);
    i = m;
  }
  heap_set(e, i, x);
}
static int heap_push(engine_t *e, probe_t *p) {
  if (e->heap_len == e->heap_cap) {
    uint32_t cap = e->heap_cap ? e->heap_cap * 2 : 64;
    heap_entry_t *h = realloc(e->heap, cap * sizeof *h);
    if (!h) return -1;
    e->heap = h;
    e->heap_cap = cap;
  }
  e->heap[e->heap_len] = (heap_entry_t){.when = p->when, .p = p};
  heap_up(e, e->heap_len++);
  return 0;
}
static void heap_remove(engine_t *e, probe_t *p) {
  p->deferred = 0;
  if (p->heap < 0) return;
  uint32_t i = (uint32_t)p->heap;
  e->heap_len--;
  if (i != e->heap_len) {
    heap_entry_t last = e->heap[e->heap_len];
    heap_set(e, i, last);
    heap_down(e, i);
    if (last.p->heap == (int)i) heap_up(e, i);
  }
  p->heap = -1;
}
/**
 * Probes taken off the heap by run_timers are put back once, after the pass has decided their next
 * time: most TCP checks over a veth end within the pass, so their connect deadline never enters the
 * heap, and a push of a time about delay_loop ahead sifts up a level or two, not the whole height.
 */
static void defer(engine_t *e, probe_t *p) {
  if (p->deferred) return;
  if (e->deferred_len == e->deferred_cap) {
    uint32_t cap = e->deferred_cap ? e->deferred_cap * 2 : 64;
    probe_t **d = realloc(e->deferred, cap * sizeof *d);
    if (!d) { heap_push(e, p); return; } // out of memory: straight back into the heap
    e->deferred = d;
    e->deferred_cap = cap;
  }
  p->deferred = 1;
  e->deferred[e->deferred_len++] = p;
}
static void undefer(engine_t *e) {
  for (uint32_t i = 0; i < e->deferred_len; i++) {
    probe_t *p = e->deferred[i];
    if (!p || !p->deferred) continue; // removed meanwhile (a one-shot probe done)
    p->deferred = 0;
    heap_push(e, p);
  }
  e->deferred_len = 0;
}
static void reschedule(engine_t *e, probe_t *p, uint64_t when) {
  p->when = when;
  if (p->heap < 0) {
    if (e->in_timers) defer(e, p);
    else if (!p->deferred) heap_push(e, p);
  } else {
    e->heap[p->heap].when = when;
    heap_down(e, (uint32_t)p->heap);
    heap_up(e, (uint32_t)p->heap);
  }
}

// ------------------------------------------------------------------------------------------------
// one check

static void sock_close(engine_t *e, probe_t *p) {
  (void)e;
  if (p->fd >= 0) {
    close(p->fd); // leaves the epoll set with it: the descriptor is never shared
    p->fd = -1;
  }
}

static void emit(engine_t *e, probe_t *p, int ok, int err, int phase) {
  if (e->out_len == e->out_cap) {
    uint32_t cap = e->out_cap ? e->out_cap * 2 : 64;
    int32_t *o = realloc(e->out, (size_t)cap * RECORD * sizeof *o);
    if (!o) return; // out of memory: the result is lost, the next one will tell
    e->out = o;
    e->out_cap = cap;
  }
  int32_t *r = e->out + (size_t)e->out_len++ * RECORD;
  uint64_t lat = (now_ns() - p->started) / 1000;
  r[0] = p->id;
  r[1] = ok;
  r[2] = lat > INT32_MAX ? INT32_MAX : (int32_t)lat;
  r[3] = err;
  r[4] = phase;
  r[5] = ok ? p->last_status : p->status;
  r[6] = (int32_t)p->url;
}

/**
 * A check that connected and passed keeps its socket for the next check: connect(AF_UNSPEC) aborts
 * the connection with a reset (SO_LINGER 0 is set at creation) and leaves the socket unconnected,
 * still in the epoll set, ready for another connect. That spares a check socket(), epoll_ctl() and
 * the file's teardown in close(): about a seventh of a TCP check's CPU here.
 * - TCP_CHECK: the handshake's last ACK was never sent, so the server's application never saw it.
 * - HTTP_GET: the whole response is read by then. A reset rather than a FIN leaves no TIME_WAIT on
 *   either side (an HTTP check that closed first, at Content-Length, before the server's FIN had
 *   arrived, used to leave one here: about 12,000 sockets held at 1,000 checks a second, where
 *   HAProxy holds none), and the server's kernel sends no last ACK. HAProxy's connect checks end
 *   the same way, as do many load balancers' HTTP monitors; a server that has not closed yet sees
 *   ECONNRESET on its next read.
 * The next connect clears the error the abort leaves; the hang-up it reports while the probe idles
 * is ignored (on_event). Anything else (a failure, a one-shot probe) closes the socket, also with a
 * reset, and the next check opens another.
 */
static int disconnect(probe_t *p) {
  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  return connect(p->fd, &unspec, sizeof unspec) == 0;
}

static void release(engine_t *e, probe_t *p, int ok) {
  if (p->fd < 0) return;
  if (ok && p->expect >= 0 && disconnect(p)) return;
  sock_close(e, p);
}

/** The check is over: report it if asked, then wait intervalMs (or idle for good: one-shot). */
static void finish(engine_t *e, probe_t *p, int ok, int err, int phase) {
  release(e, p, ok);
  free(p->head);
  p->head = NULL;
  if (p->expect < 0 || ok != p->expect) emit(e, p, ok, err, phase);
  if (p->expect < 0) {
    p->step = S_DONE;
    heap_remove(e, p);
    return;
  }
  p->step = S_IDLE;
  // The next check intervalMs after this result, less a random 0-3 %: checks that a stall bunched
  // together (a busy loop, the start of 1,000 checkers) spread out again instead of staying in step
  // for good. Less the timer grid too, so that no wait is longer than delay_loop and the detection
  // bound holds.
  uint64_t gap = p->interval_ns, spread = gap / 32;
  if (gap > 4 * GRID_NS) gap -= GRID_NS;
  if (spread) {
    e->rnd ^= e->rnd << 13;
    e->rnd ^= e->rnd >> 7;
    e->rnd ^= e->rnd << 17;
    gap -= e->rnd % spread;
  }
  reschedule(e, p, now_ns() + gap);
}

static void start_url(engine_t *e, probe_t *p);

static void url_done(engine_t *e, probe_t *p) {
  url_t *u = &p->urls[p->url];
  int st = p->status, match = 0;
  for (uint32_t i = 0; i + 1 < u->nranges * 2; i += 2)
    if (st >= u->ranges[i] && st <= u->ranges[i + 1]) { match = 1; break; }
  if (!match) { finish(e, p, 0, 0, PH_STATUS); return; }
  p->last_status = st;
  if (p->url + 1 < p->nurls) {
    if (!disconnect(p)) sock_close(e, p); // the next url reuses the socket (release)
    p->url++;
    start_url(e, p);
    return;
  }
  finish(e, p, 1, 0, PH_OK);
}

/** `\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n` in the header, case-insensitively; -1 when absent. */
static int64_t content_length(const char *h, uint32_t len) {
  static const char key[] = "\r\ncontent-length:";
  const uint32_t kl = sizeof key - 1;
  for (uint32_t i = 0; i + kl <= len; i++) {
    if (strncasecmp(h + i, key, kl) != 0) continue;
    uint32_t j = i + kl;
    while (j < len && (h[j] == ' ' || h[j] == '\t')) j++;
    if (j >= len || !isdigit((unsigned char)h[j])) continue;
    int64_t v = 0;
    while (j < len && isdigit((unsigned char)h[j])) {
      if (v < (INT64_MAX - 9) / 10) v = v * 10 + (h[j] - '0');
      j++;
    }
    while (j < len && (h[j] == ' ' || h[j] == '\t')) j++;
    if (j + 1 < len && h[j] == '\r' && h[j + 1] == '\n') return v;
  }
  return -1;
}

/** `^[^ ]* (\d{3})( |$)` on the first line; 0 when it has none. */
static int status_code(const char *h, uint32_t len) {
  const char *eol = memmem(h, len, "\r\n", 2);
  uint32_t n = eol ? (uint32_t)(eol - h) : 0;
  const char *sp = memchr(h, ' ', n);
  if (!sp) return 0;
  uint32_t i = (uint32_t)(sp - h) + 1;
  if (i + 3 > n) return 0;
  for (int k = 0; k < 3; k++) if (!isdigit((unsigned char)h[i + k])) return 0;
  if (i + 3 < n && h[i + 3] != ' ') return 0;
  return (h[i] - '0') * 100 + (h[i + 1] - '0') * 10 + (h[i + 2] - '0');
}

static void body_bytes(engine_t *e, probe_t *p, uint64_t n) {
  p->body += n;
  if (p->clen >= 0 && p->body >= (uint64_t)p->clen) url_done(e, p);
}

static void on_read(engine_t *e, probe_t *p) {
  char buf[16384];
  for (;;) {
    if (p->step != S_READ) return;
    ssize_t n = recv(p->fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      finish(e, p, 0, errno, PH_READ);
      return;
    }
    if (n == 0) {
      if (p->header_done) url_done(e, p);
      else finish(e, p, 0, 0, p->head_len ? PH_PARTIAL_HEADER : PH_NO_DATA);
      return;
    }
    if (p->header_done) { body_bytes(e, p, (uint64_t)n); continue; }
    if (!p->head && !(p->head = malloc(MAX_HEADER + 1))) { finish(e, p, 0, ENOMEM, PH_READ); return; }
    // the header: accumulate to the blank line; what follows is body
    uint32_t take = (uint32_t)n;
    if (p->head_len + take > MAX_HEADER + 1) take = MAX_HEADER + 1 - p->head_len;
    memcpy(p->head + p->head_len, buf, take);
    uint32_t from = p->head_len > 3 ? p->head_len - 3 : 0;
    p->head_len += take;
    char *end = memmem(p->head + from, p->head_len - from, "\r\n\r\n", 4);
    if (!end) {
      if (p->head_len > MAX_HEADER) { finish(e, p, 0, 0, PH_HEADER_TOO_LONG); return; }
      continue;
    }
    uint32_t hlen = (uint32_t)(end - p->head) + 4;
    if (hlen > MAX_HEADER) { finish(e, p, 0, 0, PH_HEADER_TOO_LONG); return; }
    p->header_done = 1;
    p->status = status_code(p->head, hlen);
    p->clen = content_length(p->head, hlen);
    // body bytes in this read: those after the header (all of them were copied unless cut at MAX_HEADER)
    uint64_t rest = (uint64_t)n - (hlen - (p->head_len - take));
    free(p->head);
    p->head = NULL;
    p->head_len = 0;
    if (p->clen == 0) { url_done(e, p); return; }
    body_bytes(e, p, rest);
  }
  reschedule(e, p, now_ns() + p->timeout_ns); // a read re-arms the wait
}

static void on_write(engine_t *e, probe_t *p) {
  url_t *u = &p->urls[p->url];
  while (p->wrote < u->req_len) {
    ssize_t n = send(p->fd, u->req + p->wrote, u->req_len - p->wrote, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      finish(e, p, 0, errno, PH_WRITE);
      return;
    }
    p->wrote += (uint32_t)n;
  }
  p->step = S_READ;
}

/** The connect finished (writable), or failed (an error is pending: its errno is the detail). */
static void on_connected(engine_t *e, probe_t *p, uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    finish(e, p, 0, err ? err : ECONNREFUSED, PH_CONNECT);
    return;
  }
  // TCP_CHECK: connected. The handshake's last ACK is still held back (TCP_QUICKACK off, start_url),
  // so the reset that ends it now (release) leaves it half-open, as HAProxy's connect check does:
  // the server's kernel answered, its application never sees (accepts, logs, counts) the check, and
  // neither side keeps a TIME_WAIT.
  if (!p->nurls) { finish(e, p, 1, 0, PH_OK); return; }
  p->step = S_WRITE;
  p->wrote = 0;
  reschedule(e, p, now_ns() + p->timeout_ns); // the response's wait starts with the request
  on_write(e, p);
}

/**
 * One readiness report. Sockets are registered once, edge-triggered, for everything: a step reads
 * or writes until the kernel says EAGAIN, so no edge is lost and no epoll_ctl is needed between
 * steps.
 */
static void on_event(engine_t *e, probe_t *p, uint32_t events) {
  if (p->step == S_CONNECT) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    on_connected(e, p, events);
    if (p->step != S_READ || !(events & (EPOLLIN | EPOLLRDHUP))) return; // the answer came with the connect: read it now
  } else if (p->step == S_WRITE) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_write(e, p);
    if (p->step != S_READ) return;
  }
  if (p->step == S_READ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_read(e, p);
}

/** Open and connect the socket for the current url (or the TCP check). */
static void start_url(engine_t *e, probe_t *p) {
  p->header_done = 0;
  p->head_len = 0;
  p->status = 0;
  p->clen = -1;
  p->body = 0;
  int fresh = p->fd < 0; // else the TCP check's socket, kept unconnected (release)
  if (fresh) {
    p->fd = socket(p->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) { finish(e, p, 0, errno, PH_SOCKET); return; }
    // a check ends with a reset, never a FIN and a TIME_WAIT (release, on_connected)
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    if (p->src_len) {
      if (p->dst.ss_family == AF_INET6) {
        int one = 1;
        setsockopt(p->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      }
      if (bind(p->fd, (struct sockaddr *)&p->src, p->src_len) < 0) { finish(e, p, 0, errno, PH_BIND); return; }
    }
  }
  // Hold the handshake's last ACK back (delayed, up to 200 ms): an HTTP request sent on connect
  // carries it, one packet fewer; a TCP check closes before it is due (on_connected).
  int zero = 0;
  setsockopt(p->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
  p->step = S_CONNECT;
  reschedule(e, p, now_ns() + p->timeout_ns);
  int r = connect(p->fd, (struct sockaddr *)&p->dst, p->dst_len);
  if (r < 0 && errno != EINPROGRESS) { finish(e, p, 0, errno, PH_CONNECT); return; }
  if (!fresh) return; // registered already
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = p};
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0) { finish(e, p, 0, errno, PH_CONNECT); return; }
  // connected at once (r == 0): the registration's first edge reports it writable
}

static void start_check(engine_t *e, probe_t *p) {
  p->started = now_ns();
  p->url = 0;
  p->last_status = 0;
  start_url(e, p);
}

// ------------------------------------------------------------------------------------------------
// the loop: sockets ready, timers due, then one call into JavaScript with the results

/**
 * Everything the sockets report, until the set is empty: a TCP check's socket, disconnected when
 * it ends (release), reports that hang-up at once, and one more wait collects it here instead of
 * waking the loop again for nothing.
 */
static void poll_sockets(engine_t *e) {
  struct epoll_event evs[MAX_EVENTS];
  for (int rounds = 0; rounds < 8; rounds++) {
    int n = epoll_wait(e->epfd, evs, MAX_EVENTS, 0);
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
      on_event(e, evs[i].data.ptr, evs[i].events);
    }
  }
}

/**
 * Due probes come off the heap and go back once their next time is known (defer). A wait that is
 * over first gets what the sockets hold, so a late timer never fails an answer that is waiting;
 * the checks started here are often connected already (loopback, a veth): a last poll ends them in
 * this wake-up.
 */
static void run_timers(engine_t *e) {
  uint64_t t = now_ns();
  int polled = 0;
  e->in_timers = 1;
  while (e->heap_len && e->heap[0].when <= t) {
    probe_t *p = e->heap[0].p;
    if (p->step != S_IDLE && !polled) { // a wait is over (a done one-shot is never in the heap)
      poll_sockets(e);
      polled = 1;
      continue;
    }
    heap_remove(e, p);
    switch (p->step) {
      case S_IDLE: start_check(e, p); break;
      case S_CONNECT: finish(e, p, 0, 0, PH_TIMEOUT_CONNECT); break;
      case S_WRITE: case S_READ: finish(e, p, 0, 0, PH_TIMEOUT_RESPONSE); break;
      default: break; // S_DONE: not reached (finish takes a done one-shot off the heap)
    }
  }
  poll_sockets(e);
  e->in_timers = 0;
  undefer(e);
}

static void timer_cb(uv_timer_t *t);

static void arm(engine_t *e) {
  if (e->closed) return;
  if (!e->heap_len) { uv_timer_stop(&e->timer); return; }
  // libuv fires a timer once its loop time (ms, never ahead of uv_hrtime) reaches now + timeout:
  // counted from the loop's own time, the timer cannot fire before the grid point it is set for
  // (a wake-up with nothing due), however stale that time is
  uint64_t when = (e->heap[0].when + GRID_NS - 1) / GRID_NS * GRID_NS;
  uint64_t due = (when + 999999) / 1000000, now = uv_now(e->loop);
  uv_timer_start(&e->timer, timer_cb, due > now ? due - now : 0, 0);
}

static void deliver(engine_t *e) {
  if (!e->out_len || e->closed) return;
  napi_env env = e->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t bytes = (size_t)e->out_len * RECORD * sizeof(int32_t);
  void *data;
  napi_value ab, arr, fn, recv, result; // napi_make_callback needs an object as `this`
  if (napi_create_arraybuffer(env, bytes, &data, &ab) == napi_ok &&
      napi_create_typedarray(env, napi_int32_array, (size_t)e->out_len * RECORD, ab, 0, &arr) == napi_ok &&
      napi_get_reference_value(env, e->cb, &fn) == napi_ok && napi_get_global(env, &recv) == napi_ok) {
    memcpy(data, e->out, bytes);
    e->out_len = 0;
    if (napi_make_callback(env, e->async, recv, fn, 1, &arr, &result) == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void pass(engine_t *e, int timers) {
  e->in_pass = 1;
  if (timers) run_timers(e);
  else poll_sockets(e);
  e->in_pass = 0;
  deliver(e);
  arm(e);
}

static void poll_cb(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  pass(h->data, 0);
}
static void timer_cb(uv_timer_t *t) { pass(t->data, 1); }

static void keep_alive(engine_t *e) {
  // as Node's own sockets and timers: the loop stays alive while a probe is registered
  if (e->active) {
    uv_ref((uv_handle_t *)&e->poll);
    uv_ref((uv_handle_t *)&e->timer);
  } else {
    uv_unref((uv_handle_t *)&e->poll);
    uv_unref((uv_handle_t *)&e->timer);
  }
}

// ------------------------------------------------------------------------------------------------
// N-API


static void free_probe(engine_t *e, probe_t *p) {
  sock_close(e, p);
  if (p->deferred) // (not reached: JavaScript runs between passes, when nothing is deferred)
    for (uint32_t i = 0; i < e->deferred_len; i++) if (e->deferred[i] == p) e->deferred[i] = NULL;
  heap_remove(e, p);
  for (uint32_t i = 0; i < p->nurls; i++) {
    free(p->urls[i].req);
    free(p->urls[i].ranges);
  }
  free(p->urls);
  free(p->head);
  free(p);
}

static void handle_closed(uv_handle_t *h) {
  engine_t *e = h->data;
  if (--e->handles_open == 0) {
    napi_remove_async_cleanup_hook(e->cleanup);
    free(e->slots);
    free(e->heap);
    free(e->deferred);
    free(e->out);
    free(e);
  }
}

static void shutdown_engine(engine_t *e) {
  if (e->closed) return;
  e->closed = 1;
  for (uint32_t i = 0; i < e->nslots; i++) {
    if (e->slots[i]) free_probe(e, e->slots[i]);
    e->slots[i] = NULL;
  }
  e->active = 0;
  uv_poll_stop(&e->poll);
  uv_timer_stop(&e->timer);
  close(e->epfd);
  e->epfd = -1;
}

/** Sockets closed, handles closing; `env_alive`: JavaScript still runs (probeClose), so the references go too. */
static void close_engine(engine_t *e, int env_alive) {
  if (e->closed) return; // closing already: handle_closed removes the hook
  shutdown_engine(e);
  if (env_alive) {
    napi_delete_reference(e->env, e->cb);
    napi_async_destroy(e->env, e->async);
  }
  uv_close((uv_handle_t *)&e->poll, handle_closed);
  uv_close((uv_handle_t *)&e->timer, handle_closed);
}

static void env_cleanup(napi_async_cleanup_hook_handle h, void *arg) {
  (void)h;
  close_engine(arg, 0);
}

/** A probe was added or removed: the loop's reference and the timer follow (arm waits for the end of a pass). */
static void probes_changed(engine_t *e) {
  keep_alive(e);
  if (!e->in_pass) arm(e);
}

/**
 * The `n` arguments of an engine call, the engine first: NULL (a TypeError thrown, naming `usage`)
 * when they are missing or the first is not an engine.
 */
static engine_t *engine_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  engine_t *e = NULL;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n ||
      napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], (void **)&e) != napi_ok || !e) {
    throw_arg(env, usage);
    return NULL;
  }
  return e;
}

static napi_value js_probe_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
    return throw_arg(env, "probeOpen(onResults) needs a function");
  engine_t *e = calloc(1, sizeof *e);
  if (!e) return throw_errno(env, "malloc", ENOMEM);
  e->env = env;
  e->rnd = now_ns() | 1;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (e->epfd < 0) {
    int err = errno;
    free(e);
    return throw_errno(env, "epoll_create1", err);
  }
  if (napi_get_uv_event_loop(env, &e->loop) != napi_ok) {
    close(e->epfd);
    free(e);
    napi_throw_error(env, "ERR_PROBE_ENGINE", "the probe engine cannot find this thread's event loop");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "vigil:probe-engine", NAPI_AUTO_LENGTH, &name);
  napi_value resource;
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &e->async);
  napi_create_reference(env, argv[0], 1, &e->cb);
  uv_poll_init(e->loop, &e->poll, e->epfd);
  uv_timer_init(e->loop, &e->timer);
  e->poll.data = e;
  e->timer.data = e;
  e->handles_open = 2;
  uv_poll_start(&e->poll, UV_READABLE, poll_cb);
  keep_alive(e);
  napi_add_async_cleanup_hook(env, env_cleanup, e, &e->cleanup);
  napi_value out;
  napi_create_external(env, e, NULL, NULL, &out);
  return out;
}

static int bytes_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool ta = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &ta) != napi_ok || !ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  return 1;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

static int fill_addr(int family, const uint8_t *a, size_t alen, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == 4 && alen == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    memcpy(&s->sin_addr, a, 4);
    *len = sizeof *s;
    return 1;
  }
  if (family == 6 && alen == 16) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    memcpy(&s->sin6_addr, a, 16);
    *len = sizeof *s;
    return 1;
  }
  return 0;
}

static napi_value js_probe_add(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  engine_t *e = engine_args(env, info, 13, argv, "probeAdd(engine, ...) needs a probe engine and 13 arguments");
  if (!e) return NULL;
  if (e->closed) return throw_arg(env, "probeAdd: the probe engine is closed");
  int32_t id, family, port, bind_port, timeout_ms, interval_ms, first_ms, expect;
  if (napi_get_value_int32(env, argv[1], &id) != napi_ok || id < 0 || id > 10000000 ||
      napi_get_value_int32(env, argv[2], &family) != napi_ok ||
      napi_get_value_int32(env, argv[4], &port) != napi_ok || port <= 0 || port > 65535 ||
      napi_get_value_int32(env, argv[6], &bind_port) != napi_ok || bind_port < 0 || bind_port > 65535 ||
      napi_get_value_int32(env, argv[7], &timeout_ms) != napi_ok || timeout_ms < 0 ||
      napi_get_value_int32(env, argv[8], &interval_ms) != napi_ok || interval_ms < 0 ||
      napi_get_value_int32(env, argv[9], &first_ms) != napi_ok || first_ms < 0 ||
      napi_get_value_int32(env, argv[10], &expect) != napi_ok || expect < -1 || expect > 1)
    return throw_arg(env, "probeAdd: bad id, family, port, bind port, timeout, interval, first or expect");
  uint8_t *addr;
  size_t alen;
  struct sockaddr_storage dst, src;
  socklen_t dst_len, src_len = 0;
  if (!bytes_arg(env, argv[3], &addr, &alen) || !fill_addr(family, addr, alen, port, &dst, &dst_len))
    return throw_arg(env, "probeAdd: the address must be 4 (family 4) or 16 (family 6) bytes");
  if (!is_nullish(env, argv[5])) {
    if (!bytes_arg(env, argv[5], &addr, &alen) || !fill_addr(family, addr, alen, bind_port, &src, &src_len))
      return throw_arg(env, "probeAdd: the bind address must be of the destination's family");
  } else if (bind_port) {
    // a port alone: the wildcard address of the family
    uint8_t any[16] = {0};
    fill_addr(family, any, family == 4 ? 4 : 16, bind_port, &src, &src_len);
  }
  uint32_t nurls = 0;
  url_t *urls = NULL;
  if (!is_nullish(env, argv[11])) {
    bool isarr = false, isarr2 = false;
    uint32_t n2 = 0;
    if (napi_is_array(env, argv[11], &isarr) != napi_ok || !isarr || napi_is_array(env, argv[12], &isarr2) != napi_ok || !isarr2 ||
        napi_get_array_length(env, argv[11], &nurls) != napi_ok || napi_get_array_length(env, argv[12], &n2) != napi_ok || n2 != nurls || nurls == 0 || nurls > 64)
      return throw_arg(env, "probeAdd: requests and ranges must be arrays of the same length (1 to 64)");
    urls = calloc(nurls, sizeof *urls);
    if (!urls) return throw_errno(env, "malloc", ENOMEM);
    for (uint32_t i = 0; i < nurls; i++) {
      napi_value rq, rg;
      uint8_t *d;
      size_t dl;
      bool ta = false;
      napi_typedarray_type type;
      size_t rl = 0;
      int32_t *rd = NULL;
      if (napi_get_element(env, argv[11], i, &rq) != napi_ok || !bytes_arg(env, rq, &d, &dl) || dl == 0 ||
          napi_get_element(env, argv[12], i, &rg) != napi_ok || napi_is_typedarray(env, rg, &ta) != napi_ok || !ta ||
          napi_get_typedarray_info(env, rg, &type, &rl, (void **)&rd, NULL, NULL) != napi_ok || type != napi_int32_array || rl == 0 || rl % 2) {
        for (uint32_t k = 0; k < i; k++) { free(urls[k].req); free(urls[k].ranges); }
        free(urls);
        return throw_arg(env, "probeAdd: each request must be a non-empty Uint8Array, each range list an Int32Array of pairs");
      }
      urls[i].req = malloc(dl);
      urls[i].ranges = malloc(rl * sizeof(int32_t));
      if (!urls[i].req || !urls[i].ranges) {
        for (uint32_t k = 0; k <= i; k++) { free(urls[k].req); free(urls[k].ranges); }
        free(urls);
        return throw_errno(env, "malloc", ENOMEM);
      }
      memcpy(urls[i].req, d, dl);
      urls[i].req_len = (uint32_t)dl;
      memcpy(urls[i].ranges, rd, rl * sizeof(int32_t));
      urls[i].nranges = (uint32_t)(rl / 2);
    }
  }
  if ((uint32_t)id >= e->nslots) {
    uint32_t n = e->nslots ? e->nslots : 64;
    while (n <= (uint32_t)id) n *= 2;
    probe_t **s = realloc(e->slots, n * sizeof *s);
    if (!s) return throw_errno(env, "malloc", ENOMEM);
    memset(s + e->nslots, 0, (n - e->nslots) * sizeof *s);
    e->slots = s;
    e->nslots = n;
  }
  if (e->slots[id]) { free_probe(e, e->slots[id]); e->slots[id] = NULL; e->active--; }
  probe_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "malloc", ENOMEM);
  p->id = id;
  p->expect = (int8_t)expect;
  p->fd = -1;
  p->heap = -1;
  p->dst = dst;
  p->dst_len = dst_len;
  p->src = src;
  p->src_len = src_len;
  // at least 1 ms each: a zero interval would spin the timer loop on a probe that fails at once
  p->timeout_ns = (uint64_t)(timeout_ms ? timeout_ms : 1) * 1000000ULL;
  p->interval_ns = (uint64_t)(interval_ms ? interval_ms : 1) * 1000000ULL;
  p->urls = urls;
  p->nurls = nurls;
  p->step = S_IDLE;
  e->slots[id] = p;
  e->active++;
  reschedule(e, p, now_ns() + (uint64_t)first_ms * 1000000ULL);
  probes_changed(e);
  return NULL;
}

static napi_value js_probe_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t id;
  engine_t *e = engine_args(env, info, 2, argv, "probeRemove(engine, id)");
  if (!e) return NULL;
  if (napi_get_value_int32(env, argv[1], &id) != napi_ok) return throw_arg(env, "probeRemove(engine, id): id must be an integer");
  if (e->closed || id < 0 || (uint32_t)id >= e->nslots || !e->slots[id]) return NULL;
  free_probe(e, e->slots[id]);
  e->slots[id] = NULL;
  e->active--;
  probes_changed(e);
  return NULL;
}

static napi_value js_probe_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_t *e = engine_args(env, info, 1, argv, "probeClose(engine)");
  if (!e) return NULL;
  close_engine(e, 1);
  return NULL;
}

napi_status probe_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"probeOpen", NULL, js_probe_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probeAdd", NULL, js_probe_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probeRemove", NULL, js_probe_remove, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probeClose", NULL, js_probe_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
