// The small-exchange endpoints of bench/inline.ts, in C so that the endpoints cost little next
// to the path being measured (a Node HTTP client and server spend more CPU per exchange than
// the bridge and palisade together, on a 2-core machine). Each exchange is SIZE bytes each way
// over TCP with TCP_NODELAY: one data segment each way, the ACKs riding on the answers.
//
//   pingpong server PORT                              echo every byte back, any number of connections
//   pingpong rate HOST PORT CONNS SECONDS SIZE [SRC…] CONNS connections exchanging back to back,
//                                                     from the source addresses in turn:
//                                                     {"transactions","seconds"}
//   pingpong latency HOST PORT COUNT INTERVAL_US SIZE one connection, one exchange every INTERVAL_US:
//                                                     {"count","p50Us","p99Us","maxUs"}
//
// Built by bench/inline.ts (gcc -O2); run inside the bench's namespaces only.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(const char *host, int port, const char *src) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (src != NULL) {
    struct sockaddr_in b = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &b.sin_addr);
    if (bind(fd, (struct sockaddr *)&b, sizeof b) < 0) {
      perror("bind");
      exit(1);
    }
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("connect");
    exit(1);
  }
  return fd;
}

static int server(int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 512) < 0) {
    perror("listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  printf("listening\n");
  fflush(stdout);
  static char buf[65536];
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == l) {
        int c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(fd);
        continue;
      }
      for (ssize_t w = 0; w < r;) {
        ssize_t k = write(fd, buf + w, r - w);
        if (k < 0 && errno != EAGAIN) break;
        if (k > 0) w += k;
      }
    }
  }
}

static int rate(const char *host, int port, int conns, double seconds, int size, char **srcs, int nsrcs) {
  int ep = epoll_create1(0);
  int *got = calloc(conns, sizeof(int));
  int *fds = calloc(conns, sizeof(int));
  char *msg = calloc(1, size);
  memset(msg, 'x', size);
  static char buf[65536];
  for (int i = 0; i < conns; i++) {
    fds[i] = dial(host, port, nsrcs > 0 ? srcs[i % nsrcs] : NULL);
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  long transactions = 0;
  double start = now(), end = start + seconds;
  for (int i = 0; i < conns; i++) write(fds[i], msg, size);
  struct epoll_event evs[256];
  while (now() < end) {
    int n = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < n; e++) {
      int i = evs[e].data.u32;
      ssize_t r = read(fds[i], buf, sizeof buf);
      if (r <= 0) continue;
      got[i] += r;
      if (got[i] >= size) {
        got[i] = 0;
        transactions++;
        write(fds[i], msg, size);
      }
    }
  }
  printf("{\"transactions\":%ld,\"seconds\":%.6f}\n", transactions, now() - start);
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int latency(const char *host, int port, int count, int interval_us, int size) {
  int fd = dial(host, port, NULL);
  char *msg = calloc(1, size);
  static char buf[65536];
  double *rtt = calloc(count, sizeof(double));
  // A few exchanges first: ARP, the connection's first segments.
  for (int i = -20; i < count; i++) {
    double t0 = now();
    if (write(fd, msg, size) != size) return 1;
    for (int got = 0; got < size;) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) return 1;
      got += r;
    }
    if (i >= 0) rtt[i] = (now() - t0) * 1e6;
    struct timespec pause = {0, interval_us * 1000L};
    nanosleep(&pause, NULL);
  }
  qsort(rtt, count, sizeof(double), cmp);
  printf("{\"count\":%d,\"p50Us\":%.1f,\"p99Us\":%.1f,\"maxUs\":%.1f}\n", count, rtt[count / 2], rtt[(int)(count * 0.99)], rtt[count - 1]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "server")) return server(atoi(argv[2]));
  if (argc >= 7 && !strcmp(argv[1], "rate")) return rate(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atoi(argv[6]), argv + 7, argc - 7);
  if (argc >= 7 && !strcmp(argv[1], "latency")) return latency(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  fprintf(stderr, "usage: pingpong server PORT | rate HOST PORT CONNS SECONDS SIZE | latency HOST PORT COUNT INTERVAL_US SIZE\n");
  return 2;
}
