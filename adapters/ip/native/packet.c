// packet.node: the few system calls vigil needs and Node does not offer. Plain N-API
// (node_api.h only), no C++ and no dependencies.
//
// Sending a whole Ethernet frame (gratuitous ARP, adapters/ip/frames.ts) through an AF_PACKET
// socket, as keepalived does in keepalived/vrrp/vrrp_arp.c:
//   open()                        -> fd      socket(AF_PACKET, SOCK_RAW, 0): sends only, receives nothing
//   send(fd, ifindex, frame)      -> bytes   sendto() the frame as-is on interface `ifindex`
//   close(fd)                     -> undefined
// Running as a service (adapters/service/):
//   sendUnixDgram(path, data)     -> bytes   one datagram to a unix socket, as sd_notify() does for
//                                            NOTIFY_SOCKET; a leading '@' names an abstract socket
//   dup2(oldfd, newfd)            -> undefined   a detached daemon points stderr at its log once its
//                                            parent, which read stderr until then, has gone
//
// A failing system call throws an Error with `code` ('EPERM', 'ENODEV', ...), `errno` (negative, as
// Node's own errors) and `syscall`. Bad arguments throw a TypeError with code ERR_INVALID_ARG_TYPE.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include "napi_errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <unistd.h>

#define ETH_HEADER_LEN 14

napi_value throw_errno(napi_env env, const char *syscall, int err) {
  const char *code = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  code = strerrorname_np(err);
#endif
  char codebuf[24];
  if (code == NULL) {
    snprintf(codebuf, sizeof codebuf, "ERRNO_%d", err);
    code = codebuf;
  }
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value c, m, e, n, s;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_error(env, c, m, &e) != napi_ok)
    return NULL;
  if (napi_create_int32(env, -err, &n) == napi_ok) napi_set_named_property(env, e, "errno", n);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &s) == napi_ok)
    napi_set_named_property(env, e, "syscall", s);
  napi_throw(env, e);
  return NULL;
}

napi_value throw_arg(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static int32_t int_arg(napi_env env, napi_value v, bool *ok) {
  int32_t out = 0;
  napi_valuetype t;
  *ok = napi_typeof(env, v, &t) == napi_ok && t == napi_number &&
        napi_get_value_int32(env, v, &out) == napi_ok;
  return out;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  (void)info;
  // Protocol 0: the socket is bound to no ethertype, so the kernel queues nothing to it.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return throw_arg(env, "send(fd, ifindex, frame) needs 3 arguments");
  bool ok1, ok2;
  int32_t fd = int_arg(env, argv[0], &ok1);
  int32_t ifindex = int_arg(env, argv[1], &ok2);
  if (!ok1 || fd < 0) return throw_arg(env, "fd must be a non-negative integer");
  if (!ok2 || ifindex <= 0) return throw_arg(env, "ifindex must be a positive integer");

  bool is_ta = false;
  napi_is_typedarray(env, argv[2], &is_ta);
  if (!is_ta) return throw_arg(env, "frame must be a Uint8Array");
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return throw_arg(env, "frame must be a Uint8Array");
  if (length < ETH_HEADER_LEN) return throw_arg(env, "frame is shorter than an Ethernet header");

  const unsigned char *frame = data;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  memcpy(&sll.sll_protocol, frame + 12, 2); // the frame's ethertype, already in network order
  sll.sll_halen = ETH_ALEN;                 // for SOCK_RAW the kernel sends the frame's own header;
  memcpy(sll.sll_addr, frame, ETH_ALEN);    // these two are informative (keepalived fills them too)

  ssize_t n = sendto(fd, frame, length, 0, (struct sockaddr *)&sll, sizeof sll);
  if (n < 0) return throw_errno(env, "sendto", errno);
  napi_value out;
  napi_create_int64(env, (int64_t)n, &out);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
    return throw_arg(env, "close(fd) needs 1 argument");
  bool ok;
  int32_t fd = int_arg(env, argv[0], &ok);
  if (!ok || fd < 0) return throw_arg(env, "fd must be a non-negative integer");
  if (close(fd) < 0) return throw_errno(env, "close", errno);
  return NULL;
}

static napi_value js_send_unix_dgram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
    return throw_arg(env, "sendUnixDgram(path, data) needs 2 arguments");
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  char path[sizeof sa.sun_path + 1];
  size_t len = 0;
  // the length first: a longer name would be silently truncated by the copy
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok)
    return throw_arg(env, "path must be a string");
  if (len > sizeof sa.sun_path) return throw_errno(env, "sendUnixDgram", ENAMETOOLONG);
  napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len);
  // a path needs its terminating NUL inside sun_path; an abstract name does not
  bool abstract = len > 0 && path[0] == '@';
  if (len == 0 || len > sizeof sa.sun_path - (abstract ? 0 : 1))
    return throw_errno(env, "sendUnixDgram", ENAMETOOLONG);
  memcpy(sa.sun_path, path, len);
  if (abstract) sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));

  bool is_ta = false;
  napi_is_typedarray(env, argv[1], &is_ta);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (!is_ta || napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return throw_arg(env, "data must be a Uint8Array");

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  // never blocks the event loop: a full receive queue is an EAGAIN for the caller to report
  ssize_t n = sendto(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto", err);
  napi_value out;
  napi_create_int64(env, (int64_t)n, &out);
  return out;
}

static napi_value js_dup2(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
    return throw_arg(env, "dup2(oldfd, newfd) needs 2 arguments");
  bool ok1, ok2;
  int32_t oldfd = int_arg(env, argv[0], &ok1);
  int32_t newfd = int_arg(env, argv[1], &ok2);
  if (!ok1 || !ok2 || oldfd < 0 || newfd < 0) return throw_arg(env, "fds must be non-negative integers");
  if (dup2(oldfd, newfd) < 0) return throw_errno(env, "dup2", errno);
  return NULL;
}

// threadName(name): names the calling thread (prctl PR_SET_NAME, 15 bytes at most), as `top -H`
// and /proc/PID/task/TID/comm show it: the health-check thread is `vigil-checks`
static napi_value js_thread_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[16];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return throw_arg(env, "threadName(name) needs a string");
  if (prctl(PR_SET_NAME, name, 0, 0, 0) < 0) return throw_errno(env, "prctl", errno);
  return NULL;
}

// mallocTrim() -> boolean: glibc's malloc_trim(0), which gives the kernel back the free pages of
// every malloc arena (not only the top of the heap); true when some memory was released
static napi_value js_malloc_trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) == 1, &out);
#else
  napi_get_boolean(env, false, &out);
#endif
  return out;
}

// probe.c: the health checks' probe engine (probeOpen, probeAdd, probeRemove, probeClose); a build
// without libuv's headers leaves it out (VIGIL_NO_PROBE_ENGINE) and the checks stay in JavaScript
#ifndef VIGIL_NO_PROBE_ENGINE
napi_status probe_init(napi_env env, napi_value exports);
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendUnixDgram", NULL, js_send_unix_dgram, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup2", NULL, js_dup2, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threadName", NULL, js_thread_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallocTrim", NULL, js_malloc_trim, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
#ifndef VIGIL_NO_PROBE_ENGINE
  if (probe_init(env, exports) != napi_ok) return NULL;
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
