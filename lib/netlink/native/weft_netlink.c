// weft's native netlink addon: only what JavaScript cannot do itself.
//
// - openNetlink(nsPath?, proto)   NETLINK_ROUTE or NETLINK_NETFILTER socket made inside a namespace
// - openSysctl(nsPath?, path, w)  a /proc/sys/net file opened inside a network namespace
// - request(fd, message)          one request, synchronously: every reply until its ACK/DONE
// - batch(fd, messages)           many requests without a round trip each; failures only
// - transaction(fd, messages)     an nfnetlink batch (begin … end) in one send; failures only
// - watch(fd, groups, callback)   joins multicast groups; the event loop hands their notifications to
//                                 callback as they come (libuv poll); unwatch(handle) stops it
// - flock(fd, exclusive, wait?)   flock(2), which Node lacks
// - peerCredentials(fd)           SO_PEERCRED of a unix socket (who connected), which Node lacks
//
// setns(CLONE_NEWNET) moves only the calling thread, and a thread born while switched stays in the
// other namespace for good. So the switch, the socket()/open() and the switch back all happen here,
// with no JavaScript (and so no libuv work, no thread creation) in between. A socket or file keeps
// the namespace it was created in after the thread returns. If the thread cannot return, the process
// aborts: continuing in the wrong namespace would silently change the wrong host.
//
// Failures are returned as negative errno values (or an errno field) rather than thrown, so the
// TypeScript layer can turn them into typed errors naming the operation.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

// Socket buffers: big enough that a batch window's acks (each charged ~1 KiB of skb) never overflow.
#define SEND_BUFFER (4 << 20)
#define RECEIVE_BUFFER (8 << 20)
// A dump's datagrams are at most 32 KiB plus one oversized message; MSG_TRUNC is detected anyway.
#define RECEIVE_CHUNK (256 << 10)
// A batch is sent in windows: bytes per sendmsg and requests awaiting their acks at once.
#define WINDOW_BYTES (256 << 10)
#define WINDOW_REQUESTS 2048
// Reply memory kept between requests; more is freed after the request that needed it.
#define REPLIES_KEPT (1 << 20)
// The kernel answers rtnetlink within the send; this only bounds a wait that should never happen.
#define RECEIVE_TIMEOUT_SECONDS 30

struct state {
  uint8_t *receive;  // RECEIVE_CHUNK bytes
  uint8_t *replies;  // accumulated reply messages of one request
  size_t replies_len;
  size_t replies_cap;
};

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return NULL;              \
  } while (0)

// ---- namespace switching -------------------------------------------------------------------------

// Moves the calling thread into the namespace at `path`; *back receives a descriptor of the thread's
// namespace before the switch. With no path nothing changes and *back is -1.
static int enter_netns(const char *path, int *back) {
  *back = -1;
  if (path == NULL) return 0;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return -errno;
  int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (here < 0) {
    int err = errno;
    close(target);
    return -err;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int err = errno;
    close(target);
    close(here);
    return -err;
  }
  close(target);
  *back = here;
  return 0;
}

static void leave_netns(int back) {
  if (back < 0) return;
  if (setns(back, CLONE_NEWNET) != 0) {
    fprintf(stderr, "weft: cannot return to the original network namespace (%s); aborting\n", strerror(errno));
    abort();
  }
  close(back);
}

// ---- argument helpers ----------------------------------------------------------------------------

// Copies an optional string argument; *present is 0 for undefined/null. Returns 0 or -errno.
static int optional_path(napi_env env, napi_value value, char *out, size_t cap, int *present) {
  napi_valuetype type;
  *present = 0;
  if (napi_typeof(env, value, &type) != napi_ok) return -EINVAL;
  if (type == napi_undefined || type == napi_null) return 0;
  if (type != napi_string) return -EINVAL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, out, cap, &len) != napi_ok) return -EINVAL;
  if (len >= cap - 1) return -ENAMETOOLONG;
  if (strlen(out) != len) return -EINVAL;  // an embedded NUL would name another file
  *present = 1;
  return 0;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  CHECK(napi_create_int64(env, n, &v));
  return v;
}

static napi_value args_error(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

// ---- flock -----------------------------------------------------------------------------------

// flock(fd, exclusive: boolean, wait = true): 0 | errno. Blocks until the lock is held (retried on EINTR),
// or with wait false answers EWOULDBLOCK at once when another holds it.
// The IPAM store is locked with flock(2) as the reference plugin locks it, so the two exclude each other.
static napi_value file_lock(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  bool exclusive;
  bool wait = true;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return args_error(env, "flock(fd, exclusive, wait?)");
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_bool(env, argv[1], &exclusive));
  if (argc > 2) CHECK(napi_get_value_bool(env, argv[2], &wait));
  int rc;
  do rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
  while (rc != 0 && errno == EINTR);
  return int_value(env, rc == 0 ? 0 : errno);
}

// ---- peerCredentials ------------------------------------------------------------------------------

// peerCredentials(fd): [pid, uid, gid] of the process that connected a unix socket, as the kernel
// recorded them at connect(2) (SO_PEERCRED), or -errno.
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return args_error(env, "peerCredentials(fd)");
  struct ucred cred;
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return int_value(env, -errno);
  napi_value list;
  CHECK(napi_create_array_with_length(env, 3, &list));
  CHECK(napi_set_element(env, list, 0, int_value(env, cred.pid)));
  CHECK(napi_set_element(env, list, 1, int_value(env, cred.uid)));
  CHECK(napi_set_element(env, list, 2, int_value(env, cred.gid)));
  return list;
}

// ---- openRoute / openSysctl ----------------------------------------------------------------------

static void set_buffer(int fd, int force_option, int option, int bytes) {
  // The FORCE variants pass the rmem_max/wmem_max caps; they need CAP_NET_ADMIN.
  if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

static int configure_socket(int fd) {
  int on = 1;
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, SEND_BUFFER);
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, RECEIVE_BUFFER);
  // Extended acks carry the kernel's explanation; capped acks do not echo the whole request back.
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  struct timeval timeout = {.tv_sec = RECEIVE_TIMEOUT_SECONDS, .tv_usec = 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) return -errno;
  return 0;
}

// openNetlink(nsPath: string | undefined, protocol: number): fd | -errno
static napi_value open_netlink(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[PATH_MAX];
  int present;
  int32_t protocol;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2 || napi_get_value_int32(env, argv[1], &protocol) != napi_ok) return args_error(env, "openNetlink(nsPath, protocol)");
  if (protocol != NETLINK_ROUTE && protocol != NETLINK_NETFILTER) return int_value(env, -EPROTONOSUPPORT);
  // undefined: the calling thread's own namespace.
  int err = optional_path(env, argv[0], path, sizeof path, &present);
  if (err != 0) return int_value(env, err);

  int back;
  err = enter_netns(present ? path : NULL, &back);
  if (err != 0) return int_value(env, err);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  int socket_err = fd < 0 ? -errno : 0;
  leave_netns(back);
  if (fd < 0) return int_value(env, socket_err);

  err = configure_socket(fd);
  if (err != 0) {
    close(fd);
    return int_value(env, err);
  }
  return int_value(env, fd);
}

static int is_net_sysctl(const char *path) {
  static const char prefix[] = "/proc/sys/net/";
  return strncmp(path, prefix, sizeof prefix - 1) == 0 && strstr(path, "/..") == NULL;
}

// openSysctl(nsPath: string | undefined, path: string, write: boolean): fd | -errno
static napi_value open_sysctl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ns[PATH_MAX], path[PATH_MAX];
  int ns_present, path_present;
  bool write = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) return args_error(env, "openSysctl(nsPath, path, write)");
  int err = optional_path(env, argv[0], ns, sizeof ns, &ns_present);
  if (err == 0) err = optional_path(env, argv[1], path, sizeof path, &path_present);
  if (err != 0) return int_value(env, err);
  if (!path_present || !is_net_sysctl(path)) return int_value(env, -EINVAL);
  CHECK(napi_get_value_bool(env, argv[2], &write));

  int back;
  err = enter_netns(ns_present ? ns : NULL, &back);
  if (err != 0) return int_value(env, err);
  int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  int open_err = fd < 0 ? -errno : 0;
  leave_netns(back);
  return int_value(env, fd < 0 ? open_err : fd);
}

// ---- receiving -----------------------------------------------------------------------------------

static int append_reply(struct state *st, const struct nlmsghdr *h) {
  size_t need = st->replies_len + NLMSG_ALIGN(h->nlmsg_len);
  if (need > st->replies_cap) {
    size_t cap = st->replies_cap ? st->replies_cap : 64 << 10;
    while (cap < need) cap *= 2;
    uint8_t *grown = realloc(st->replies, cap);
    if (grown == NULL) return -ENOMEM;
    st->replies = grown;
    st->replies_cap = cap;
  }
  memcpy(st->replies + st->replies_len, h, h->nlmsg_len);
  st->replies_len += NLMSG_ALIGN(h->nlmsg_len);
  return 0;
}

// One datagram into st->receive; returns its length or -errno (EMSGSIZE if it did not fit).
static ssize_t receive_datagram(int fd, struct state *st, int flags) {
  struct sockaddr_nl from;
  struct iovec iov = {.iov_base = st->receive, .iov_len = RECEIVE_CHUNK};
  struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
  ssize_t n;
  do n = recvmsg(fd, &msg, flags);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN && !(flags & MSG_DONTWAIT) ? -ETIMEDOUT : -errno;
  if (msg.msg_flags & MSG_TRUNC) return -EMSGSIZE;
  return n;
}

struct outcome {
  int error;            // positive errno, 0 for success
  const char *extack;   // points into st->receive; valid until the next receive
  size_t extack_len;
};

// Reads an NLMSG_ERROR or NLMSG_DONE payload: the status and the kernel's extended-ack message.
static void read_outcome(const struct nlmsghdr *h, struct outcome *out) {
  const uint8_t *payload = NLMSG_DATA(h);
  size_t payload_len = h->nlmsg_len - NLMSG_HDRLEN;
  size_t tlv_offset;
  out->error = 0;
  out->extack = NULL;
  out->extack_len = 0;
  if (h->nlmsg_type == NLMSG_ERROR) {
    if (payload_len < sizeof(struct nlmsgerr)) {
      out->error = EPROTO;
      return;
    }
    const struct nlmsgerr *e = (const struct nlmsgerr *)payload;
    out->error = -e->error;
    // With NETLINK_CAP_ACK only the request's header is echoed, unless the kernel says otherwise.
    tlv_offset = sizeof(int) + ((h->nlmsg_flags & NLM_F_CAPPED) ? NLMSG_HDRLEN : e->msg.nlmsg_len);
  } else {
    if (payload_len < sizeof(int)) return;
    int status;
    memcpy(&status, payload, sizeof status);
    out->error = -status;
    tlv_offset = sizeof(int);
  }
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  tlv_offset = NLMSG_ALIGN(tlv_offset);
  while (tlv_offset + NLA_HDRLEN <= payload_len) {
    const struct nlattr *a = (const struct nlattr *)(payload + tlv_offset);
    if (a->nla_len < NLA_HDRLEN || tlv_offset + a->nla_len > payload_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
      out->extack = (const char *)a + NLA_HDRLEN;
      out->extack_len = strnlen(out->extack, a->nla_len - NLA_HDRLEN);
    }
    tlv_offset += NLA_ALIGN(a->nla_len);
  }
}

static napi_value outcome_object(napi_env env, const struct outcome *o) {
  napi_value obj, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_int32(env, o->error, &v));
  CHECK(napi_set_named_property(env, obj, "error", v));
  if (o->extack != NULL) {
    CHECK(napi_create_string_utf8(env, o->extack, o->extack_len, &v));
    CHECK(napi_set_named_property(env, obj, "extack", v));
  }
  return obj;
}

static struct state *state_of(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

// The (fd, Buffer) arguments of request, batch and transaction, and this environment's buffers; NULL with
// a TypeError thrown when the arguments are wrong.
static struct state *read_call(napi_env env, napi_callback_info info, const char *usage, int32_t *fd, void **data, size_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  struct state *st = state_of(env);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (st == NULL || argc != 2 || napi_get_value_int32(env, argv[0], fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], data, len) != napi_ok) {
    args_error(env, usage);
    return NULL;
  }
  return st;
}

static int send_all(int fd, const void *data, size_t len) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return (size_t)n == len ? 0 : -EMSGSIZE;
}

// ---- request -------------------------------------------------------------------------------------

// request(fd, message: Buffer): { error, extack?, data?: Buffer, interrupted?: true }
// `message` is one complete netlink message; a non-dump request gets NLM_F_ACK so it always ends.
static napi_value request(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *data;
  size_t len;
  struct state *st = read_call(env, info, "request(fd, message: Buffer)", &fd, &data, &len);
  if (st == NULL) return NULL;
  struct nlmsghdr *req = data;
  if (len < NLMSG_HDRLEN || req->nlmsg_len != len) return args_error(env, "message length does not match its header");
  int dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump) req->nlmsg_flags |= NLM_F_ACK;
  uint32_t seq = req->nlmsg_seq;

  struct outcome result = {0};
  int interrupted = 0, done = 0;
  st->replies_len = 0;
  int err = send_all(fd, data, len);
  if (err != 0) result.error = -err, done = 1;
  while (!done) {
    ssize_t n = receive_datagram(fd, st, 0);
    if (n < 0) {
      result.error = (int)-n;
      break;
    }
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)st->receive; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;  // a late answer to an abandoned earlier request
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = 1;
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
        read_outcome(h, &result);
        done = 1;
        break;
      }
      if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN) continue;
      if (append_reply(st, h) != 0) {
        result.error = ENOMEM;
        done = 1;
        break;
      }
    }
  }

  napi_value obj = outcome_object(env, &result), v;
  if (obj == NULL) return NULL;
  if (st->replies_len > 0) {
    CHECK(napi_create_buffer_copy(env, st->replies_len, st->replies, NULL, &v));
    CHECK(napi_set_named_property(env, obj, "data", v));
  }
  if (st->replies_cap > REPLIES_KEPT) {
    // A big dump (a full routing table) need not keep its memory for the life of the process.
    free(st->replies);
    st->replies = NULL;
    st->replies_cap = 0;
  }
  if (interrupted) {
    CHECK(napi_get_boolean(env, true, &v));
    CHECK(napi_set_named_property(env, obj, "interrupted", v));
  }
  return obj;
}

// ---- batch ---------------------------------------------------------------------------------------

struct pending {
  size_t offset;  // of the message in the batch buffer
  int error;      // -1 while its ack has not arrived
};

static int add_failure(napi_env env, napi_value failures, uint32_t *count, size_t index, const struct outcome *o) {
  napi_value obj = outcome_object(env, o), v;
  if (obj == NULL) return -1;
  if (napi_create_uint32(env, (uint32_t)index, &v) != napi_ok) return -1;
  if (napi_set_named_property(env, obj, "index", v) != napi_ok) return -1;
  return napi_set_element(env, failures, (*count)++, obj) == napi_ok ? 0 : -1;
}

// batch(fd, messages: Buffer): Array<{ index, error, extack? }>
// `messages` is complete netlink messages back to back with consecutive sequence numbers. They are
// sent a window at a time (one sendmsg each) and the window's acks collected before the next. The
// kernel runs every message even if an earlier one failed; only failures are returned. If the
// socket overruns (ENOBUFS) some acks are lost: those requests are reported with ENOBUFS, meaning
// "outcome unknown", and the window shrinks.
static napi_value batch(napi_env env, napi_callback_info info) {
  napi_value failures;
  int32_t fd;
  void *data;
  size_t len;
  uint32_t failure_count = 0;
  struct state *st = read_call(env, info, "batch(fd, messages: Buffer)", &fd, &data, &len);
  if (st == NULL) return NULL;

  // Index the messages and check the sequence numbers, before anything is sent.
  size_t count = 0;
  for (size_t off = 0; off < len; count++) {
    struct nlmsghdr *h = (struct nlmsghdr *)((uint8_t *)data + off);
    if (len - off < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len - off)
      return args_error(env, "malformed message in batch");
    off += NLMSG_ALIGN(h->nlmsg_len);
  }
  CHECK(napi_create_array(env, &failures));
  if (count == 0) return failures;
  struct pending *reqs = calloc(count, sizeof *reqs);
  if (reqs == NULL) return args_error(env, "out of memory");
  uint32_t first_seq = ((struct nlmsghdr *)data)->nlmsg_seq;
  size_t i = 0;
  for (size_t off = 0; off < len; i++) {
    struct nlmsghdr *h = (struct nlmsghdr *)((uint8_t *)data + off);
    if (h->nlmsg_seq != first_seq + (uint32_t)i || (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP) {
      free(reqs);
      return args_error(env, "batch messages need consecutive sequence numbers and no dumps");
    }
    h->nlmsg_flags |= NLM_F_ACK;
    reqs[i].offset = off;
    reqs[i].error = -1;
    off += NLMSG_ALIGN(h->nlmsg_len);
  }

  size_t window = WINDOW_REQUESTS;
  for (size_t start = 0; start < count;) {
    // A window: as many whole messages as fit the byte and request limits (at least one).
    size_t end = start, bytes = 0;
    while (end < count && end - start < window) {
      size_t next = (end + 1 < count ? reqs[end + 1].offset : len) - reqs[end].offset;
      if (end > start && bytes + next > WINDOW_BYTES) break;
      bytes += next;
      end++;
    }
    int err = send_all(fd, (uint8_t *)data + reqs[start].offset, bytes);
    if (err == -EMSGSIZE && end - start > 1) {
      window = (end - start) / 2;
      continue;
    }
    size_t waiting = err != 0 ? 0 : end - start;
    int lost = 0;
    while (waiting > 0) {
      // After an overrun, take only what is already queued: every ack is queued by the time the
      // send returns, so the missing ones will never come.
      ssize_t n = receive_datagram(fd, st, lost ? MSG_DONTWAIT : 0);
      if (n == -ENOBUFS) {
        lost = 1;
        continue;
      }
      if (n < 0) break;
      size_t left = (size_t)n;
      for (struct nlmsghdr *h = (struct nlmsghdr *)st->receive; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        uint32_t k = h->nlmsg_seq - first_seq;
        if (h->nlmsg_type != NLMSG_ERROR || k < start || k >= end || reqs[k].error >= 0) continue;
        struct outcome o;
        read_outcome(h, &o);
        reqs[k].error = o.error;
        waiting--;
        if (o.error != 0 && add_failure(env, failures, &failure_count, k, &o) != 0) goto fail;
      }
    }
    // Unanswered: the send failed, acks were lost to an overrun, or (never expected) the wait timed out.
    for (size_t k = start; k < end; k++) {
      if (reqs[k].error >= 0) continue;
      struct outcome o = {.error = err != 0 ? -err : lost ? ENOBUFS : ETIMEDOUT};
      if (add_failure(env, failures, &failure_count, k, &o) != 0) goto fail;
    }
    if (lost && window > 1) window /= 2;
    start = end;
  }
  free(reqs);
  return failures;
fail:
  free(reqs);
  return NULL;
}

// ---- transaction ---------------------------------------------------------------------------------

// transaction(fd, messages: Buffer): Array<{ index, error, extack? }>
// `messages` is an nfnetlink batch (NFNL_MSG_BATCH_BEGIN, the changes, NFNL_MSG_BATCH_END) with
// consecutive sequence numbers. It goes to the kernel in one send, which applies it whole or not at
// all before the send returns; every error it reports is queued by then, so the socket is drained
// without waiting. A success leaves nothing to read (no acks are asked for), as with nft itself.
// `index` is the failed message's position in the batch (an error about the whole commit names 0).
static napi_value transaction(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *data;
  size_t len;
  struct state *st = read_call(env, info, "transaction(fd, messages: Buffer)", &fd, &data, &len);
  if (st == NULL) return NULL;
  if (len < NLMSG_HDRLEN) return args_error(env, "transaction: an empty batch");
  uint32_t first_seq = ((struct nlmsghdr *)data)->nlmsg_seq;
  napi_value failures;
  uint32_t failure_count = 0;
  CHECK(napi_create_array(env, &failures));

  int err = send_all(fd, data, len);
  if (err != 0) {
    struct outcome o = {.error = -err};
    return add_failure(env, failures, &failure_count, 0, &o) == 0 ? failures : NULL;
  }
  for (;;) {
    ssize_t n = receive_datagram(fd, st, MSG_DONTWAIT);
    if (n == -EAGAIN) break;
    if (n < 0) {
      // ENOBUFS: errors were lost, so the outcome is unknown; report it rather than claim success.
      struct outcome o = {.error = (int)-n};
      if (add_failure(env, failures, &failure_count, 0, &o) != 0) return NULL;
      break;
    }
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)st->receive; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      struct outcome o;
      read_outcome(h, &o);
      if (o.error == 0) continue;
      if (add_failure(env, failures, &failure_count, h->nlmsg_seq - first_seq, &o) != 0) return NULL;
    }
  }
  return failures;
}

// ---- change notifications ------------------------------------------------------------------------

// Notifications read in one turn of the event loop are handed over together, up to this many bytes; the
// rest waits for the next turn (the poll is level-triggered).
#define NOTIFICATIONS_PER_CALL (1 << 20)

struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int stopped;
  int holders;  // the poll handle until closed, and the JavaScript handle until collected
};

static void watch_release(struct watch *w) {
  if (--w->holders == 0) free(w);
}

static void watch_closed(uv_handle_t *handle) {
  watch_release(handle->data);
}

static void watch_stop(napi_env env, struct watch *w) {
  if (w->stopped) return;
  w->stopped = 1;
  uv_poll_stop(&w->poll);
  napi_delete_reference(env, w->callback);
  napi_async_destroy(env, w->context);
  uv_close((uv_handle_t *)&w->poll, watch_closed);
}

// A handle collected without unwatch stops its watch: nothing could stop it any more.
static void watch_collected(napi_env env, void *data, void *hint) {
  (void)hint;
  watch_stop(env, data);
  watch_release(data);
}

// Calls back with a Buffer of every notification queued on the socket, or with -errno: -ENOBUFS when the
// kernel dropped notifications because the socket's buffer was full (the caller must look at everything
// again), another -errno when reading failed.
static void watch_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  struct watch *w = poll->data;
  napi_env env = w->env;
  struct state *st = state_of(env);
  if (w->stopped || st == NULL) return;
  uint8_t *data = NULL;
  size_t len = 0;
  ssize_t failure = 0;
  if (status < 0) {
    // libuv reports a socket error (POLLERR) as EBADF and stops polling. The error is the kernel's
    // ENOBUFS after an overflow; reading it clears it, and polling starts again.
    int error = 0;
    socklen_t size = sizeof error;
    failure = getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error != 0 ? -error : status;
    int restarted = uv_poll_start(&w->poll, UV_READABLE, watch_readable);
    if (restarted != 0) failure = restarted;
  }
  while (failure == 0 && len < NOTIFICATIONS_PER_CALL) {
    ssize_t n = receive_datagram(w->fd, st, MSG_DONTWAIT);
    if (n == -EAGAIN) break;
    if (n < 0) {
      failure = n;
      break;
    }
    uint8_t *grown = realloc(data, len + (size_t)n);
    if (grown == NULL) {
      failure = -ENOMEM;
      break;
    }
    data = grown;
    memcpy(data + len, st->receive, (size_t)n);
    len += (size_t)n;
  }
  if (failure != 0 || len > 0) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      napi_value arg, callback, receiver;
      void *copy;
      int ready = failure != 0 ? (arg = int_value(env, failure)) != NULL
                               : napi_create_buffer_copy(env, len, data, &copy, &arg) == napi_ok;
      // make_callback wants an object to call on: the global one, as for a plain function call.
      if (ready && napi_get_reference_value(env, w->callback, &callback) == napi_ok && napi_get_global(env, &receiver) == napi_ok) {
        napi_make_callback(env, w->context, receiver, callback, 1, &arg, NULL);
      }
      // An exception in the callback is the process's, as any event handler's would be.
      bool pending = false;
      napi_value error;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
      napi_close_handle_scope(env, scope);
    }
  }
  free(data);
}

// watch(fd, groups: number[], callback): handle | -errno. The socket (from openNetlink) joins the groups
// and is read only here from then on. The poll does not keep the process alive by itself.
static napi_value watch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  uint32_t count;
  bool is_array;
  napi_valuetype type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_is_array(env, argv[1], &is_array) != napi_ok ||
      !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok || napi_typeof(env, argv[2], &type) != napi_ok ||
      type != napi_function) {
    return args_error(env, "watch(fd, groups, callback)");
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    uint32_t group;
    CHECK(napi_get_element(env, argv[1], i, &item));
    if (napi_get_value_uint32(env, item, &group) != napi_ok) return args_error(env, "watch(fd, groups, callback)");
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) return int_value(env, -errno);
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  struct watch *w = calloc(1, sizeof *w);
  if (w == NULL) return int_value(env, -ENOMEM);
  w->env = env;
  w->fd = fd;
  w->poll.data = w;
  w->holders = 1;
  int err = uv_poll_init(loop, &w->poll, fd);
  if (err != 0) {
    free(w);
    return int_value(env, err);
  }
  napi_value name, handle;
  if (napi_create_reference(env, argv[2], 1, &w->callback) != napi_ok ||
      napi_create_string_utf8(env, "weft:netlink-watch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok ||
      (err = uv_poll_start(&w->poll, UV_READABLE, watch_readable)) != 0 ||
      napi_create_external(env, w, watch_collected, NULL, &handle) != napi_ok) {
    // Only the poll handle needs closing; the reference and context go with the process's failure.
    w->stopped = 1;
    uv_close((uv_handle_t *)&w->poll, watch_closed);
    return err != 0 ? int_value(env, err) : NULL;
  }
  w->holders++;
  uv_unref((uv_handle_t *)&w->poll);
  return handle;
}

// unwatch(handle): stops the callbacks at once. The socket stays open: closing it is the caller's.
static napi_value unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_external(env, argv[0], &data) != napi_ok) return args_error(env, "unwatch(handle)");
  watch_stop(env, data);
  return NULL;
}

// ---- module --------------------------------------------------------------------------------------

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct state *st = data;
  free(st->receive);
  free(st->replies);
  free(st);
}

NAPI_MODULE_INIT() {
  // Per environment (main thread or worker): each has its own buffers.
  struct state *st = calloc(1, sizeof *st);
  if (st == NULL || (st->receive = malloc(RECEIVE_CHUNK)) == NULL) {
    free(st);
    napi_throw_error(env, NULL, "weft_netlink: out of memory");
    return NULL;
  }
  CHECK(napi_set_instance_data(env, st, free_state, NULL));
  static const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {
      {"openNetlink", open_netlink},
      {"openSysctl", open_sysctl},
      {"request", request},
      {"batch", batch},
      {"transaction", transaction},
      {"flock", file_lock},
      {"peerCredentials", peer_credentials},
      {"watch", watch},
      {"unwatch", unwatch},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    CHECK(napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn));
    CHECK(napi_set_named_property(env, exports, functions[i].name, fn));
  }
  return exports;
}
