// autograd/hooks.h and Tensor::register_post_accumulate_grad_hook: when they
// run, what they see, and their errors (DistributedDataParallel stands on them).
#include <catch2/catch.hpp>

#include <polygrad/autograd/hooks.h>
#include <polygrad/core/random.h>
#include <polygrad/core/tensor.h>

namespace pg = polygrad;

TEST_CASE("post-accumulate-grad hooks see the accumulated gradient, once per pass",
          "[autograd][hooks]") {
  pg::Tensor w = pg::from_vector({1, 2, 3}, {3}).requires_grad_();
  std::vector<std::vector<float>> seen;
  const uint64_t h = w.register_post_accumulate_grad_hook(
      [&](const pg::Tensor &g) { seen.push_back(g.to_vector()); });
  // w is used twice in one graph: the engine sums both paths first, so the
  // leaf accumulates (and the hook runs) once.
  pg::sum(w * 2.f + w * w).backward(); // d/dw = 2 + 2w
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<float>{4, 6, 8});
  // A second pass accumulates into .grad(): the hook sees the sum.
  pg::sum(w).backward();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<float>{5, 7, 9});
  w.remove_post_accumulate_grad_hook(h);
  w.remove_post_accumulate_grad_hook(h); // unknown now: a no-op
  pg::sum(w).backward();
  CHECK(seen.size() == 2);
}

TEST_CASE("post-accumulate-grad hooks run in registration order, only on leaves",
          "[autograd][hooks]") {
  pg::Tensor w = pg::ones({2}).requires_grad_();
  std::string order;
  w.register_post_accumulate_grad_hook([&](const pg::Tensor &) { order += "a"; });
  w.register_post_accumulate_grad_hook([&](const pg::Tensor &) { order += "b"; });
  pg::sum(w).backward();
  CHECK(order == "ab");
  const pg::Tensor y = w * 2.f;
  CHECK_THROWS_WITH(y.register_post_accumulate_grad_hook([](const pg::Tensor &) {}),
                    Catch::Contains("only a leaf tensor that requires grad"));
  CHECK_THROWS_WITH(pg::ones({2}).register_post_accumulate_grad_hook([](const pg::Tensor &) {}),
                    Catch::Contains("only a leaf tensor that requires grad"));
}

TEST_CASE("queue_backward_callback runs after every node and hook of the pass",
          "[autograd][hooks]") {
  pg::Tensor a = pg::ones({2}).requires_grad_(), b = pg::ones({2}).requires_grad_();
  std::string log;
  bool queued = false;
  auto hook = [&](const char *name) {
    return [&, name](const pg::Tensor &) {
      log += name;
      CHECK(pg::in_backward());
      if (!queued) {
        queued = true;
        pg::queue_backward_callback([&] {
          log += "|end";
          // a callback may queue another; it runs in the same pass
          pg::queue_backward_callback([&] { log += "|end2"; });
        });
      }
    };
  };
  a.register_post_accumulate_grad_hook(hook("a"));
  b.register_post_accumulate_grad_hook(hook("b"));
  pg::sum(a * b).backward();
  CHECK((log == "ab|end|end2" || log == "ba|end|end2"));
  CHECK(!pg::in_backward());
  CHECK_THROWS_WITH(pg::queue_backward_callback([] {}), Catch::Contains("no backward pass"));
}

TEST_CASE("a callback queued in a pass that throws never runs", "[autograd][hooks]") {
  pg::Tensor a = pg::ones({2}).requires_grad_();
  bool ran = false;
  a.register_post_accumulate_grad_hook([&](const pg::Tensor &) {
    pg::queue_backward_callback([&] { ran = true; });
    throw pg::Error("hook failed");
  });
  CHECK_THROWS_WITH(pg::sum(a).backward(), Catch::Contains("hook failed"));
  CHECK(!ran);
  CHECK(!pg::in_backward());
}
