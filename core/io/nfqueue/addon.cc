// palisade's NFQUEUE addon: one netfilter queue read in batches and judged in batches.
//
// - Reading: a libuv poll on the netlink socket, on the loop of the thread that opened the queue
//   (so a worker thread may own one). Each wake-up takes every datagram waiting, up to the
//   receive buffer's slots, with one recvmmsg into the buffer JavaScript lent us; batch.h parses
//   them into a u32 meta array; JavaScript gets one call with the packet count and reads
//   packets as views into that buffer. Nothing per packet crosses into JavaScript but numbers.
// - Verdicts: JavaScript writes (kind, id, verdict) triples and calls verdicts(n) once; they
//   leave as consecutive netlink messages in as few sendmsg calls as the socket buffer allows.
//   A verdict is netfilter's own number (NF_ACCEPT, NF_DROP from linux/netfilter.h), passed
//   through as it is: core/io/nfqueue/verdicts.ts declares the same numbers for JavaScript.
//   NFQNL_MSG_VERDICT_BATCH covers every queued id up to its own, so only JavaScript, which
//   knows which packets are held, decides when one may be used (core/io/nfqueue/verdict-plan.ts).
// - Configuration in one acknowledged message: bind, copy the whole packet, queue length, and
//   the flags NFQA_CFG_F_GSO (GSO/GRO super-packets queued whole) and NFQA_CFG_F_FAIL_OPEN.
// - A JavaScript exception in the batch callback is caught here (the process never aborts in
//   C++): the batch's packets get the fail verdict, and it is counted.
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"

namespace {

// Room for one queued packet: 64 KiB of payload (a GSO super-packet) plus its attributes.
constexpr size_t kSlot = 65536 + 4096;
// Verdict messages per sendmsg: 32 bytes each, well under the socket's send buffer.
constexpr size_t kVerdictsPerSend = 1024;
constexpr uint32_t kKindSingle = 0;
constexpr uint32_t kKindBatch = 1;

struct Counters {
  double received = 0;   // packets handed to JavaScript
  double batches = 0;    // JavaScript calls
  double datagrams = 0;  // datagrams received
  double malformed = 0;  // messages skipped by the parser, cut datagrams
  double refused = 0;    // NLMSG_ERROR answers to our verdicts
  double overflow = 0;
  double enobufs = 0;    // the socket buffer overflowed (with NETLINK_NO_ENOBUFS, never)
  double recvErrors = 0;
  double sendErrors = 0;
  double verdictMessages = 0;
  double batchVerdicts = 0;  // of which NFQNL_MSG_VERDICT_BATCH
  double sends = 0;          // sendmsg calls for verdicts
  double callbackErrors = 0; // exceptions out of the batch callback
};

class Queue : public Napi::ObjectWrap<Queue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Queue",
                       {
                           InstanceMethod<&Queue::Verdicts>("verdicts"),
                           InstanceMethod<&Queue::VerdictPayload>("verdictPayload"),
                           InstanceMethod<&Queue::Stats>("stats"),
                           InstanceMethod<&Queue::Close>("close"),
                           InstanceAccessor<&Queue::PortId>("portId"),
                       });
  }

  // new Queue(queue, { queueLength, failOpen, gso, receiveBuffer }, buffer, meta, verdicts, onBatch)
  explicit Queue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Queue>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsObject() || !info[2].IsBuffer() || !info[3].IsTypedArray() ||
        !info[4].IsTypedArray() || !info[5].IsFunction()) {
      Napi::TypeError::New(env, "Queue(queue, options, buffer, meta, verdicts, onBatch)").ThrowAsJavaScriptException();
      return;
    }
    queue_ = info[0].As<Napi::Number>().Uint32Value();
    Napi::Object opts = info[1].As<Napi::Object>();
    const uint32_t maxlen = opts.Get("queueLength").As<Napi::Number>().Uint32Value();
    const bool failOpen = opts.Get("failOpen").ToBoolean();
    const bool gso = opts.Get("gso").ToBoolean();
    const int rcvbuf = opts.Get("receiveBuffer").As<Napi::Number>().Int32Value();

    auto buffer = info[2].As<Napi::Buffer<uint8_t>>();
    auto meta = info[3].As<Napi::Uint32Array>();
    auto verdicts = info[4].As<Napi::Uint32Array>();
    buf_ = buffer.Data();
    slots_ = buffer.Length() / kSlot;
    meta_ = meta.Data();
    metaRoom_ = static_cast<uint32_t>(meta.ElementLength() / NFQB_FIELDS);
    verdicts_ = verdicts.Data();
    verdictRoom_ = verdicts.ElementLength() / 3;
    if (slots_ == 0 || metaRoom_ < slots_) {
      Napi::RangeError::New(env, "receive buffer or meta array too small").ThrowAsJavaScriptException();
      return;
    }
    bufferRef_ = Napi::Persistent(buffer);
    metaRef_ = Napi::Persistent(meta);
    verdictsRef_ = Napi::Persistent(verdicts);
    onBatch_ = Napi::Persistent(info[5].As<Napi::Function>());
    failVerdict_ = failOpen ? NF_ACCEPT : NF_DROP;

    msgs_.resize(slots_);
    iovs_.resize(slots_);
    for (size_t i = 0; i < slots_; i++) {
      iovs_[i].iov_base = buf_ + i * kSlot;
      iovs_[i].iov_len = kSlot;
    }
    send_.resize(kVerdictsPerSend * 32 + 64);

    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (nl_ == nullptr) { Fail(env, "socket"); return; }
    // Close-on-exec: a child process started while the queue is bound (a rule's, esbuild's)
    // would inherit the socket and keep the queue bound after this worker is gone, so that the
    // worker replacing it found "another program holds this queue" and the bridge black-holed.
    fcntl(mnl_socket_get_fd(nl_), F_SETFD, FD_CLOEXEC);
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) { Fail(env, "bind"); return; }
    portid_ = mnl_socket_get_portid(nl_);
    const int fd = mnl_socket_get_fd(nl_);
    // A full socket buffer loses packets (the kernel counts them), not the socket.
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

    // Bind and configure in one message, acknowledged: a queue another program holds is EBUSY,
    // no privilege EPERM.
    char cfg[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = Header(cfg, NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK);
    nfqnl_msg_config_cmd cmd = {NFQNL_CFG_CMD_BIND, 0, 0};
    mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof cmd, &cmd);
    nfqnl_msg_config_params params = {htonl(0xffff), NFQNL_COPY_PACKET};
    mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof params, &params);
    if (maxlen > 0) mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
    const uint32_t mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
    const uint32_t flags = (failOpen ? NFQA_CFG_F_FAIL_OPEN : 0) | (gso ? NFQA_CFG_F_GSO : 0);
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    const int err = Acknowledged(nlh);
    if (err != 0) {
      errno = err;
      { Fail(env, "bind queue"); return; }
    }

    loop_ = nullptr;
    if (napi_get_uv_event_loop(env, &loop_) != napi_ok || loop_ == nullptr) { Fail(env, "event loop"); return; }
    poll_ = static_cast<uv_poll_t*>(malloc(sizeof(uv_poll_t)));
    poll_->data = this;
    if (uv_poll_init(loop_, poll_, fd) != 0) {
      free(poll_);
      poll_ = nullptr;
      { Fail(env, "poll"); return; }
    }
    uv_poll_start(poll_, UV_READABLE, OnReadable);
    env_ = env;
    async_ = std::make_unique<Napi::AsyncContext>(env, "palisade:nfqueue");
    // A worker thread that ends without close() (an uncaught exception): shut down while its
    // loop and environment still exist, not later from a finalizer.
    napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
    cleanupHook_ = true;
    // The poll keeps the queue alive while it is open.
    Ref();
  }

  ~Queue() override {
    RemoveCleanupHook();
    Shutdown();
  }

 private:
  static void OnEnvCleanup(void* data) {
    auto* self = static_cast<Queue*>(data);
    self->cleanupHook_ = false;
    self->Shutdown();
    self->async_.reset();
  }

  void RemoveCleanupHook() {
    if (!cleanupHook_) return;
    cleanupHook_ = false;
    napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  }

  void Fail(Napi::Env env, const char* what) {
    const int e = errno;
    Napi::Error err = Napi::Error::New(env, std::string(what) + ": " + strerror(e));
    err.Set("errno", Napi::Number::New(env, e));
    err.Set("syscall", Napi::String::New(env, what));
    if (nl_ != nullptr) {
      mnl_socket_close(nl_);
      nl_ = nullptr;
    }
    err.ThrowAsJavaScriptException();
  }

  nlmsghdr* Header(char* at, uint8_t type, uint16_t flags) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(at);
    nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = ++seq_;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(static_cast<uint16_t>(queue_));
    return nlh;
  }

  // Sends a request and waits (2 s at most) for its acknowledgement; 0 or an errno. A packet
  // that races the answer (traffic is already queued to this number) is accepted unjudged: the
  // queue is not ours to judge until this returns.
  int Acknowledged(nlmsghdr* nlh) {
    const uint32_t seq = nlh->nlmsg_seq;
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno;
    const int fd = mnl_socket_get_fd(nl_);
    timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<char> in(kSlot);
    int result = ETIMEDOUT;
    for (;;) {
      const ssize_t n = recv(fd, in.data(), in.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        result = errno == EAGAIN ? ETIMEDOUT : errno;
        break;
      }
      bool done = false;
      const nlmsghdr* m = reinterpret_cast<const nlmsghdr*>(in.data());
      int left = static_cast<int>(n);
      for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
        if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq && m->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          result = -e->error;
          done = true;
        } else if (m->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
          uint32_t fields[NFQB_FIELDS];
          if (nfqb_packet(reinterpret_cast<const uint8_t*>(m), 0, m->nlmsg_len, 0, fields)) SendOne(kKindSingle, fields[NFQB_ID], NF_ACCEPT);
        }
      }
      if (done) break;
    }
    tv = {0, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return result;
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Queue*>(handle->data);
    if (status < 0 || !(events & UV_READABLE) || self->nl_ == nullptr) return;
    self->Drain();
  }

  // Everything waiting, in batches of at most `slots_` datagrams, one JavaScript call each.
  void Drain() {
    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    const int fd = mnl_socket_get_fd(nl_);
    for (int round = 0; round < 4 && nl_ != nullptr; round++) {
      for (size_t i = 0; i < slots_; i++) {
        std::memset(&msgs_[i].msg_hdr, 0, sizeof(msghdr));
        msgs_[i].msg_hdr.msg_iov = &iovs_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(fd, msgs_.data(), static_cast<unsigned>(slots_), MSG_DONTWAIT, nullptr);
      if (n <= 0) {
        if (n < 0 && errno == ENOBUFS) counters_.enobufs++;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) counters_.recvErrors++;
        return;
      }
      counters_.datagrams += n;
      uint32_t packets = 0;
      nfqb_counts c = {};
      for (int i = 0; i < n; i++) {
        const int cut = (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        nfqb_parse(buf_, static_cast<size_t>(i) * kSlot, msgs_[i].msg_len, cut, meta_, metaRoom_, &packets, &c);
      }
      counters_.malformed += c.malformed;
      counters_.refused += c.errors;
      counters_.overflow += c.overflow;
      // A batch JavaScript failed on (or a thread being terminated): no more rounds for now.
      if (packets > 0 && !Deliver(env, packets)) return;
      // Fewer than the slots: the socket is empty for now.
      if (static_cast<size_t>(n) < slots_) return;
    }
  }

  // False when the callback failed: its packets got the fail verdict.
  bool Deliver(Napi::Env env, uint32_t packets) {
    counters_.received += packets;
    counters_.batches++;
    flushed_ = false;
    // MakeCallback, not Call: as for any I/O callback, the microtasks queued during the batch
    // (promise continuations of streamed rules, verdicts released by them) run when it returns.
    // Plain N-API calls, checked here: when a worker thread is terminated in the callback (the
    // rule watchdog), node-addon-api's wrappers would abort the process building an Error.
    napi_value count = nullptr;
    napi_value result = nullptr;
    napi_status st = napi_create_uint32(env, packets, &count);
    if (st == napi_ok) st = napi_make_callback(env, static_cast<napi_async_context>(*async_), Value(), onBatch_.Value(), 1, &count, &result);
    if (st == napi_ok) return true;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    counters_.callbackErrors++;
    // JavaScript's verdicts for this batch never left: the fail verdict for every packet.
    if (!flushed_) {
      for (uint32_t i = 0; i < packets; i++) SendOne(kKindSingle, meta_[i * NFQB_FIELDS + NFQB_ID], failVerdict_);
    }
    return false;
  }

  void PutVerdict(size_t& used, uint32_t kind, uint32_t id, uint32_t verdict) {
    nlmsghdr* nlh = Header(send_.data() + used, kind == kKindBatch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, NLM_F_REQUEST);
    nfqnl_msg_verdict_hdr vh = {htonl(verdict), htonl(id)};
    mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof vh, &vh);
    used += NLMSG_ALIGN(nlh->nlmsg_len);
    counters_.verdictMessages++;
    if (kind == kKindBatch) counters_.batchVerdicts++;
  }

  void Send(size_t used) {
    if (used == 0 || nl_ == nullptr) return;
    counters_.sends++;
    while (mnl_socket_sendto(nl_, send_.data(), used) < 0) {
      if (errno == EINTR) continue;
      counters_.sendErrors++;
      break;
    }
  }

  void SendOne(uint32_t kind, uint32_t id, uint32_t verdict) {
    size_t used = 0;
    PutVerdict(used, kind, id, verdict);
    Send(used);
  }

  // verdicts(n): sends the first n (kind, id, verdict) triples of the verdict array, in order.
  Napi::Value Verdicts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) {
      Napi::TypeError::New(env, "verdicts(count)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t n = info[0].As<Napi::Number>().Uint32Value();
    if (n > verdictRoom_) n = verdictRoom_;
    flushed_ = true;
    if (nl_ == nullptr) return env.Undefined();
    size_t used = 0, inSend = 0;
    for (size_t i = 0; i < n; i++) {
      const uint32_t* t = verdicts_ + i * 3;
      PutVerdict(used, t[0], t[1], t[2]);
      if (++inSend == kVerdictsPerSend) {
        Send(used);
        used = 0;
        inSend = 0;
      }
    }
    Send(used);
    return env.Undefined();
  }

  // verdictPayload(id, verdict, bytes): one NFQNL_MSG_VERDICT whose NFQA_PAYLOAD replaces the
  // packet (a segment palisade normalised), sent now. Its own message: a batch verdict cannot
  // carry a packet.
  Napi::Value VerdictPayload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBuffer()) {
      Napi::TypeError::New(env, "verdictPayload(id, verdict, bytes)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (nl_ == nullptr) return env.Undefined();
    const uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    const uint32_t verdict = info[1].As<Napi::Number>().Uint32Value();
    Napi::Buffer<char> bytes = info[2].As<Napi::Buffer<char>>();
    std::vector<char> msg(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg)) + 64 + MNL_ALIGN(bytes.Length()));
    nlmsghdr* nlh = Header(msg.data(), NFQNL_MSG_VERDICT, NLM_F_REQUEST);
    nfqnl_msg_verdict_hdr vh = {htonl(verdict), htonl(id)};
    mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof vh, &vh);
    mnl_attr_put(nlh, NFQA_PAYLOAD, bytes.Length(), bytes.Data());
    counters_.verdictMessages++;
    counters_.sends++;
    while (mnl_socket_sendto(nl_, msg.data(), nlh->nlmsg_len) < 0) {
      if (errno == EINTR) continue;
      counters_.sendErrors++;
      break;
    }
    return env.Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    const Counters& c = counters_;
    o.Set("received", c.received);
    o.Set("batches", c.batches);
    o.Set("datagrams", c.datagrams);
    o.Set("malformed", c.malformed);
    o.Set("refused", c.refused);
    o.Set("overflow", c.overflow);
    o.Set("enobufs", c.enobufs);
    o.Set("recvErrors", c.recvErrors);
    o.Set("sendErrors", c.sendErrors);
    o.Set("verdictMessages", c.verdictMessages);
    o.Set("batchVerdicts", c.batchVerdicts);
    o.Set("sends", c.sends);
    o.Set("callbackErrors", c.callbackErrors);
    return o;
  }

  Napi::Value PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portid_); }

  // Stops reading and closes the socket: the kernel drops what is still queued (give verdicts
  // first), and unbinds the queue.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    const bool wasOpen = poll_ != nullptr;
    RemoveCleanupHook();
    Shutdown();
    if (wasOpen) Unref();
    return info.Env().Undefined();
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      // Freed by libc's free: a worker thread's loop may run this callback after the thread's
      // environment has unloaded this addon, so it must not be code of ours.
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), reinterpret_cast<uv_close_cb>(reinterpret_cast<void (*)()>(free)));
      poll_ = nullptr;
    }
    if (nl_ != nullptr) {
      mnl_socket_close(nl_);
      nl_ = nullptr;
    }
  }

  Napi::Env env_ = nullptr;
  uint32_t queue_ = 0;
  uint32_t portid_ = 0;
  uint32_t seq_ = static_cast<uint32_t>(time(nullptr));
  mnl_socket* nl_ = nullptr;
  uv_loop_t* loop_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  uint8_t* buf_ = nullptr;
  size_t slots_ = 0;
  uint32_t* meta_ = nullptr;
  uint32_t metaRoom_ = 0;
  uint32_t* verdicts_ = nullptr;
  size_t verdictRoom_ = 0;
  uint32_t failVerdict_ = NF_DROP;
  bool flushed_ = false;
  bool cleanupHook_ = false;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<char> send_;
  Counters counters_;
  Napi::Reference<Napi::Buffer<uint8_t>> bufferRef_;
  Napi::Reference<Napi::Uint32Array> metaRef_;
  Napi::Reference<Napi::Uint32Array> verdictsRef_;
  Napi::FunctionReference onBatch_;
  std::unique_ptr<Napi::AsyncContext> async_;
};

// parse(datagram, cut, meta) → { packets, malformed, errors, overflow, other }: the batch parser
// alone, for the unit tests on recorded messages (test/io/nfqueue-batch.test.ts).
Napi::Value Parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[2].IsTypedArray()) {
    Napi::TypeError::New(env, "parse(datagram, cut, meta)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto dg = info[0].As<Napi::Buffer<uint8_t>>();
  auto meta = info[2].As<Napi::Uint32Array>();
  uint32_t n = 0;
  nfqb_counts c = {};
  nfqb_parse(dg.Data(), 0, dg.Length(), info[1].ToBoolean() ? 1 : 0, meta.Data(), static_cast<uint32_t>(meta.ElementLength() / NFQB_FIELDS), &n, &c);
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", c.packets);
  o.Set("malformed", c.malformed);
  o.Set("errors", c.errors);
  o.Set("overflow", c.overflow);
  o.Set("other", c.other);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Queue", Queue::Define(env));
  exports.Set("parse", Napi::Function::New<Parse>(env, "parse"));
  exports.Set("slotSize", Napi::Number::New(env, static_cast<double>(kSlot)));
  exports.Set("metaFields", Napi::Number::New(env, NFQB_FIELDS));
  return exports;
}

}  // namespace

NODE_API_MODULE(palisade_nfqueue, Init)
