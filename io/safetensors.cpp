// Safetensors read/write (format and guarantees in safetensors.h).
#include <polygrad/io/safetensors.h>

#include <polygrad/io/atomic_file.h>
#include <polygrad/io/detail/json.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polygrad::io {

// The data section is the in-memory representation copied byte for byte.
static_assert(std::endian::native == std::endian::little,
              "safetensors.cpp assumes a little-endian host (safetensors is little-endian)");

namespace {

// safetensors' own limit: a header larger than this is refused unread.
constexpr uint64_t kMaxHeader = 100'000'000;

std::string errno_str() { return std::strerror(errno); }

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
Entry parse_entry(const std::string &name, const nlohmann::json &v, uint64_t data_len,
                  const std::string &where) {
  const std::string at = where + "tensor '" + name + "': ";
  PG_CHECK(v.is_object(), at, "header entry must be an object, got ", v.type_name());
  for (const auto &[k, x] : v.items())
    PG_CHECK(k == "dtype" || k == "shape" || k == "data_offsets", at, "unknown field '", k,
             "' (valid: dtype, shape, data_offsets)");
  for (const char *field : {"dtype", "shape", "data_offsets"})
    PG_CHECK(v.contains(field), at, "missing field '", field, "'");
  const nlohmann::json &dt = v.at("dtype"), &sh = v.at("shape"), &off = v.at("data_offsets");
  PG_CHECK(dt.is_string(), at, "dtype must be a string, got ", dt.type_name());
  const std::string &dtype = dt.get_ref<const std::string &>();
  Entry e{name, DType::Float32, {}, 0, 0};
  if (dtype == "F32")
    e.dtype = DType::Float32;
  else if (dtype == "I64")
    e.dtype = DType::Int64;
  else
    throw Error(at + "dtype '" + dtype + "' is not supported (valid: F32, I64)");

  PG_CHECK(sh.is_array(), at, "shape must be an array, got ", sh.type_name());
  const uint64_t esize = dtype_size(e.dtype);
  // span: the product with zeros counted as 1 (what the strides need), so a
  // zero dim cannot hide absurd other dims: [0, 2^60, 2^60] is rejected here.
  uint64_t numel = 1, span = 1;
  for (const nlohmann::json &d : sh) {
    PG_CHECK(d.is_number_unsigned(), at, "shape entries must be non-negative integers, got ",
             d.is_number() ? d.dump() : d.type_name());
    const uint64_t n = d.get<uint64_t>();
    // Bound each dim and every product, so numel * esize cannot overflow.
    const uint64_t n1 = std::max<uint64_t>(n, 1);
    PG_CHECK(n <= (uint64_t(1) << 60) && span <= (uint64_t(1) << 60) / esize / n1, at,
             "shape is too large (dim ", n, ")");
    span *= n1;
    numel *= n;
    e.shape.push_back(int64_t(n));
  }

  PG_CHECK(off.is_array() && off.size() == 2, at, "data_offsets must be an array [begin, end]");
  PG_CHECK(off[0].is_number_unsigned() && off[1].is_number_unsigned(), at,
           "data_offsets must be non-negative integers");
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  PG_CHECK(e.begin <= e.end, at, "data_offsets ", offsets_str(e.begin, e.end), " has begin > end");
  PG_CHECK(e.end <= data_len, at, "data_offsets ", offsets_str(e.begin, e.end),
           " out of range: the data section has only ", data_len, " bytes (truncated file?)");
  PG_CHECK(e.end - e.begin == numel * esize, at, "data_offsets ", offsets_str(e.begin, e.end),
           " span ", e.end - e.begin, " bytes but shape ", shape_str(e.shape), " of ", dtype,
           " needs ", numel * esize);
  PG_CHECK(e.begin % esize == 0, at, "data_offsets ", offsets_str(e.begin, e.end),
           " misaligned: begin is not a multiple of the ", esize, "-byte element size");
  return e;
}

} // namespace

const char *safetensors_dtype(DType d) { return d == DType::Float32 ? "F32" : "I64"; }

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

  // Written by hand, not dumped from a nlohmann::json (whose objects sort
  // their keys): the header lists the tensors in data order, as the
  // safetensors package's writer does.
  const auto quote = [&](const std::string &s) {
    try {
      return quote_json(s);
    } catch (const Error &e) {
      throw Error("save: " + path + ": '" + s + "': " + e.what());
    }
  };
  std::string header = "{";
  if (!sd.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[k, v] : sd.metadata) {
      header += first ? "" : ",";
      header += quote(k) + ":" + quote(v);
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
    header += quote(name) + ":{\"dtype\":\"" + safetensors_dtype(t.dtype()) + "\",\"shape\":[";
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

  nlohmann::json head;
  try {
    head = parse_json(text);
  } catch (const Error &e) {
    throw Error(where + "header is not valid JSON: " + e.what());
  }
  PG_CHECK(head.is_object(), where, "header must be a JSON object, got ", head.type_name());

  StateDict sd;
  std::vector<Entry> entries;
  for (const auto &[k, v] : head.items()) {
    if (k == "__metadata__") {
      PG_CHECK(v.is_object(), where, "__metadata__ must be an object of strings, got ",
               v.type_name());
      for (const auto &[mk, mv] : v.items()) {
        PG_CHECK(mv.is_string(), where, "__metadata__ '", mk, "' must be a string, got ",
                 mv.type_name());
        sd.metadata[mk] = mv.get<std::string>();
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

} // namespace polygrad::io
