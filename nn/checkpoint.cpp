// Safetensors read/write (format and guarantees in checkpoint.h).
#include <polygrad/nn/checkpoint.h>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/nn/json.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <numeric>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polygrad::nn {

// The data section is the in-memory representation copied byte for byte.
static_assert(std::endian::native == std::endian::little,
              "checkpoint.cpp assumes a little-endian host (safetensors is little-endian)");

namespace {

// safetensors' own limit: a header larger than this is refused unread.
constexpr uint64_t kMaxHeader = 100'000'000;

std::atomic<int64_t> g_fault_after{-1};
std::atomic<bool> g_fault_crash{false};

const char *st_dtype(DType d) { return d == DType::Float32 ? "F32" : "I64"; }

std::string errno_str() { return std::strerror(errno); }

// ---------------------------------------------------------------- writing --

// Owns the temporary file: removed on destruction unless committed.
class AtomicFile {
public:
  AtomicFile(const std::string &path) : path_(path) {
    static std::atomic<uint64_t> counter{0};
    tmp_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    PG_CHECK(fd_ >= 0, "save: ", path, ": cannot create the temporary file '", tmp_,
             "': ", errno_str());
  }
  ~AtomicFile() {
    if (fd_ >= 0)
      ::close(fd_);
    if (!committed_)
      ::unlink(tmp_.c_str());
  }
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  void write(const void *data, size_t n) {
    const char *p = static_cast<const char *>(data);
    while (n > 0) {
      size_t chunk = std::min<size_t>(n, size_t(1) << 30);
      const int64_t fault = g_fault_after.load();
      if (fault >= 0) {
        if (written_ >= fault) {
          if (g_fault_crash.load())
            ::raise(SIGKILL); // a real crash: no destructor, no cleanup
          throw Error("save: " + path_ + ": write failed: injected fault after " +
                      std::to_string(written_) + " bytes");
        }
        chunk = std::min<size_t>(chunk, size_t(fault - written_));
      }
      const ssize_t w = ::write(fd_, p, chunk);
      if (w < 0 && errno == EINTR)
        continue;
      PG_CHECK(w > 0, "save: ", path_, ": write to '", tmp_,
               "' failed: ", w < 0 ? errno_str() : std::string("no progress"));
      p += w;
      n -= size_t(w);
      written_ += w;
    }
  }

  // fsync, close, rename over the destination, fsync the directory.
  void commit() {
    PG_CHECK(::fsync(fd_) == 0, "save: ", path_, ": fsync of '", tmp_, "' failed: ", errno_str());
    const int fd = fd_;
    fd_ = -1;
    PG_CHECK(::close(fd) == 0, "save: ", path_, ": close of '", tmp_, "' failed: ", errno_str());
    PG_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, "save: ", path_, ": cannot rename '", tmp_,
             "' over it: ", errno_str());
    committed_ = true;
    // Make the rename itself durable. Best effort: some filesystems refuse
    // to fsync a directory, and the new file is complete either way.
    const size_t slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }

private:
  std::string path_, tmp_;
  int fd_ = -1;
  int64_t written_ = 0;
  bool committed_ = false;
};

// ---------------------------------------------------------------- reading --

class Reader {
public:
  explicit Reader(const std::string &path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    PG_CHECK(fd_ >= 0, "load: ", path, ": cannot open: ", errno_str());
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw Error("load: " + path + ": not a regular file");
    }
    size_ = uint64_t(st.st_size);
  }
  ~Reader() { ::close(fd_); }
  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;

  uint64_t size() const { return size_; }
  void read(void *out, size_t n, const std::string &what) {
    char *p = static_cast<char *>(out);
    while (n > 0) {
      const ssize_t r = ::read(fd_, p, std::min<size_t>(n, size_t(1) << 30));
      if (r < 0 && errno == EINTR)
        continue;
      PG_CHECK(r > 0, "load: ", path_, ": reading ", what, " failed: ",
               r < 0 ? errno_str() : std::string("unexpected end of file (truncated)"));
      p += r;
      n -= size_t(r);
    }
  }

private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

std::string offsets_str(uint64_t b, uint64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + "]";
}

// Validates one tensor entry of the header; `where` prefixes errors.
Entry parse_entry(const std::string &name, const json::Value &v, uint64_t data_len,
                  const std::string &where) {
  using K = json::Value::Kind;
  const std::string at = where + "tensor '" + name + "': ";
  PG_CHECK(v.kind == K::Object, at, "header entry must be an object, got ",
           json::kind_name(v.kind));
  for (const auto &[k, x] : v.object)
    PG_CHECK(k == "dtype" || k == "shape" || k == "data_offsets", at, "unknown field '", k,
             "' (valid: dtype, shape, data_offsets)");
  const json::Value *dt = v.find("dtype"), *sh = v.find("shape"), *off = v.find("data_offsets");
  PG_CHECK(dt && sh && off, at, "missing field '",
           !dt   ? "dtype"
           : !sh ? "shape"
                 : "data_offsets",
           "'");
  PG_CHECK(dt->kind == K::String, at, "dtype must be a string, got ", json::kind_name(dt->kind));
  Entry e{name, DType::Float32, {}, 0, 0};
  if (dt->text == "F32")
    e.dtype = DType::Float32;
  else if (dt->text == "I64")
    e.dtype = DType::Int64;
  else
    throw Error(at + "dtype '" + dt->text + "' is not supported (valid: F32, I64)");

  PG_CHECK(sh->kind == K::Array, at, "shape must be an array, got ", json::kind_name(sh->kind));
  const uint64_t esize = dtype_size(e.dtype);
  // span: the product with zeros counted as 1 (what the strides need), so a
  // zero dim cannot hide absurd other dims: [0, 2^60, 2^60] is rejected here.
  uint64_t numel = 1, span = 1;
  for (const json::Value &d : sh->array) {
    uint64_t n = 0;
    PG_CHECK(d.as_uint64(n), at, "shape entries must be non-negative integers, got ",
             d.kind == K::Number ? d.text : json::kind_name(d.kind));
    // Bound each dim and every product, so numel * esize cannot overflow.
    const uint64_t n1 = std::max<uint64_t>(n, 1);
    PG_CHECK(n <= (uint64_t(1) << 60) && span <= (uint64_t(1) << 60) / esize / n1, at,
             "shape is too large (dim ", d.text, ")");
    span *= n1;
    numel *= n;
    e.shape.push_back(int64_t(n));
  }

  PG_CHECK(off->kind == K::Array && off->array.size() == 2, at,
           "data_offsets must be an array [begin, end]");
  PG_CHECK(off->array[0].as_uint64(e.begin) && off->array[1].as_uint64(e.end), at,
           "data_offsets must be non-negative integers");
  PG_CHECK(e.begin <= e.end, at, "data_offsets ", offsets_str(e.begin, e.end), " has begin > end");
  PG_CHECK(e.end <= data_len, at, "data_offsets ", offsets_str(e.begin, e.end),
           " out of range: the data section has only ", data_len, " bytes (truncated file?)");
  PG_CHECK(e.end - e.begin == numel * esize, at, "data_offsets ", offsets_str(e.begin, e.end),
           " span ", e.end - e.begin, " bytes but shape ", shape_str(e.shape), " of ", dt->text,
           " needs ", numel * esize);
  PG_CHECK(e.begin % esize == 0, at, "data_offsets ", offsets_str(e.begin, e.end),
           " misaligned: begin is not a multiple of the ", esize, "-byte element size");
  return e;
}

} // namespace

namespace detail {
void set_save_fault(int64_t after_bytes, bool crash) {
  g_fault_crash = crash;
  g_fault_after = after_bytes;
}
} // namespace detail

void save_safetensors(const StateDict &sd, const std::string &path) {
  PG_CHECK(!path.empty() && path.back() != '/', "save: invalid path '", path, "'");
  std::set<std::string> seen;
  for (const auto &[name, t] : sd.tensors) {
    PG_CHECK(!name.empty() && name != "__metadata__", "save: ", path, ": invalid tensor name '",
             name, "'");
    PG_CHECK(seen.insert(name).second, "save: ", path, ": duplicate tensor name '", name, "'");
    PG_CHECK(t.defined(), "save: ", path, ": tensor '", name, "' is undefined");
  }
  // Larger elements first (stable), so every tensor starts aligned to its
  // element size, like the safetensors package's writer.
  std::vector<size_t> order(sd.tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(sd.tensors[a].second.dtype()) > dtype_size(sd.tensors[b].second.dtype());
  });

  std::string header = "{";
  if (!sd.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[k, v] : sd.metadata) {
      header += first ? "" : ",";
      header += json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (size_t i : order) {
    const auto &[name, t] = sd.tensors[i];
    const uint64_t nbytes = uint64_t(t.numel()) * dtype_size(t.dtype());
    if (header.size() > 1)
      header += ",";
    header += json::quote(name) + ":{\"dtype\":\"" + st_dtype(t.dtype()) + "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) {
      header += d ? "," : "";
      header += std::to_string(t.shape()[d]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  AtomicFile f(path);
  const uint64_t n = header.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = (unsigned char)(n >> (8 * i));
  f.write(len, 8);
  f.write(header.data(), header.size());
  for (size_t i : order) {
    const Tensor c = sd.tensors[i].second.contiguous();
    const size_t nbytes = size_t(c.numel()) * dtype_size(c.dtype());
    if (c.dtype() == DType::Float32)
      f.write(c.data<float>(), nbytes);
    else
      f.write(c.data<int64_t>(), nbytes);
  }
  f.commit();
}

StateDict load_safetensors(const std::string &path) {
  const std::string where = "load: " + path + ": ";
  Reader r(path);
  PG_CHECK(r.size() >= 8, where, "file has ", r.size(),
           " bytes, too short for the 8-byte header length (truncated or not safetensors)");
  unsigned char len[8];
  r.read(len, 8, "the header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= uint64_t(len[i]) << (8 * i);
  PG_CHECK(n <= kMaxHeader, where, "header length ", n, " is larger than the ", kMaxHeader,
           "-byte limit (not a safetensors file?)");
  PG_CHECK(n <= r.size() - 8, where, "header length ", n, " exceeds the ", r.size() - 8,
           " bytes after the length field (truncated file?)");
  std::string text(n, '\0');
  r.read(text.data(), n, "the header");
  const uint64_t data_len = r.size() - 8 - n;

  json::Value head;
  try {
    head = json::parse(text);
  } catch (const Error &e) {
    throw Error(where + "header is not valid JSON: " + e.what());
  }
  PG_CHECK(head.kind == json::Value::Kind::Object, where, "header must be a JSON object, got ",
           json::kind_name(head.kind));

  StateDict sd;
  std::vector<Entry> entries;
  for (const auto &[k, v] : head.object) {
    if (k == "__metadata__") {
      PG_CHECK(v.kind == json::Value::Kind::Object, where,
               "__metadata__ must be an object of strings, got ", json::kind_name(v.kind));
      for (const auto &[mk, mv] : v.object) {
        PG_CHECK(mv.kind == json::Value::Kind::String, where, "__metadata__ '", mk,
                 "' must be a string, got ", json::kind_name(mv.kind));
        sd.metadata[mk] = mv.text;
      }
      continue;
    }
    PG_CHECK(!k.empty(), where, "empty tensor name in the header");
    entries.push_back(parse_entry(k, v, data_len, where));
  }

  // The tensors must tile the data section: sorted by offset, each starts
  // where the previous one ended, and the last ends at the end of the file.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry &e = entries[i];
    PG_CHECK(e.begin >= pos, where, "tensor '", e.name, "': data_offsets ",
             offsets_str(e.begin, e.end), " overlap tensor '", entries[i - 1].name, "' (",
             offsets_str(entries[i - 1].begin, entries[i - 1].end), ")");
    PG_CHECK(e.begin == pos, where, "tensor '", e.name, "': data_offsets ",
             offsets_str(e.begin, e.end), " leave a hole: bytes [", pos, ", ", e.begin,
             ") belong to no tensor");
    pos = e.end;
  }
  PG_CHECK(pos == data_len, where, "the data section has ", data_len - pos,
           " bytes after the last tensor (", data_len, " in all, ", pos, " used)");

  for (const Entry &e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    const size_t nbytes = e.end - e.begin;
    if (e.dtype == DType::Float32)
      r.read(t.data<float>(), nbytes, "tensor '" + e.name + "'");
    else
      r.read(t.data<int64_t>(), nbytes, "tensor '" + e.name + "'");
    sd.tensors.push_back({e.name, t});
  }
  return sd;
}

void save(const Module &m, const std::string &path, const Metadata &metadata) {
  StateDict sd = m.state_dict();
  sd.metadata = metadata;
  sd.metadata.emplace("format", "pt");
  save_safetensors(sd, path);
}

Metadata load(Module &m, const std::string &path, bool strict) {
  StateDict sd = load_safetensors(path);
  try {
    m.load_state_dict(sd, strict);
  } catch (const Error &e) {
    throw Error("nn::load: " + path + ": " + e.what());
  }
  return sd.metadata;
}

} // namespace polygrad::nn
