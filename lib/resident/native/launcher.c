// The executable a runtime starts for a weft plugin (bridge, host-local, overlay): a launcher that hands
// the call to the node's weftd, which runs the plugin's code warm (daemon/plugin-host/), or else runs the
// bundled Node plugin itself. The protocol is lib/resident/protocol.ts; the constants below mirror it
// (protocol.test.ts checks they agree). libc only, so it starts in well under a millisecond.
//
//   1. read stdin (unless the command does not take it)
//   2. connect to /run/weft/plugins/net-<inode of this network namespace>.sock and send REQUEST
//      (no socket, refused, anything wrong, or WEFT_RESIDENT=off: exec the Node plugin with this very
//      environment, its stdin replayed from a memfd)
//   3. DECLINE or ERROR, or the connection ends before PENDING: nothing ran; exec the Node plugin, its
//      stdin replayed from a memfd
//   4. PENDING: wait for RESULT and write its stderr, stdout and exit code unchanged; if the connection
//      ends first, print PENDING's error JSON (code 11, "try again later") and exit 1. Output is written
//      only once whole, so a runtime never reads half a result.
//
// build.mjs compiles one per plugin: -DWEFT_PLUGIN_NAME="bridge" -DWEFT_BUILD_ID="<hash of the plugins>".
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef WEFT_PLUGIN_NAME
#error "WEFT_PLUGIN_NAME must be defined"
#endif
#ifndef WEFT_BUILD_ID
#error "WEFT_BUILD_ID must be defined"
#endif

#define PROTOCOL_VERSION 1
#define MAX_FRAME_BYTES (4u * 1024u * 1024u)
#define SOCKET_DIRECTORY "/run/weft/plugins"
#define FALLBACK_DIRECTORY "weft-plugins"
#define CURRENT_CNI_VERSION "1.1.0"

enum { FRAME_REQUEST = 1, FRAME_DECLINE = 2, FRAME_PENDING = 3, FRAME_RESULT = 4, FRAME_ERROR = 5 };

extern char **environ;

struct buffer {
  unsigned char *data;
  size_t length, capacity;
};

static int reserve(struct buffer *b, size_t more) {
  if (b->length + more <= b->capacity) return 0;
  size_t capacity = b->capacity ? b->capacity : 4096;
  while (capacity < b->length + more) capacity *= 2;
  unsigned char *data = realloc(b->data, capacity);
  if (data == NULL) return -1;
  b->data = data;
  b->capacity = capacity;
  return 0;
}

static int put(struct buffer *b, const void *bytes, size_t n) {
  if (reserve(b, n) != 0) return -1;
  memcpy(b->data + b->length, bytes, n);
  b->length += n;
  return 0;
}

static int put_u32(struct buffer *b, uint32_t value) {
  unsigned char bytes[4] = {value >> 24, value >> 16, value >> 8, value};
  return put(b, bytes, 4);
}

static int put_string(struct buffer *b, const void *bytes, size_t n) {
  return put_u32(b, (uint32_t)n) || put(b, bytes, n);
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Writes all of it; waits on a non-blocking descriptor a runtime handed over. To the socket, without
// SIGPIPE: a weftd gone is an outcome here, not a reason to die.
static int write_all(int fd, const void *bytes, size_t n, int is_socket) {
  const unsigned char *p = bytes;
  while (n > 0) {
    ssize_t done = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
    if (done < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd wait = {.fd = fd, .events = POLLOUT};
        poll(&wait, 1, -1);
        continue;
      }
      return -1;
    }
    p += done;
    n -= (size_t)done;
  }
  return 0;
}

// Reads exactly n bytes: 0, or -1 on an error or an end before them.
static int read_exact(int fd, void *bytes, size_t n) {
  unsigned char *p = bytes;
  while (n > 0) {
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static int read_all(int fd, struct buffer *b) {
  for (;;) {
    if (reserve(b, 65536) != 0) return -1;
    ssize_t got = read(fd, b->data + b->length, b->capacity - b->length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) return 0;
    b->length += (size_t)got;
  }
}

// The bundled Node plugin: <directory of this executable>/weft-plugins/<name>.
static void fallback_path(char *path, size_t size) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) n = 0;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash != NULL) *slash = '\0';
  snprintf(path, size, "%s/" FALLBACK_DIRECTORY "/" WEFT_PLUGIN_NAME, slash != NULL ? self : ".");
}

static void print_error(int code, const char *msg, const char *details) {
  char text[PATH_MAX + 512];
  int n = snprintf(text, sizeof text, "{\n    \"cniVersion\": \"" CURRENT_CNI_VERSION "\",\n    \"code\": %d,\n    \"msg\": \"%s\",\n    \"details\": \"%s\"\n}\n",
                   code, msg, details);
  if (n > 0) write_all(1, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, 0);
}

// Runs the Node plugin in this process's place. `stdin_copy`: what was read of stdin, replayed to it.
static void fallback(const struct buffer *stdin_copy) {
  char path[PATH_MAX + 64];
  fallback_path(path, sizeof path);
  if (stdin_copy != NULL) {
    int fd = memfd_create("weft-stdin", 0);
    if (fd < 0 || write_all(fd, stdin_copy->data, stdin_copy->length, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) != 0) {
      print_error(5, "weft launcher: cannot pass stdin on to the plugin", strerror(errno));
      exit(1);
    }
    if (fd != 0) close(fd);
  }
  char *argv[] = {path, NULL};
  execve(path, argv, environ);
  print_error(199, "weft launcher: cannot run the Node plugin", path);
  exit(1);
}

static int connect_weftd(void) {
  struct stat netns;
  if (stat("/proc/self/ns/net", &netns) != 0) return -1;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  snprintf(address.sun_path, sizeof address.sun_path, SOCKET_DIRECTORY "/net-%llu.sock", (unsigned long long)netns.st_ino);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the Node plugin would read stdin: not without a command (it prints its versions), and not for
// VERSION from a terminal or /dev/null (lib/cni/skel.ts runPlugin).
static int takes_stdin(void) {
  const char *command = getenv("CNI_COMMAND");
  if (command == NULL || command[0] == '\0') return 0;
  if (strcmp(command, "VERSION") != 0) return 1;
  struct stat in;
  return fstat(0, &in) == 0 && !S_ISCHR(in.st_mode);
}

static int build_request(struct buffer *frame, const struct buffer *stdin_data) {
  uint32_t count = 0;
  for (char **e = environ; *e != NULL; e++) count++;
  unsigned char head[5] = {0, 0, 0, 0, FRAME_REQUEST};
  unsigned char version = PROTOCOL_VERSION;
  if (put(frame, head, 5) || put(frame, &version, 1) || put_string(frame, WEFT_BUILD_ID, strlen(WEFT_BUILD_ID)) ||
      put_string(frame, WEFT_PLUGIN_NAME, strlen(WEFT_PLUGIN_NAME)) || put_u32(frame, count)) return -1;
  for (char **e = environ; *e != NULL; e++) {
    if (put_string(frame, *e, strlen(*e))) return -1;
  }
  if (put_string(frame, stdin_data->data, stdin_data->length)) return -1;
  if (frame->length - 4 > MAX_FRAME_BYTES) return -1;
  uint32_t length = (uint32_t)(frame->length - 4);
  frame->data[0] = length >> 24;
  frame->data[1] = length >> 16;
  frame->data[2] = length >> 8;
  frame->data[3] = length;
  return 0;
}

// Reads one frame into `payload`; its type, or -1 when the connection ends or breaks the protocol.
static int read_frame(int fd, struct buffer *payload) {
  unsigned char head[5];
  if (read_exact(fd, head, 5) != 0) return -1;
  uint32_t length = get_u32(head);
  if (length == 0 || length > MAX_FRAME_BYTES) return -1;
  payload->length = 0;
  if (reserve(payload, length - 1) != 0 || read_exact(fd, payload->data, length - 1) != 0) return -1;
  payload->length = length - 1;
  return head[4];
}

int main(void) {
  // Stdin first: a connection is held only while weftd can work on the call, however slowly the runtime
  // writes the config (weftd gives a request 10 s).
  struct buffer input = {0};
  int has_input = takes_stdin();
  if (has_input && read_all(0, &input) != 0) {
    print_error(5, "error reading from stdin", strerror(errno));
    return 1;
  }
  // WEFT_RESIDENT=off: the Node plugin, always (to compare, or to rule weftd out while debugging).
  const char *resident = getenv("WEFT_RESIDENT");
  int fd = resident != NULL && strcmp(resident, "off") == 0 ? -1 : connect_weftd();
  if (fd < 0) fallback(has_input ? &input : NULL);
  struct buffer frame = {0};
  if (build_request(&frame, &input) != 0 || write_all(fd, frame.data, frame.length, 1) != 0) fallback(has_input ? &input : NULL);
  free(frame.data);

  struct buffer payload = {0};
  int type = read_frame(fd, &payload);
  if (type != FRAME_PENDING) fallback(has_input ? &input : NULL);
  struct buffer pending = {0};
  if (put(&pending, payload.data, payload.length) != 0) return 1;

  type = read_frame(fd, &payload);
  if (type != FRAME_RESULT || payload.length < 8 || 8 + (size_t)get_u32(payload.data + 4) > payload.length) {
    // weftd went away (or broke the protocol) after the call began: what it did is unknown.
    write_all(1, pending.data, pending.length, 0);
    return 1;
  }
  uint32_t exit_code = get_u32(payload.data);
  size_t stderr_length = get_u32(payload.data + 4);
  write_all(2, payload.data + 8, stderr_length, 0);
  write_all(1, payload.data + 8 + stderr_length, payload.length - 8 - stderr_length, 0);
  return (int)(exit_code & 0xff);
}
