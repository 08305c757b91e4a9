// nn::save / nn::load (safetensors): round trip, the file layout, every
// corrupt-file case with its message (model unchanged), name/shape/dtype
// mismatches, and atomic writes (errors and a real crash mid-save).
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/random.h>
#include <polygrad/io/detail/json.h>
#include <polygrad/io/detail/write_fault.h>
#include <polygrad/nn/checkpoint.h>
#include <polygrad/nn/sequential.h>

namespace pg = polygrad;
namespace io = polygrad::io;
namespace nn = polygrad::nn;
namespace fs = std::filesystem;

namespace {

// Tiny stand-ins for the nn layers, so these tests depend only on Module.
struct TLinear : nn::Module {
  pg::Tensor weight, bias;
  TLinear(int64_t in, int64_t out) {
    weight = register_parameter("weight", pg::randn({out, in}) * 0.5f);
    bias = register_parameter("bias", pg::randn({out}) * 0.1f);
  }
  pg::Tensor forward(const pg::Tensor &x) override { return pg::matmul(x, weight.t()) + bias; }
  std::string name() const override { return "Linear"; }
};

struct TBatchNorm : nn::Module { // eval-mode BatchNorm1d
  pg::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  explicit TBatchNorm(int64_t c) {
    weight = register_parameter("weight", pg::ones({c}));
    bias = register_parameter("bias", pg::zeros({c}));
    running_mean = register_buffer("running_mean", pg::zeros({c}));
    running_var = register_buffer("running_var", pg::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", pg::zeros({}, pg::DType::Int64));
  }
  pg::Tensor forward(const pg::Tensor &x) override {
    return (x - running_mean) / pg::sqrt(running_var + 1e-5f) * weight + bias;
  }
  std::string name() const override { return "BatchNorm1d"; }
};

struct TReLU : nn::Module {
  pg::Tensor forward(const pg::Tensor &x) override { return pg::relu(x); }
  std::string name() const override { return "ReLU"; }
};

// features = [Linear(4,3), BatchNorm1d(3), ReLU, Linear(3,5)], head = Linear(5,2):
// names "features.0.weight", ..., "features.1.num_batches_tracked", "head.bias".
struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<TLinear> head;
  Net() {
    features = register_module(
        "features",
        std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            std::make_shared<TLinear>(4, 3), std::make_shared<TBatchNorm>(3),
            std::make_shared<TReLU>(), std::make_shared<TLinear>(3, 5)}));
    head = register_module("head", std::make_shared<TLinear>(5, 2));
  }
  pg::Tensor forward(const pg::Tensor &x) override { return head->forward(features->forward(x)); }
  std::string name() const override { return "Net"; }
};

// One float parameter "w" [2] and an int64 buffer "count" [].
struct Pair : nn::Module {
  pg::Tensor w, count;
  Pair() {
    w = register_parameter("w", pg::from_vector({1.5f, -2.5f}, {2}));
    count = register_buffer("count", pg::zeros({}, pg::DType::Int64));
    *count.data<int64_t>() = 7;
  }
  std::string name() const override { return "Pair"; }
};

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("pg_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string &f) const { return (path / f).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (auto &e : fs::directory_iterator(path))
      v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
};

std::string read_bytes(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void write_bytes(const std::string &p, const std::string &b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(b.data(), std::streamsize(b.size()));
}
std::string u64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[i] = char((n >> (8 * i)) & 0xff);
  return s;
}
// A safetensors file from a header text and raw data (header space-padded).
std::string make_file(std::string header, const std::string &data, bool pad = true) {
  if (pad)
    header.append((8 - header.size() % 8) % 8, ' ');
  return u64(header.size()) + header + data;
}
template <class T> std::string raw(std::vector<T> v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}
// Pair's valid data: count (I64) at [0, 8), w (F32 [2]) at [8, 16).
const std::string kPairData = raw<int64_t>({11}) + raw<float>({0.25f, 0.75f});
std::string pair_header(const std::string &count_entry, const std::string &w_entry) {
  return "{\"count\":" + count_entry + ",\"w\":" + w_entry + "}";
}
const std::string kCount = R"({"dtype":"I64","shape":[],"data_offsets":[0,8]})";
const std::string kW = R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})";

std::vector<std::vector<float>> params_of(const nn::Module &m) {
  std::vector<std::vector<float>> v;
  for (auto &[n, t] : m.state_dict())
    if (t.dtype() == pg::DType::Float32)
      v.push_back(t.to_vector());
    else
      v.push_back({float(t.to_vector<int64_t>()[0])});
  return v;
}

} // namespace

TEST_CASE("checkpoint: save/load round trip restores parameters + buffers + predictions",
          "[checkpoint]") {
  TempDir dir;
  pg::manual_seed(3);
  Net a;
  {
    pg::NoGradGuard ng; // non-trivial buffers
    auto bn = std::static_pointer_cast<TBatchNorm>((*a.features)[1]);
    bn->running_mean.copy_(pg::from_vector({0.1f, -0.2f, 0.3f}, {3}));
    bn->running_var.copy_(pg::from_vector({1.5f, 0.5f, 2.0f}, {3}));
    *bn->num_batches_tracked.data<int64_t>() = 123;
  }
  const pg::Tensor x = pg::randn({6, 4});
  const auto y = a.forward(x).to_vector();
  const std::string path = dir / "net.safetensors";
  nn::save(a, path, {{"epoch", "3"}});
  CHECK(dir.files() == std::vector<std::string>{"net.safetensors"}); // no temporary left

  Net b; // different random init
  CHECK(b.forward(x).to_vector() != y);
  const auto meta = nn::load(b, path);
  CHECK(meta.at("epoch") == "3");
  CHECK(meta.at("format") == "pt");
  CHECK(params_of(b) == params_of(a));
  CHECK(b.forward(x).to_vector() == y);
  auto bn = std::static_pointer_cast<TBatchNorm>((*b.features)[1]);
  CHECK(bn->num_batches_tracked.to_vector<int64_t>()[0] == 123);
  // Parameters stay leaves that require grad, and train afterwards.
  for (auto &p : b.parameters())
    CHECK((p.requires_grad() && p.is_leaf()));
  b.forward(x).sum().backward();
  CHECK(b.head->weight.grad().defined());

  // Modify, save again over the same path (atomic replace), load back.
  {
    pg::NoGradGuard ng;
    a.head->bias.fill_(9.f);
  }
  nn::save(a, path);
  nn::load(b, path);
  CHECK(b.head->bias.to_vector() == std::vector<float>{9.f, 9.f});
}

TEST_CASE("checkpoint: the file follows the safetensors layout", "[checkpoint]") {
  TempDir dir;
  Pair m;
  const std::string path = dir / "pair.safetensors";
  nn::save(m, path);
  const std::string b = read_bytes(path);
  REQUIRE(b.size() >= 8);
  uint64_t n = 0;
  std::memcpy(&n, b.data(), 8); // little-endian host (static_assert in checkpoint.cpp)
  CHECK(n % 8 == 0);
  REQUIRE(8 + n + 16 == b.size());
  const std::string header = b.substr(8, n);
  const auto h = io::parse_json(header);
  REQUIRE(h.is_object());
  CHECK(h.at("__metadata__") == nlohmann::json{{"format", "pt"}});
  // int64 first (alignment), then float32, packed back to back; the header
  // lists them in that order too, as the safetensors package writes it.
  CHECK(h.at("count") ==
        nlohmann::json::parse(R"({"dtype":"I64","shape":[],"data_offsets":[0,8]})"));
  CHECK(h.at("w") == nlohmann::json::parse(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})"));
  CHECK(header.find("\"count\"") < header.find("\"w\""));
  CHECK(b.substr(8 + n) == raw<int64_t>({7}) + raw<float>({1.5f, -2.5f}));
}

TEST_CASE("checkpoint: corrupt files are rejected with a clear error and the model unchanged",
          "[checkpoint]") {
  TempDir dir;
  struct Case {
    const char *what;
    std::string bytes;
    std::vector<std::string> message;
  };
  const std::string W3 = R"({"dtype":"F32","shape":[2],"data_offsets":)";
  const std::string full = make_file(pair_header(kCount, kW), kPairData);
  std::vector<Case> cases = {
      {"too short", "abc", {"file has 3 bytes, too short"}},
      {"header length beyond the file",
       u64(1000) + "{}      ",
       {"header length 1000 exceeds the 8 bytes"}},
      {"absurd header length",
       u64(uint64_t(1) << 40) + "{}",
       {"larger than the 100000000-byte limit"}},
      {"header not JSON",
       make_file("{not json}", ""),
       {"header is not valid JSON", "invalid literal", "at byte 2"}},
      {"header not an object",
       make_file("[1, 2]", ""),
       {"header must be a JSON object, got array"}},
      {"content after the JSON",
       make_file(pair_header(kCount, kW) + " x", kPairData),
       {"not valid JSON", "expected end of input"}},
      {"duplicate name",
       make_file("{\"w\":" + kW + ",\"w\":" + kW + "}", kPairData),
       {"duplicate key \"w\""}},
      {"entry not an object",
       make_file(pair_header(kCount, "3"), kPairData),
       {"tensor 'w': header entry must be an object, got number"}},
      {"missing field",
       make_file(pair_header(kCount, R"({"dtype":"F32","shape":[2]})"), kPairData),
       {"tensor 'w': missing field 'data_offsets'"}},
      {"unknown field",
       make_file(
           pair_header(kCount, R"({"dtype":"F32","shape":[2],"data_offsets":[8,16],"foo":1})"),
           kPairData),
       {"tensor 'w': unknown field 'foo'"}},
      {"dtype not a string",
       make_file(pair_header(kCount, R"({"dtype":4,"shape":[2],"data_offsets":[8,16]})"),
                 kPairData),
       {"tensor 'w': dtype must be a string, got number"}},
      {"unsupported dtype",
       make_file(pair_header(kCount, R"({"dtype":"F16","shape":[4],"data_offsets":[8,16]})"),
                 kPairData),
       {"tensor 'w': dtype 'F16' is not supported (valid: F32, I64)"}},
      {"negative dim",
       make_file(pair_header(kCount, R"({"dtype":"F32","shape":[-2],"data_offsets":[8,16]})"),
                 kPairData),
       {"tensor 'w': shape entries must be non-negative integers, got -2"}},
      {"fractional dim",
       make_file(pair_header(kCount, R"({"dtype":"F32","shape":[2.0],"data_offsets":[8,16]})"),
                 kPairData),
       {"tensor 'w': shape entries must be non-negative integers, got 2.0"}},
      {"huge dim next to a zero dim",
       make_file(
           pair_header(kCount,
                       R"({"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[8,16]})"),
           kPairData),
       {"tensor 'w': shape is too large (dim 18446744073709551615)"}},
      {"zero dim hiding two 2^60 dims (their strides overflow)",
       make_file(
           pair_header(
               kCount,
               R"({"dtype":"F32","shape":[0,1152921504606846976,1152921504606846976],"data_offsets":[8,8]})"),
           kPairData),
       {"tensor 'w': shape is too large (dim 1152921504606846976)"}},
      {"overflowing element count",
       make_file(
           pair_header(kCount,
                       R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[8,16]})"),
           kPairData),
       {"tensor 'w': shape is too large"}},
      {"shape not an array",
       make_file(pair_header(kCount, R"({"dtype":"F32","shape":2,"data_offsets":[8,16]})"),
                 kPairData),
       {"tensor 'w': shape must be an array, got number"}},
      {"offsets arity",
       make_file(pair_header(kCount, W3 + "[8]}"), kPairData),
       {"tensor 'w': data_offsets must be an array [begin, end]"}},
      {"offsets not integers",
       make_file(pair_header(kCount, W3 + "[8,\"16\"]}"), kPairData),
       {"tensor 'w': data_offsets must be non-negative integers"}},
      {"begin after end",
       make_file(pair_header(kCount, W3 + "[16,8]}"), kPairData),
       {"tensor 'w': data_offsets [16, 8] has begin > end"}},
      {"offset out of range",
       make_file(pair_header(kCount, W3 + "[8,24]}"), kPairData),
       {"tensor 'w': data_offsets [8, 24] out of range: the data section has only 16 bytes"}},
      {"size does not match the shape",
       make_file(pair_header(kCount, R"({"dtype":"F32","shape":[3],"data_offsets":[8,16]})"),
                 kPairData),
       {"tensor 'w': data_offsets [8, 16] span 8 bytes but shape [3] of F32 needs 12"}},
      {"misaligned",
       make_file(pair_header(R"({"dtype":"I64","shape":[],"data_offsets":[4,12]})",
                             R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})"),
                 kPairData),
       {"tensor 'count': data_offsets [4, 12] misaligned: begin is not a multiple of the 8-byte "
        "element size"}},
      {"overlap",
       make_file(pair_header(kCount, W3 + "[4,12]}"), kPairData),
       {"tensor 'w': data_offsets [4, 12] overlap tensor 'count' ([0, 8])"}},
      {"hole",
       make_file(pair_header(kCount, W3 + "[12,20]}"), kPairData + "1234"),
       {"tensor 'w': data_offsets [12, 20] leave a hole: bytes [8, 12) belong to no tensor"}},
      {"trailing bytes",
       make_file(pair_header(kCount, kW), kPairData + "xyz"),
       {"the data section has 3 bytes after the last tensor"}},
      {"metadata value not a string",
       make_file(R"({"__metadata__":{"epoch":3},"count":)" + kCount + ",\"w\":" + kW + "}",
                 kPairData),
       {"__metadata__ 'epoch' must be a string, got number"}},
      // A valid file cut 3 bytes short, inside w's data.
      {"truncated data",
       full.substr(0, full.size() - 3),
       {"tensor 'w': data_offsets [8, 16] out of range: the data section has only 13 bytes",
        "(truncated file?)"}},
  };

  for (const Case &c : cases) {
    DYNAMIC_SECTION(c.what) {
      const std::string path = dir / "bad.safetensors";
      write_bytes(path, c.bytes);
      Pair m;
      const auto before = params_of(m);
      try {
        nn::load(m, path);
        FAIL("loaded a corrupt file: " << c.what);
      } catch (const pg::Error &e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find(path) != std::string::npos); // names the file
        for (const auto &piece : c.message)
          CHECK(msg.find(piece) != std::string::npos);
      }
      CHECK(params_of(m) == before);
    }
  }
  SECTION("the valid version of these files loads") {
    const std::string path = dir / "good.safetensors";
    write_bytes(path, make_file(pair_header(kCount, kW), kPairData));
    Pair m;
    nn::load(m, path);
    CHECK(m.w.to_vector() == std::vector<float>{0.25f, 0.75f});
    CHECK(m.count.to_vector<int64_t>()[0] == 11);
  }
  SECTION("a missing file and a directory") {
    Pair m;
    CHECK_THROWS_WITH(nn::load(m, dir / "nope.safetensors"),
                      Catch::Contains("nope.safetensors: cannot open"));
    CHECK_THROWS_WITH(nn::load(m, dir.path.string()), Catch::Contains("not a regular file"));
  }
}

TEST_CASE("checkpoint: name or shape or dtype mismatches with the model", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir / "x.safetensors";
  auto expect = [&](const std::string &bytes, bool strict, const std::vector<std::string> &pieces) {
    write_bytes(path, bytes);
    Pair m;
    const auto before = params_of(m);
    try {
      nn::load(m, path, strict);
      FAIL("no error");
    } catch (const pg::Error &e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find(path) != std::string::npos);
      for (auto &p : pieces)
        CHECK(msg.find(p) != std::string::npos);
    }
    CHECK(params_of(m) == before);
  };
  const std::string only_w = make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                       raw<float>({0.25f, 0.75f}));
  expect(only_w, true, {"missing from the state dict: 'count'", "nothing was loaded"});
  const std::string extra =
      make_file(pair_header(kCount, kW).substr(0, pair_header(kCount, kW).size() - 1) +
                    R"(,"extra":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})",
                kPairData + raw<float>({1.f}));
  expect(extra, true, {"unexpected in the state dict: 'extra'"});
  expect(make_file(pair_header(kCount, R"({"dtype":"F32","shape":[1,2],"data_offsets":[8,16]})"),
                   kPairData),
         false, {"tensor 'w': shape [1, 2] in the state dict but [2] in the model"});
  expect(
      make_file(pair_header(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", kW), kPairData),
      false, {"tensor 'count': dtype float32 in the state dict but int64 in the model"});

  SECTION("non-strict loads the names both have") {
    write_bytes(path, extra);
    Pair m;
    nn::load(m, path, false);
    CHECK(m.w.to_vector() == std::vector<float>{0.25f, 0.75f});
    write_bytes(path, only_w);
    Pair m2;
    nn::load(m2, path, false);
    CHECK(m2.count.to_vector<int64_t>()[0] == 7); // untouched
    CHECK(m2.w.to_vector() == std::vector<float>{0.25f, 0.75f});
  }
}

TEST_CASE("checkpoint: writes are atomic", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir / "model.safetensors";
  Net a;
  nn::save(a, path);
  const std::string old_bytes = read_bytes(path);
  Net b; // different values: a save of b would change the file
  REQUIRE(params_of(b) != params_of(a));

  SECTION("an I/O error mid-write keeps the previous checkpoint and removes the temporary") {
    for (int64_t after : {0, 5, 8, 100, 300}) {
      io::detail::set_write_fault(after);
      CHECK_THROWS_WITH(nn::save(b, path),
                        Catch::Contains("write failed") && Catch::Contains(path));
      io::detail::set_write_fault(-1);
      CHECK(read_bytes(path) == old_bytes);
      CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});
    }
    Net c;
    nn::load(c, path);
    CHECK(params_of(c) == params_of(a));
  }
  SECTION("a crash (SIGKILL) mid-write keeps the previous checkpoint") {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) { // child: die after writing 200 bytes of the new file
      io::detail::set_write_fault(200, /*crash=*/true);
      try {
        nn::save(b, path);
      } catch (...) {
      }
      ::_exit(3); // not reached if the crash happened
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(read_bytes(path) == old_bytes); // the checkpoint is the old, complete one
    Net c;
    nn::load(c, path);
    CHECK(params_of(c) == params_of(a));
    // The crash left its partial temporary file beside it (nothing could
    // clean it up); it is never mistaken for the checkpoint.
    const auto files = dir.files();
    REQUIRE(files.size() == 2);
    std::string tmp_prefix = "model.safetensors.tmp.";
    tmp_prefix += std::to_string(pid) + ".";
    CHECK(files[1].rfind(tmp_prefix, 0) == 0);
    CHECK(fs::file_size(dir.path / files[1]) == 200);
    // The next save of the same path removes it: its process is gone.
    nn::save(b, path);
    CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});
  }
  SECTION("stale temporaries of dead processes go at the next save; a live one's stay") {
    // A pid that no longer exists: a child that exited and was reaped.
    const pid_t dead = ::fork();
    REQUIRE(dead >= 0);
    if (dead == 0)
      ::_exit(0);
    REQUIRE(::waitpid(dead, nullptr, 0) == dead);
    // A live process that is not this one: a child waiting on a pipe.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t live = ::fork();
    REQUIRE(live >= 0);
    if (live == 0) {
      ::close(fds[1]);
      char c;
      (void)!::read(fds[0], &c, 1);
      ::_exit(0);
    }
    ::close(fds[0]);
    const std::string d = std::to_string(dead), l = std::to_string(live),
                      self = std::to_string(::getpid());
    const std::vector<std::string> kept = {
        "model.safetensors.tmp." + l + ".0", // live process
        // this process's (a concurrent save); run as its own process (as
        // ctest does) the next save's counter is 9, so it must skip these
        "model.safetensors.tmp." + self + ".9", "model.safetensors.tmp." + self + ".10",
        "model.safetensors.tmp." + self + ".11", "model.safetensors.tmp." + self + ".12",
        "model.safetensors.tmp.x" + d + ".0", // not a temporary name
        "model.safetensors.tmp." + d,         // not a temporary name
        "other.safetensors.tmp." + d + ".0",  // another file's
    };
    for (const std::string &f : kept)
      std::ofstream(dir / f) << "x";
    std::ofstream(dir / ("model.safetensors.tmp." + d + ".3")) << "partial";
    std::ofstream(dir / ("model.safetensors.tmp." + d + ".12")) << "partial";
    nn::save(b, path);
    std::vector<std::string> want = kept;
    want.push_back("model.safetensors");
    std::sort(want.begin(), want.end());
    CHECK(dir.files() == want);
    ::close(fds[1]); // the live child ends
    REQUIRE(::waitpid(live, nullptr, 0) == live);
  }
  SECTION("a failed rename removes the temporary file") {
    const std::string target = dir / "occupied";
    fs::create_directories(fs::path(target) / "child"); // rename over a non-empty dir fails
    CHECK_THROWS_WITH(nn::save(b, target), Catch::Contains("cannot rename"));
    CHECK(dir.files() == std::vector<std::string>{"model.safetensors", "occupied"});
  }
  SECTION("unwritable or missing locations are errors naming the file") {
    CHECK_THROWS_WITH(nn::save(b, dir / "no/such/dir/m.safetensors"),
                      Catch::Contains("no/such/dir/m.safetensors") &&
                          Catch::Contains("cannot create the temporary file"));
    // /proc refuses new files even for root.
    CHECK_THROWS_WITH(nn::save(b, "/proc/pg_checkpoint_test.safetensors"),
                      Catch::Contains("/proc/pg_checkpoint_test.safetensors"));
    CHECK(!fs::exists("/proc/pg_checkpoint_test.safetensors"));
    if (::geteuid() != 0) { // permissions bind only non-root users
      fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
      CHECK_THROWS(nn::save(b, path));
      fs::permissions(dir.path, fs::perms::owner_all);
    }
    CHECK(read_bytes(path) == old_bytes);
  }
}

TEST_CASE("checkpoint: save_safetensors rejects bad tensor names", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir / "t.safetensors";
  CHECK_THROWS_WITH(io::save_safetensors({{{"a", pg::ones({1})}, {"a", pg::ones({1})}}, {}}, path),
                    Catch::Contains("duplicate tensor name 'a'"));
  CHECK_THROWS_WITH(io::save_safetensors({{{"__metadata__", pg::ones({1})}}, {}}, path),
                    Catch::Contains("invalid tensor name"));
  CHECK_THROWS_WITH(io::save_safetensors({{{"u", pg::Tensor()}}, {}}, path),
                    Catch::Contains("'u' is undefined"));
  // JSON text is UTF-8: other readers (the safetensors package, polygrad's
  // own) refuse anything else, so such a file is never written.
  CHECK_THROWS_WITH(io::save_safetensors({{{"bad\xff", pg::ones({1})}}, {}}, path),
                    Catch::Contains("not valid UTF-8") && Catch::Contains(path));
  CHECK_THROWS_WITH(io::save_safetensors({{{"ok", pg::ones({1})}}, {{"k", "v\xfe"}}}, path),
                    Catch::Contains("not valid UTF-8") && Catch::Contains(path));
  CHECK(dir.files().empty());
  // Names and metadata with JSON-special characters survive the round trip,
  // as do non-contiguous and empty tensors.
  pg::Tensor t = pg::arange(6).reshape({2, 3}).t();
  io::save_safetensors({{{"we\"ird\\name\n", t}, {"empty", pg::zeros({0, 3})}}, {{"k\"", "v\t"}}},
                       path);
  auto sd = io::load_safetensors(path);
  REQUIRE(sd.tensors.size() == 2);
  CHECK(sd.metadata.at("k\"") == "v\t");
  for (auto &[n, x] : sd.tensors) {
    if (n == "empty")
      CHECK(x.shape() == pg::Shape{0, 3});
    else {
      CHECK(n == "we\"ird\\name\n");
      CHECK(x.shape() == pg::Shape{3, 2});
      CHECK(x.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
    }
  }
}
